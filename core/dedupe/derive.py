"""Derived duplicates: a copy of a record with realistic errors (typos, swapped names, umlaut
spellings, moved address, missing fields, nicknames, …).

Pure functions on plain row dicts, driven by the caller's `random.Random`: the labelled
benchmark (bench/dedupe.py) measures the scan with them, the demo generator
(core/demo_duplicates.py) plants a few so the Dubletten page has pairs to review.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from core.dedupe.nicknames import SHORT_FORMS
from core.demo_vocabulary import CITIES

CONTACT_COLUMNS = (
    "id",
    "external_id",
    "account_id",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "job_title",
    "email",
    "phone",
    "mobile",
    "birth_date",
    "postcode",
    "city",
    "country",
    "owner_id",
)
ACCOUNT_COLUMNS = (
    "id",
    "external_id",
    "name",
    "legal_form",
    "industry",
    "website",
    "phone",
    "email",
    "street",
    "postcode",
    "city",
    "country",
    "owner_id",
)
UMLAUTS = (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("ß", "ss"), ("Ü", "Ue"), ("Ö", "Oe"), ("Ä", "Ae"))
LETTERS = "abcdefghijklmnoprstuwz"
Row = dict[str, Any]
Corruption = Callable[[random.Random, Row], bool]


# ---------------------------------------------------------------------------------------- realistic errors


def typo(rng: random.Random, text: str) -> str:
    """One keyboard error inside the word (not the first letter): drop, double, swap or replace."""
    if len(text) < 4:
        return text + rng.choice(LETTERS)
    i = rng.randint(1, len(text) - 2)
    kind = rng.choice(("drop", "double", "swap", "replace"))
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    if kind == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice(LETTERS) + text[i + 1 :]


def umlaut_spelling(text: str) -> str:
    for umlaut, written in UMLAUTS:
        if umlaut in text:
            return text.replace(umlaut, written)
    for umlaut, written in UMLAUTS:
        if written in text:
            return text.replace(written, umlaut, 1)
    return text.upper()


def national_format(phone: str | None) -> str | None:
    """ "+49 30 1234560" → "030 1234560"."""
    return "0" + phone.removeprefix("+49 ") if phone and phone.startswith("+49 ") else phone


def _typo_field(field: str) -> Corruption:
    def corrupt(rng: random.Random, row: Row) -> bool:
        row[field] = typo(rng, row[field])
        return True

    return corrupt


def _swap_names(rng: random.Random, row: Row) -> bool:
    row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
    return True


def _umlauts(rng: random.Random, row: Row) -> bool:
    field = rng.choice(("first_name", "last_name"))
    row[field] = umlaut_spelling(row[field])
    return True


def _moved(rng: random.Random, row: Row) -> bool:
    city = rng.choice([c for c in CITIES if c.name != row.get("city")])
    row["postcode"], row["city"] = f"{rng.randint(city.postcode_from, city.postcode_to):05d}", city.name
    row["phone"] = f"+49 {city.dialling_code} {rng.randint(100_000, 9_999_999)}" if rng.random() < 0.5 else None
    if "account_id" in row:  # a contact who moved no longer works for the company
        row["account_id"] = None
    if row.get("street"):
        row["street"] = f"{typo(rng, 'Lindenallee')} {rng.randint(1, 99)}"
    return True


def _missing(rng: random.Random, row: Row) -> bool:
    present = [f for f in ("email", "phone", "mobile", "birth_date", "postcode", "city", "website") if row.get(f)]
    if not present:
        return False
    for field in rng.sample(present, rng.randint(1, min(2, len(present)))):
        row[field] = None
    return True


def _nickname(rng: random.Random, row: Row) -> bool:
    first = row["first_name"]
    forms = SHORT_FORMS.get(first.lower())
    if forms:
        row["first_name"] = rng.choice(forms).capitalize()
        return True
    full = next((name for name, short in SHORT_FORMS.items() if first.lower() in short), None)
    if full:
        row["first_name"] = full.capitalize()
        return True
    return False


def _birth_date(rng: random.Random, row: Row) -> bool:
    date: dt.date | None = row.get("birth_date")
    if date is None or date.day > 12 or date.day == date.month:
        return False
    row["birth_date"] = date.replace(day=date.month, month=date.day)
    return True


def _email_spelling(rng: random.Random, row: Row) -> bool:
    email = row.get("email")
    if not email:
        return False
    local, domain = email.split("@")
    row["email"] = rng.choice((email.upper(), f"{local}+crm@{domain}", email.title()))
    return True


def _phone_format(rng: random.Random, row: Row) -> bool:
    if not row.get("phone") or not row["phone"].startswith("+49 "):
        return False
    row["phone"] = national_format(row["phone"])
    return True


def _legal_form(rng: random.Random, row: Row) -> bool:
    form = row.get("legal_form")
    if not form or not row["name"].endswith(form):
        return False
    base = row["name"].removesuffix(form).strip()
    row["name"] = rng.choice((base, f"{base} {form.replace(' ', '')}", f"{base} {form.upper()}"))
    row["legal_form"] = None
    return True


def _street_spelling(rng: random.Random, row: Row) -> bool:
    street = row.get("street")
    if not street:
        return False
    for long, short in (("straße", "str."), ("Straße", "Str."), ("platz", "pl.")):
        if long in street:
            row["street"] = street.replace(long, short)
            return True
    row["street"] = street.replace(" ", "  ", 1).lower()
    return True


def _word_order(rng: random.Random, row: Row) -> bool:
    words = row["name"].split(" ")
    if " & " not in row["name"] or len(words) < 3:
        return False
    left, right = row["name"].split(" & ", 1)
    right_words = right.split(" ")
    row["name"] = f"{right_words[0]} & {left} {' '.join(right_words[1:])}".strip()
    return True


CONTACT_ERRORS: dict[str, tuple[Corruption, int]] = {
    "Tippfehler Nachname": (_typo_field("last_name"), 20),
    "Tippfehler Vorname": (_typo_field("first_name"), 15),
    "Vor-/Nachname vertauscht": (_swap_names, 6),
    "Umlaut-Schreibweise": (_umlauts, 10),
    "Umzug": (_moved, 12),
    "fehlende Felder": (_missing, 15),
    "Spitzname": (_nickname, 8),
    "Geburtsdatum Tag/Monat": (_birth_date, 4),
    "E-Mail-Schreibweise": (_email_spelling, 6),
    "Telefon-Format": (_phone_format, 6),
}
ACCOUNT_ERRORS: dict[str, tuple[Corruption, int]] = {
    "Tippfehler Name": (_typo_field("name"), 25),
    "Rechtsform weggelassen/anders": (_legal_form, 15),
    "Umlaut-Schreibweise": (lambda rng, row: bool(row.update(name=umlaut_spelling(row["name"]))) or True, 10),
    "Straße abgekürzt": (_street_spelling, 12),
    "Umzug": (_moved, 10),
    "fehlende Felder": (_missing, 15),
    "Namensteile vertauscht": (_word_order, 5),
    "Telefon-Format": (_phone_format, 8),
}


def derive_duplicate(rng: random.Random, row: Row, errors: dict[str, tuple[Corruption, int]]) -> tuple[Row, list[str]]:
    """A copy of `row` with 1–3 errors applied (names of the errors that changed something)."""
    copy = dict(row)
    names, weights = list(errors), [w for _, w in errors.values()]
    wanted = rng.choices((1, 2, 3), (55, 35, 10))[0]
    applied: list[str] = []
    for _ in range(10):
        if len(applied) == wanted:
            break
        name = rng.choices(names, weights)[0]
        if name not in applied and errors[name][0](rng, copy):
            applied.append(name)
    return copy, applied
