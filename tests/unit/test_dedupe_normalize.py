"""Canonical forms: names, companies, streets, house numbers, phone numbers, e-mail addresses."""

from __future__ import annotations

import pytest

from core.digests import email_digest, phone_digest
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.dedupe.normalize import (
    canonical_email,
    company_name,
    email_domain,
    fold,
    name_key,
    phone_e164,
    street_and_number,
    website_domain,
)


def test_fold_lowercases_collapses_spaces_and_writes_out_umlauts() -> None:
    assert fold("  Jürgen   WEIß ") == "juergen weiss"
    assert fold("Łukasz Nowák") == "lukasz nowak"
    assert fold(None) == ""


@pytest.mark.parametrize("spelling", ["Müller", "Mueller", "Muller", "MÜLLER", " müller "])
def test_name_key_unifies_umlaut_spellings(spelling: str) -> None:
    assert name_key(spelling) == "muller"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Müller GmbH & Co. KG", "mueller"),
        ("Müller GmbH & Co KG", "mueller"),
        ("Alpha Software UG (haftungsbeschränkt)", "alpha software"),
        ("Meyer e.K.", "meyer"),
        ("Siemens AG", "siemens"),
        ("Müller & Schmidt GmbH", "mueller und schmidt"),
        ("Bau Müller", "bau mueller"),
    ],
)
def test_company_name_strips_legal_form(name: str, expected: str) -> None:
    assert company_name(name) == expected


@pytest.mark.parametrize(
    ("street", "expected"),
    [
        ("Hauptstraße 12a", ("hauptstrasse", "12a")),
        ("Hauptstr. 12 a", ("hauptstrasse", "12a")),
        ("hauptstrasse 12 - 14", ("hauptstrasse", "12-14")),
        ("Am Markt 3/5", ("am markt", "3/5")),
        ("Marktpl. 1", ("marktplatz", "1")),
        ("Lindenweg", ("lindenweg", "")),
    ],
)
def test_street_and_house_number(street: str, expected: tuple[str, str]) -> None:
    assert street_and_number(street) == expected


@pytest.mark.parametrize("raw", ["030 1234567", "+49 30 1234567", "+49 (0)30 123 45 67", "0049 30 1234567"])
def test_phone_numbers_become_e164(raw: str) -> None:
    assert phone_e164(raw) == "+49301234567"


def test_phone_without_a_possible_number_is_none() -> None:
    assert phone_e164("abc") is None
    assert phone_e164("12") is None
    assert phone_e164("") is None


def test_canonical_email() -> None:
    assert canonical_email(" J.Weiss+crm@Example.DE ") == "j.weiss@example.de"
    assert canonical_email("max.muster@googlemail.com") == "maxmuster@gmail.com"
    assert canonical_email("kein-at-zeichen") is None


def test_company_domains_ignore_free_mail() -> None:
    assert email_domain("info@mueller-bau.de") == "mueller-bau.de"
    assert email_domain("max@gmx.de") is None
    assert website_domain("https://www.mueller-bau.de/kontakt") == "mueller-bau.de"


def test_match_keys() -> None:
    contact = match_keys_for_contact(
        {"last_name": "Müller", "phone": None, "mobile": "0171 1234567", "email": "A.Mueller@Example.de"}
    )
    assert contact == {
        "match_name": "657",
        "match_phone": "+491711234567",
        "match_email": "a.mueller@example.de",
        "email_digest": email_digest("a.mueller+news@EXAMPLE.de"),
        "phone_digest": None,
        "mobile_digest": phone_digest("+49 171 1234567"),
    }
    assert contact["email_digest"] is not None and len(contact["email_digest"]) == 64
    assert email_digest("kein-at-zeichen") is None and phone_digest("abc") is None
    account = match_keys_for_account({"name": "Die Müller Bau GmbH & Co. KG", "phone": "0221 123456"})
    assert account == {"match_name": "657", "match_phone": "+49221123456"}


def test_fast_german_phone_path_agrees_with_phonenumbers() -> None:
    """The shortcut for plainly written German numbers must give exactly what phonenumbers gives."""
    import random

    import phonenumbers

    from core.dedupe.normalize import phone_e164
    from core.demo import phone_number
    from core.demo_vocabulary import CITIES

    def reference(raw: str) -> str | None:
        number = phonenumbers.parse(raw, "DE")
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    rng = random.Random(7)
    samples = [phone_number(rng, rng.choice(CITIES).dialling_code, extension=rng.random() < 0.5) for _ in range(2000)]
    samples += ["0221 741281", "0221/741281", "0221-74 12 81", "+49 30 1234567", "0151 23456789", "+49 (0)221 741281"]
    for raw in samples:
        national = raw.replace("+49", "0").replace(" ", "") if raw.startswith("+49 ") else raw
        assert phone_e164(raw) == reference(raw), raw
        assert phone_e164(national) == reference(national), national
