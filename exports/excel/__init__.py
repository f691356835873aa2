"""Excel (xlsx) builders."""
