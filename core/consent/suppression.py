"""The suppression list: keyed hashes of addresses that must never be contacted (core/digests.py).

Only the hash is stored, so an erased person's address stays blocked without being kept. The gate
checks it for every channel with an address (e-mail; phone and mobile for SMS and calls).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.consent.vocabulary import SUPPRESSION_REASONS
from core.digests import email_digest, phone_digest
from core.errors import NotFound, ValidationFailed
from core.uow import UnitOfWork
from db.models import Contact, Suppression


@dataclass(frozen=True)
class Suppressed:
    added: int
    already: int


def _digests(email: str | None, phones: tuple[str | None, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if (digest := email_digest(email)) is not None:
        found.append(("email", digest))
    for phone in phones:
        if (digest := phone_digest(phone)) is not None:
            found.append(("phone", digest))
    return found


def suppress_digests(session: Session, digests: list[tuple[str, str]], *, reason: str, note: str | None,
                     now: dt.datetime, actor_name: str) -> Suppressed:
    """Add (kind, digest) pairs inside the caller's transaction; existing entries stay as they are."""
    if reason not in SUPPRESSION_REASONS:
        raise ValidationFailed({"reason": f"unbekannter Grund; erlaubt: {', '.join(SUPPRESSION_REASONS)}"})
    known = set(session.scalars(select(Suppression.digest).where(Suppression.digest.in_([d for _, d in digests]))))
    added = 0
    for kind, digest in dict.fromkeys(digests):
        if digest in known:
            continue
        session.add(Suppression(digest=digest, kind=kind, reason=reason, note=note, created_at=now, created_by=actor_name))
        known.add(digest)
        added += 1
    session.flush()
    return Suppressed(added, len(digests) - added)


def suppress_address(uow: UnitOfWork, *, address: str, reason: str = "manual", note: str | None = None) -> Suppressed:
    """Block an e-mail address or phone number (whichever `address` is)."""
    digests = _digests(address, ()) if "@" in address else _digests(None, (address,))
    if not digests:
        raise ValidationFailed({"address": "keine gültige E-Mail-Adresse oder Telefonnummer"})
    with uow:
        uow.authorize("consent.configure")
        result = suppress_digests(uow.session, digests, reason=reason, note=note, now=uow.now, actor_name=uow.actor.name)
        uow.audit(entity="suppression", entity_id=digests[0][1][:16], action="create", reason=reason)
        uow.commit()
    return result


def suppress_contact(uow: UnitOfWork, contact_id: int, *, reason: str, note: str | None = None) -> Suppressed:
    """Block every address of a contact (e-mail, phone, mobile)."""
    with uow:
        uow.authorize("consent.configure")
        contact = uow.session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"Kontakt {contact_id} gibt es nicht.")
        digests = _digests(contact.email, (contact.phone, contact.mobile))
        result = suppress_digests(uow.session, digests, reason=reason, note=note, now=uow.now, actor_name=uow.actor.name)
        uow.audit(entity="contact", entity_id=contact.id, action="suppress", reason=reason)
        uow.commit()
    return result


def is_suppressed(session: Session, address: str) -> bool:
    digest = email_digest(address) if "@" in address else phone_digest(address)
    return digest is not None and session.scalar(select(Suppression.id).where(Suppression.digest == digest)) is not None


def list_suppressions(uow: UnitOfWork, *, limit: int = 500) -> pd.DataFrame:
    """Newest first: kind, reason, note, when, by whom (the addresses themselves are not stored)."""
    with uow:
        uow.authorize("consent.read")
        rows = uow.session.execute(
            select(Suppression.id, Suppression.kind, Suppression.reason, Suppression.note, Suppression.created_at,
                   Suppression.created_by, Suppression.digest)
            .order_by(Suppression.id.desc())
            .limit(limit)
        ).mappings().all()
        return pd.DataFrame(rows, columns=["id", "kind", "reason", "note", "created_at", "created_by", "digest"])


def suppressed_addresses(uow: UnitOfWork, contact_id: int) -> list[str]:
    """Which of the contact's addresses ("email", "phone", "mobile") are on the list — by the digests the
    gate compares, so page and gate cannot disagree."""
    with uow:
        uow.authorize("consent.read")
        contact = uow.session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"Kontakt {contact_id} gibt es nicht.")
        digests = {"email": contact.email_digest, "phone": contact.phone_digest, "mobile": contact.mobile_digest}
        wanted = [d for d in digests.values() if d]
        found = set(uow.session.scalars(select(Suppression.digest).where(Suppression.digest.in_(wanted))))
        return [kind for kind, digest in digests.items() if digest in found]


def lift_suppression(uow: UnitOfWork, suppression_id: int, *, reason: str) -> None:
    """Remove an entry entered by mistake (audited with the reason); an erasure's entries stay."""
    if not reason.strip():
        raise ValidationFailed({"reason": "Begründung angeben"})
    with uow:
        uow.authorize("consent.configure")
        entry = uow.session.get(Suppression, suppression_id)
        if entry is None:
            raise NotFound(f"Sperrlisteneintrag {suppression_id} gibt es nicht.")
        if entry.reason == "erased":
            raise ValidationFailed({"reason": "Einträge aus einer Löschung (Art. 17) bleiben dauerhaft gesperrt."})
        uow.session.execute(delete(Suppression).where(Suppression.id == suppression_id))
        uow.audit(entity="suppression", entity_id=entry.digest[:16], action="delete", reason=reason)
        uow.commit()
