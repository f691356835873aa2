"""PDF builders."""
