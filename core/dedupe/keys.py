"""Match keys stored in the indexed `match_*` columns on every save (blocking and hints use them).

Contact: Kölner Phonetik of the last name (with `postcode` via the composite index), the E.164
phone (landline, else mobile) and the canonical e-mail. Account: Kölner Phonetik of the first
significant word of the name without its legal form, and the E.164 phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.digests import contact_digests
from core.dedupe.normalize import canonical_email, company_tokens, phone_e164
from core.dedupe.phonetics import koelner_phonetik

NAME_KEY_LENGTH = {"contact": 40, "account": 100}
_ARTICLES = frozenset({"der", "die", "das", "the", "und"})


def _truncate(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def account_name_code(name: str | None) -> str | None:
    """Phonetic code of the first significant word: "Die Müller Bau GmbH" → code of "mueller"."""
    tokens = [t for t in company_tokens(name) if t not in _ARTICLES]
    return koelner_phonetik(tokens[0]) or None if tokens else None


def match_keys_for_contact(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The match keys and, for the consent gate, the keyed hashes of e-mail and phones (core/digests.py)."""
    country = values.get("country") or "DE"
    phone = phone_e164(values.get("phone"), country) or phone_e164(values.get("mobile"), country)
    return {
        "match_name": _truncate(koelner_phonetik(values.get("last_name") or ""), NAME_KEY_LENGTH["contact"]),
        "match_phone": phone,
        "match_email": canonical_email(values.get("email")),
        **contact_digests(values),
    }


def match_keys_for_account(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        "match_name": _truncate(account_name_code(values.get("name")), NAME_KEY_LENGTH["account"]),
        "match_phone": phone_e164(values.get("phone"), values.get("country") or "DE"),
    }


def set_match_keys(record: object, keys: Mapping[str, str | None]) -> None:
    """Put freshly computed keys on a loaded record before it is flushed (no audit entry: derived data)."""
    for column, value in keys.items():
        setattr(record, column, value)
