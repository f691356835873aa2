"""The consent ledger: append-only, hash-chained (chain "consent", core/ledger.py), personal proof encrypted.

Every consent event is one `ConsentEntry`; a contact's state per channel × purpose is its latest entry
(core/consent/state.py, core/consent/gate.py), so there is no second place that could disagree.
Address, IP, user agent, evidence and reason are encrypted with the person's key: erasure shreds the
key, the ciphertext stays, and `verify_ledger` still walks the chain intact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import ledger
from core.consent.vocabulary import ACTIONS
from core.permissions import Actor
from core.subject_keys import Subject, encrypt, key_for
from core.uow import UnitOfWork
from db.models import ConsentEntry, LedgerHead

CHAIN = "consent"
VERIFY_BATCH = 5_000
ENCRYPTED = ("address", "ip", "user_agent", "evidence", "reason")


@dataclass(frozen=True)
class EntryDraft:
    """What a service wants recorded; the ledger adds id, time, actor, encryption and hashes."""

    contact_id: int
    channel: str
    purpose_id: int
    action: str
    legal_basis: str
    source: str
    text_id: int | None = None
    text_sha256: str | None = None
    order_id: int | None = None
    doi_request_id: int | None = None
    doi_requested_at: dt.datetime | None = None
    doi_confirmed_at: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    address: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    evidence: str | None = None
    reason: str | None = None


def contact_subject(contact_id: int) -> Subject:
    return Subject("contact", str(contact_id))


def payload(entry: ConsentEntry) -> dict[str, object]:
    """Everything the hash covers: every column but the hashes themselves."""
    return {
        "id": entry.id,
        "occurred_at": entry.occurred_at,
        "contact_id": entry.contact_id,
        "channel": entry.channel,
        "purpose_id": entry.purpose_id,
        "action": entry.action,
        "status": entry.status,
        "legal_basis": entry.legal_basis,
        "source": entry.source,
        "text_id": entry.text_id,
        "text_sha256": entry.text_sha256,
        "order_id": entry.order_id,
        "doi_request_id": entry.doi_request_id,
        "doi_requested_at": entry.doi_requested_at,
        "doi_confirmed_at": entry.doi_confirmed_at,
        "valid_until": entry.valid_until,
        "address": entry.address,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "evidence": entry.evidence,
        "reason": entry.reason,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "subject_key_id": entry.subject_key_id,
    }


def append(session: Session, draft: EntryDraft, *, now: dt.datetime, actor: Actor) -> ConsentEntry:
    """Append one entry to the chain in the caller's transaction (the head row serialises appends)."""
    head = ledger.lock_head(session, CHAIN)
    personal = {name: getattr(draft, name) for name in ENCRYPTED}
    key_id: int | None = None
    if any(value is not None for value in personal.values()):
        key = key_for(session, contact_subject(draft.contact_id), now)
        if key.key is None:
            raise ValueError("Die Person wurde gelöscht; für sie wird nichts Personenbezogenes mehr erfasst.")
        personal = {name: encrypt(key, value) if value is not None else None for name, value in personal.items()}
        key_id = key.id
    entry = ConsentEntry(
        id=head.last_id + 1,
        occurred_at=now,
        contact_id=draft.contact_id,
        channel=draft.channel,
        purpose_id=draft.purpose_id,
        action=draft.action,
        status=ACTIONS[draft.action],
        legal_basis=draft.legal_basis,
        source=draft.source,
        text_id=draft.text_id,
        text_sha256=draft.text_sha256,
        order_id=draft.order_id,
        doi_request_id=draft.doi_request_id,
        doi_requested_at=draft.doi_requested_at,
        doi_confirmed_at=draft.doi_confirmed_at,
        valid_until=draft.valid_until,
        actor_id=actor.user_id,
        actor_name=actor.name,
        subject_key_id=key_id,
        prev_hash=head.last_hash,
        **personal,
    )
    entry.hash = ledger.chain_hash(entry.prev_hash, payload(entry))
    ledger.advance_head(head, entry.id, entry.hash)
    session.add(entry)
    session.flush()
    return entry


def _chain(session: Session) -> Iterator[ledger.ChainEntry]:
    stmt = select(ConsentEntry).order_by(ConsentEntry.id).execution_options(yield_per=VERIFY_BATCH)
    for entry in session.scalars(stmt):
        yield ledger.ChainEntry(entry.id, payload(entry), entry.prev_hash, entry.hash)
        session.expunge(entry)


def check_ledger(uow: UnitOfWork) -> ledger.Verification:
    """`verify_ledger` for a user (the history page's "Kette prüfen"): needs consent.read."""
    with uow:
        uow.authorize("consent.read")
        return verify_ledger(uow.session)


def verify_ledger(session: Session) -> ledger.Verification:
    """Walk the whole consent chain; names the first entry that was changed, removed or inserted."""
    return ledger.verify_entries(_chain(session), session.get(LedgerHead, CHAIN))
