"""Kölner Phonetik against published codes."""

from __future__ import annotations

import pytest

from core.dedupe.phonetics import koelner_phonetik


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Müller-Lüdenscheidt", "65752682"),
        ("Wikipedia", "3412"),
        ("Breschnew", "17863"),
        ("Müller", "657"),
        ("Mueller", "657"),
        ("Muller", "657"),
        ("Meier", "67"),
        ("Mayr", "67"),
        ("Schmidt", "862"),
        ("Schmitt", "862"),
        ("Christoph", "47823"),
        ("Xaver", "4837"),
        ("Philipp", "351"),
        ("Acht", "042"),
        ("", ""),
    ],
)
def test_known_codes(name: str, code: str) -> None:
    assert koelner_phonetik(name) == code


def test_spelling_variants_share_a_code() -> None:
    assert koelner_phonetik("Fischer") == koelner_phonetik("Vischer") == koelner_phonetik("Fisher")
