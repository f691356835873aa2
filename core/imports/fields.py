"""What an import can fill: the fields of contacts and accounts, their German headers, and their checks.

The checks are the rules of `ContactInput`/`AccountInput` (core/contacts.py, core/accounts.py) written as
plain functions, so a million rows are not pushed through pydantic one by one: lengths are read from the
pydantic models and the address model, e-mail, phone, country and postcode use core/validation's own
check functions. tests/integration/test_imports.py feeds the same bad values to both and expects both
to reject them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotated_types import MaxLen, MinLen
from pydantic import BaseModel
from sqlalchemy import String

from core.accounts import LEGAL_FORMS, REVENUE_CLASSES, AccountInput
from core.contacts import SALUTATIONS, ContactInput
from core.errors import ValidationFailed
from core.validation import check_country, check_email, check_phone
from db.models import Address

Cleaner = Callable[[str], Any]

DATE_FORMATS_TEXT = "JJJJ-MM-TT, TT.MM.JJJJ oder JJJJMMTT"
COUNTRY_NAMES = {
    "deutschland": "DE",
    "germany": "DE",
    "brd": "DE",
    "österreich": "AT",
    "oesterreich": "AT",
    "austria": "AT",
    "schweiz": "CH",
    "switzerland": "CH",
    "niederlande": "NL",
    "frankreich": "FR",
    "italien": "IT",
    "polen": "PL",
    "belgien": "BE",
    "luxemburg": "LU",
    "dänemark": "DK",
}
SALUTATION_ALIASES = {"hr": "Herr", "hr.": "Herr", "fr": "Frau", "fr.": "Frau"}


@dataclass(frozen=True)
class ImportField:
    """One importable field: how it is checked and which headers map to it."""

    name: str
    label: str
    clean: Cleaner
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntitySpec:
    name: str
    label: str
    permission: str
    fields: tuple[ImportField, ...]

    def field(self, name: str) -> ImportField:
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


# ------------------------------------------------------------------------------------------------ cleaners


def _limits(model: type[BaseModel], field: str) -> tuple[int, int | None]:
    metadata = model.model_fields[field].metadata
    low = next((m.min_length for m in metadata if isinstance(m, MinLen)), 0)
    high = next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)
    return low, high


def text_of(model: type[BaseModel], field: str) -> Cleaner:
    """Text with the length limits the service model declares for `field`."""
    return text_between(*_limits(model, field))


def address_text(column: str) -> Cleaner:
    column_type = Address.__table__.c[column].type
    return text_between(0, column_type.length if isinstance(column_type, String) else None)


def text_between(low: int, high: int | None) -> Cleaner:
    def clean(value: str) -> str:
        if len(value) < low:
            raise ValueError(f"zu kurz (mindestens {low} Zeichen)")
        if high is not None and len(value) > high:
            raise ValueError(f"zu lang (höchstens {high} Zeichen)")
        return value

    return clean


def with_limit(check: Callable[[str], str | None], high: int | None) -> Cleaner:
    limit = text_between(0, high)

    def clean(value: str) -> str:
        checked = check(limit(value))
        assert checked is not None
        return checked

    return clean


def choice_of(allowed: Sequence[str], aliases: Mapping[str, str] | None = None) -> Cleaner:
    """One of `allowed`, matched without regard to case (and via `aliases` such as "Hr.")."""
    lookup = {a.casefold(): a for a in allowed} | {k.casefold(): v for k, v in (aliases or {}).items()}
    message = f"ungültiger Wert (erlaubt: {', '.join(allowed)})"

    def clean(value: str) -> str:
        try:
            return lookup[value.casefold()]
        except KeyError:
            raise ValueError(message) from None

    return clean


ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?$")
GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: str) -> dt.date:
    """ISO (2024-03-01), German (01.03.2024 or 1.3.2024) or compact (20240301)."""
    if match := ISO_DATE.match(value) or COMPACT_DATE.match(value):
        year, month, day = match.groups()
    elif match := GERMAN_DATE.match(value):
        day, month, year = match.groups()
    else:
        raise ValueError(f"kein gültiges Datum (erlaubt: {DATE_FORMATS_TEXT})")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"kein gültiges Datum: {value} gibt es nicht") from None


def birth_date(value: str) -> dt.date:
    date = parse_date(value)
    if date > dt.date.today():
        raise ValueError("liegt in der Zukunft")
    return date


def country(value: str) -> str:
    return check_country(COUNTRY_NAMES.get(value.casefold(), value))


GROUPED_NUMBER = re.compile(r"^\d{1,3}(\.\d{3})+$")


def non_negative_int(value: str) -> int:
    digits = value.replace(".", "") if GROUPED_NUMBER.match(value) else value
    try:
        number = int(digits)
    except ValueError:
        raise ValueError("keine ganze Zahl") from None
    if number < 0:
        raise ValueError("muss mindestens 0 sein")
    return number


# ------------------------------------------------------------------------------------------------ entities

_ADDRESS_FIELDS = (
    ImportField("street", "Straße", address_text("street"), aliases=("strasse", "str", "anschrift")),
    ImportField("house_number", "Hausnummer", address_text("house_number"), aliases=("hausnr", "nr")),
    ImportField("address_line2", "Adresszusatz", address_text("address_line2"), aliases=("zusatz",)),
    ImportField("postcode", "PLZ", text_of(ContactInput, "postcode"), aliases=("plz", "postleitzahl", "zip")),
    ImportField("city", "Ort", text_of(ContactInput, "city"), aliases=("ort", "stadt")),
    ImportField("state", "Bundesland", address_text("state"), aliases=("bundesland", "region")),
    ImportField("country", "Land", country, aliases=("land", "staat", "laendercode")),
)

CONTACTS = EntitySpec(
    name="contacts",
    label="Kontakte",
    permission="contacts.write",
    fields=(
        ImportField("external_id", "Externe ID", text_of(ContactInput, "external_id"), aliases=("externeid", "externenummer", "kundennummer")),
        ImportField("salutation", "Anrede", choice_of(SALUTATIONS, SALUTATION_ALIASES), aliases=("anrede",)),
        ImportField("title", "Titel", text_of(ContactInput, "title"), aliases=("titel", "akademischertitel")),
        ImportField("first_name", "Vorname", text_of(ContactInput, "first_name"), required=True, aliases=("vorname",)),
        ImportField("last_name", "Nachname", text_of(ContactInput, "last_name"), required=True, aliases=("nachname", "name", "familienname")),
        ImportField("birth_date", "Geburtsdatum", birth_date, aliases=("geburtsdatum", "geburtstag", "birthday")),
        ImportField("job_title", "Position", text_of(ContactInput, "job_title"), aliases=("position", "funktion")),
        ImportField("email", "E-Mail", with_limit(check_email, _limits(ContactInput, "email")[1]), aliases=("email", "mail", "emailadresse")),
        ImportField("phone", "Telefon", with_limit(check_phone, _limits(ContactInput, "phone")[1]), aliases=("telefon", "tel", "telefonnummer")),
        ImportField("mobile", "Mobil", with_limit(check_phone, _limits(ContactInput, "mobile")[1]), aliases=("mobil", "handy", "mobiltelefon")),
        ImportField("company", "Firma", text_of(AccountInput, "name"), aliases=("firma", "unternehmen", "firmenname")),
        *_ADDRESS_FIELDS,
    ),
)

ACCOUNTS = EntitySpec(
    name="accounts",
    label="Firmen",
    permission="accounts.write",
    fields=(
        ImportField("external_id", "Externe ID", text_of(AccountInput, "external_id"), aliases=("externeid", "externenummer", "kundennummer")),
        ImportField("name", "Firmenname", text_of(AccountInput, "name"), required=True, aliases=("firma", "firmenname", "unternehmen")),
        ImportField("legal_form", "Rechtsform", choice_of(LEGAL_FORMS), aliases=("rechtsform",)),
        ImportField("industry", "Branche", text_of(AccountInput, "industry"), aliases=("branche",)),
        ImportField("revenue_class", "Umsatzklasse", choice_of(REVENUE_CLASSES), aliases=("umsatzklasse", "umsatz")),
        ImportField("employees", "Mitarbeitende", non_negative_int, aliases=("mitarbeitende", "mitarbeiter", "mitarbeiterzahl")),
        ImportField("website", "Website", text_of(AccountInput, "website"), aliases=("webseite", "homepage", "internet")),
        ImportField("phone", "Telefon", with_limit(check_phone, _limits(AccountInput, "phone")[1]), aliases=("telefon", "tel")),
        ImportField("email", "E-Mail", with_limit(check_email, _limits(AccountInput, "email")[1]), aliases=("email", "mail")),
        ImportField("notes", "Notizen", str, aliases=("notizen", "bemerkung", "bemerkungen")),
        *_ADDRESS_FIELDS,
    ),
)

ENTITIES: dict[str, EntitySpec] = {"contacts": CONTACTS, "accounts": ACCOUNTS}
ENTITY_ALIASES = {"kontakte": "contacts", "contact": "contacts", "firmen": "accounts", "account": "accounts"}


def entity_spec(name: str) -> EntitySpec:
    key = ENTITY_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in ENTITIES:
        raise ValidationFailed({"entity": f"unbekannter Datentyp „{name}“ (erlaubt: contacts, accounts)"})
    return ENTITIES[key]


# ------------------------------------------------------------------------------------------------ mapping


def header_key(header: str) -> str:
    """Comparable form of a column header: "E-Mail" → "email", "Straße" → "strasse", "PLZ" → "plz"."""
    text = header.strip().casefold().replace("ß", "ss")
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text)


def auto_mapping(spec: EntitySpec, columns: Sequence[str]) -> dict[str, str | None]:
    """Source column → field: canonical names and common German headers; the rest is ignored (None)."""
    lookup: dict[str, str] = {}
    for item in spec.fields:
        for key in (header_key(item.name), header_key(item.label), *(header_key(a) for a in item.aliases)):
            lookup.setdefault(key, item.name)
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for column in columns:
        target = lookup.get(header_key(column))
        if target is not None and target not in taken:
            taken.add(target)
            mapping[column] = target
        else:
            mapping[column] = None
    return mapping


def parse_mapping_option(text: str) -> dict[str, str]:
    """`Spalte=feld,Andere Spalte=feld` (the CLI's --mapping) → {column: field}."""
    result: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        column, sep, target = part.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValidationFailed({"mapping": f"„{part.strip()}“ hat nicht die Form Spalte=Feld"})
        result[column.strip()] = target.strip()
    return result


def check_mapping(spec: EntitySpec, columns: Sequence[str], mapping: Mapping[str, str | None]) -> dict[str, str]:
    """The mapping's used part ({column: field}), or ValidationFailed naming every problem."""
    problems: list[str] = []
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if column not in columns:
            problems.append(f"Spalte „{column}“ gibt es in der Datei nicht")
        elif target:
            if target not in spec.names:
                problems.append(f"unbekanntes Feld „{target}“ (erlaubt: {', '.join(spec.names)})")
            elif target in used.values():
                problems.append(f"Feld „{spec.field(target).label}“ ist mehreren Spalten zugeordnet")
            else:
                used[column] = target
    missing = [f.label for f in spec.fields if f.required and f.name not in used.values()]
    if missing:
        problems.append(f"Pflichtfeld ohne Spalte: {', '.join(missing)}")
    if problems:
        raise ValidationFailed({"mapping": "; ".join(problems)})
    return used
