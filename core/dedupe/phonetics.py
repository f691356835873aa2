"""Kölner Phonetik (Postel 1969): a phonetic code for German names, e.g. "Müller" → "657".

Own implementation of the published rules: letters are coded by their context, runs of the same
code collapse to one, and the vowel code "0" is kept only at the start.
"""

from __future__ import annotations

from functools import lru_cache

_SIMPLE = {
    **dict.fromkeys("AEIJOUYÄÖÜ", "0"),
    "B": "1",
    **dict.fromkeys("FVW", "3"),
    **dict.fromkeys("GKQ", "4"),
    "L": "5",
    **dict.fromkeys("MN", "6"),
    "R": "7",
    **dict.fromkeys("SZß", "8"),
}
_C_HARD_AT_START = frozenset("AHKLOQRUX")
_C_HARD = frozenset("AHKOQUX")


def _letter_code(letters: str, index: int) -> str:
    letter = letters[index]
    before = letters[index - 1] if index > 0 else ""
    after = letters[index + 1] if index + 1 < len(letters) else ""
    if letter in _SIMPLE:
        return _SIMPLE[letter]
    if letter == "H":
        return ""
    if letter == "P":
        return "3" if after == "H" else "1"
    if letter in "DT":
        return "8" if after in ("C", "S", "Z", "ß") else "2"
    if letter == "X":
        return "8" if before in ("C", "K", "Q") else "48"
    if letter == "C":
        if index == 0:
            return "4" if after in _C_HARD_AT_START else "8"
        return "4" if after in _C_HARD and before not in ("S", "Z", "ß") else "8"
    return ""


@lru_cache(maxsize=200_000)
def koelner_phonetik(text: str) -> str:
    """The code of all letters of `text` (other characters are skipped); "" when there are none."""
    letters = "".join(ch for ch in text.upper() if ch.isalpha())
    raw = "".join(_letter_code(letters, i) for i in range(len(letters)))
    collapsed: list[str] = []
    for digit in raw:
        if not collapsed or collapsed[-1] != digit:
            collapsed.append(digit)
    return "".join(d for i, d in enumerate(collapsed) if d != "0" or i == 0)
