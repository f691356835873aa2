"""Duplicate check for contacts and accounts.

normalize (canonical forms) → phonetics (Kölner Phonetik) → keys (indexed match_* columns) →
scoring (explainable per-field scores) → blocking (which pairs to compare) → scan (batch, all
records) and hints (while typing) → review (stored candidates, threshold setting).
"""
