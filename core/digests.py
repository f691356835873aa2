"""Keyed hashes of e-mail addresses and phone numbers (HMAC-SHA256 with the installation's secret key).

The suppression list keeps only these, so an address stays blocked after its contact was erased
without the address itself being stored; contacts carry the digests of their own e-mail, phone and
mobile (set with the match keys on every save), so the consent gate compares both inside the
database. The secret key must therefore never change (docs/consent.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.dedupe.normalize import canonical_email, phone_e164
from core.settings import get_settings
from db.models import Contact

REFRESH_BATCH = 5_000
# A Core UPDATE: the ORM's bulk update would demand the row version of every contact (VersionedMixin).
_CONTACTS = Contact.__table__
_FILL = (
    update(_CONTACTS)
    .where(_CONTACTS.c.id == bindparam("b_id"))
    .values(
        email_digest=bindparam("b_email_digest"),
        phone_digest=bindparam("b_phone_digest"),
        mobile_digest=bindparam("b_mobile_digest"),
    )
)


@cache
def _key() -> bytes:
    return hashlib.sha256(("suppression:" + get_settings().resolved_secret_key()).encode("utf-8")).digest()


def _digest(kind: str, normalised: str) -> str:
    return hmac.new(_key(), f"{kind}:{normalised}".encode("utf-8"), hashlib.sha256).hexdigest()


def email_digest(raw: str | None) -> str | None:
    """Digest of the canonical address (lower case, no +tag), or None when `raw` is no address."""
    canonical = canonical_email(raw)
    return _digest("email", canonical) if canonical else None


def phone_digest(raw: str | None, country: str = "DE") -> str | None:
    """Digest of the E.164 form, or None when `raw` is no phone number."""
    e164 = phone_e164(raw, country)
    return _digest("phone", e164) if e164 else None


def contact_digests(values: Mapping[str, Any]) -> dict[str, str | None]:
    country = values.get("country") or "DE"
    return {
        "email_digest": email_digest(values.get("email")),
        "phone_digest": phone_digest(values.get("phone"), country),
        "mobile_digest": phone_digest(values.get("mobile"), country),
    }


def refresh_contact_digests(session: Session) -> int:
    """Fill the digests of contacts that have an address but no digest yet (after migration 0007)."""
    missing = (
        (Contact.email.is_not(None) & Contact.email_digest.is_(None))
        | (Contact.phone.is_not(None) & Contact.phone_digest.is_(None))
        | (Contact.mobile.is_not(None) & Contact.mobile_digest.is_(None))
    )
    refreshed = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(Contact.id, Contact.email, Contact.phone, Contact.mobile, Contact.country)
            .where(missing, Contact.id > last_id)
            .order_by(Contact.id)
            .limit(REFRESH_BATCH)
        ).all()
        if not rows:
            return refreshed
        session.execute(
            _FILL,
            [{"b_id": row.id, **{f"b_{k}": v for k, v in contact_digests(row._asdict()).items()}} for row in rows],
        )
        refreshed += len(rows)
        last_id = rows[-1].id
