"""Input validation with pydantic, errors turned into German field messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
DE_POSTCODE_RE = re.compile(r"^\d{5}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()/\-]{5,30}$")

_MESSAGES = {
    "missing": "Pflichtfeld",
    "string_too_short": "zu kurz (mindestens {min_length} Zeichen)",
    "string_too_long": "zu lang (höchstens {max_length} Zeichen)",
    "int_parsing": "keine ganze Zahl",
    "int_type": "keine ganze Zahl",
    "greater_than_equal": "muss mindestens {ge} sein",
    "date_parsing": "kein gültiges Datum (TT.MM.JJJJ)",
    "date_from_datetime_parsing": "kein gültiges Datum (TT.MM.JJJJ)",
    "date_type": "kein gültiges Datum",
    "literal_error": "ungültiger Wert (erlaubt: {expected})",
    "enum": "ungültiger Wert (erlaubt: {expected})",
    "extra_forbidden": "unbekanntes Feld",
    "string_type": "muss Text sein",
    "bool_type": "muss ja/nein sein",
    "bool_parsing": "muss ja/nein sein (true/false)",
    "less_than_equal": "darf höchstens {le} sein",
    "greater_than": "muss größer als {gt} sein",
    "json_invalid": "kein gültiges JSON",
    "dict_type": "muss ein JSON-Objekt sein",
}


class InputModel(BaseModel):
    """Base for service inputs: strips text, turns empty strings into None, forbids unknown fields."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @classmethod
    def blank_to_none(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in values.items()}


def _message(error: Any) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"]).removeprefix("Value error, ")
    return template.format(**(error.get("ctx") or {}))


def _field(error: Any) -> str:
    """Where an error belongs: its location, else the field a model-level check named (see field_error)."""
    return ".".join(str(p) for p in error["loc"]) or (error.get("ctx") or {}).get("field") or "eingabe"


def field_messages(errors: Iterable[Any]) -> dict[str, str]:
    """German message per field for pydantic error dicts (also used for the API's request validation)."""
    return {_field(e): _message(e) for e in errors}


def field_error(field: str, message: str) -> PydanticCustomError:
    """An error for a model-level check that still names its field (model validators have no location)."""
    return PydanticCustomError("field_check", message, {"field": field})


def parse(model: type[M], values: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(InputModel.blank_to_none(values))
    except ValidationError as exc:
        raise ValidationFailed(field_messages(exc.errors())) from None


def check_email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not EMAIL_RE.match(value):
        raise ValueError("keine gültige E-Mail-Adresse")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def check_phone(value: str | None) -> str | None:
    if value is not None and not PHONE_RE.match(value):
        raise ValueError("keine gültige Telefonnummer")
    return value


def check_country(value: str) -> str:
    value = value.upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("Ländercode mit zwei Buchstaben (z. B. DE)")
    return value


def check_postcode(postcode: str | None, country: str) -> None:
    if postcode and country == "DE" and not DE_POSTCODE_RE.match(postcode):
        raise field_error("postcode", "deutsche Postleitzahl hat fünf Ziffern")
