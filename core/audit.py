"""Field-level, hash-chained, append-only audit log.

Services call `record(...)` (through the unit of work) in the same transaction as the change.
Values of columns marked personal are encrypted with the data subject's key (crypto-shredding).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, false, inspect, or_, select
from sqlalchemy.orm import Session

from core import ledger
from core.permissions import Actor
from core.subject_keys import Subject, decrypt, encrypt, key_for
from db.models import AuditEntry, LedgerHead, PersonKey

CHAIN = "audit"
VERIFY_BATCH = 5_000


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    personal: bool = False
    # A free-text field (notes, next step …) may name people: its values get a key of their own per record and
    # field, so an erasure can make the history of one text unreadable without touching anything else.
    free_text: bool = False


FREE_TEXT = "free_text"


def to_text(value: Any) -> str | None:
    """Stable text form of a field value for the log."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def is_personal(model: type, field: str) -> bool:
    column = inspect(model).columns.get(field)
    return bool(column is not None and column.info.get("personal"))


def is_free_text(model: type, field: str) -> bool:
    column = inspect(model).columns.get(field)
    return bool(column is not None and column.info.get("personal") == FREE_TEXT)


def free_text_type(entity: str, field: str) -> str:
    return f"{entity}.{field}"


def free_text_key(session: Session, entity: str, entity_id: str | int, field: str, now: dt.datetime) -> PersonKey:
    """The live key of one free-text field of one record (see FieldChange.free_text).

    After an erasure shredded it, later values get a new generation ("<id>.2", …): history stays unreadable,
    new text stays erasable."""
    subject_type, base = free_text_type(entity, field), str(entity_id)
    keys = session.scalars(
        select(PersonKey)
        .where(PersonKey.subject_type == subject_type,
               or_(PersonKey.subject_id == base, PersonKey.subject_id.like(f"{base}.%")))
        .order_by(PersonKey.id.desc())
    ).all()
    live = next((k for k in keys if k.key is not None), None)
    if live is not None:
        return live
    return key_for(session, Subject(subject_type, base if not keys else f"{base}.{len(keys) + 1}"), now)


def field_change(model: type, field: str, old: Any, new: Any) -> FieldChange:
    return FieldChange(field, old, new, is_personal(model, field), is_free_text(model, field))


def apply_changes(obj: Any, values: Mapping[str, Any]) -> list[FieldChange]:
    """Set `values` on an ORM object and return what really changed, field by field."""
    changes: list[FieldChange] = []
    model = type(obj)
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            setattr(obj, field, new)
            changes.append(field_change(model, field, old, new))
    return changes


def snapshot_changes(obj: Any, fields: Sequence[str]) -> list[FieldChange]:
    """Creation entries: every field that has a value, old value empty."""
    model = type(obj)
    return [field_change(model, f, None, getattr(obj, f)) for f in fields if getattr(obj, f) is not None]


def _payload(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "occurred_at": entry.occurred_at,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "action": entry.action,
        "field": entry.field,
        "old_value": entry.old_value,
        "new_value": entry.new_value,
        "reason": entry.reason,
        "subject_key_id": entry.subject_key_id,
    }


def record(
    session: Session,
    *,
    now: dt.datetime,
    actor: Actor,
    entity: str,
    entity_id: str | int,
    action: str,
    changes: Sequence[FieldChange] = (),
    reason: str | None = None,
    subject: Subject | None = None,
) -> list[AuditEntry]:
    """Append one entry per changed field (or one entry without field) to the chain."""
    head = ledger.lock_head(session, CHAIN)
    person_key: PersonKey | None = None
    if subject is not None and any(c.personal for c in changes):
        person_key = key_for(session, subject, now)
    rows: list[AuditEntry] = []
    for change in changes or [None]:
        old, new = (to_text(change.old), to_text(change.new)) if change else (None, None)
        key = person_key if change is not None and change.personal else None
        if change is not None and change.free_text and key is None and (old or new):
            key = free_text_key(session, entity, entity_id, change.field, now)
        if key is not None:
            old = encrypt(key, old) if old is not None else None
            new = encrypt(key, new) if new is not None else None
        entry = AuditEntry(
            id=head.last_id + 1,
            occurred_at=now,
            actor_id=actor.user_id,
            actor_name=actor.name,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            field=change.field if change else None,
            old_value=old,
            new_value=new,
            reason=reason,
            subject_key_id=key.id if key is not None else None,
            prev_hash=head.last_hash,
        )
        entry.hash = ledger.chain_hash(entry.prev_hash, _payload(entry))
        ledger.advance_head(head, entry.id, entry.hash)
        session.add(entry)
        rows.append(entry)
    session.flush()
    return rows


def _chain_entries(session: Session) -> Iterator[ledger.ChainEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=VERIFY_BATCH)
    for entry in session.scalars(stmt):
        yield ledger.ChainEntry(entry.id, _payload(entry), entry.prev_hash, entry.hash)
        session.expunge(entry)


def verify_chain(session: Session) -> ledger.Verification:
    head = session.get(LedgerHead, CHAIN)
    return ledger.verify_entries(_chain_entries(session), head)


TRAIL_COLUMNS = ["id", "occurred_at", "actor_name", "action", "field", "old_value", "new_value", "reason"]


def trail(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | int | None = None,
    field: str | None = None,
    actor_name: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1_000,
    records: Mapping[str, Sequence[str | int]] | None = None,
) -> pd.DataFrame:
    """Entries newest first, personal values decrypted (or '[gelöscht]' after erasure).

    `records` narrows the log to several records at once, e.g. an account and its addresses:
    `{"account": [7], "address": [12, 13]}`.
    """
    stmt = (
        select(AuditEntry, PersonKey.key)
        .outerjoin(PersonKey, PersonKey.id == AuditEntry.subject_key_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    if records is not None:
        stmt = stmt.where(
            or_(
                false(),
                *(
                    and_(AuditEntry.entity == kind, AuditEntry.entity_id.in_([str(i) for i in ids]))
                    for kind, ids in records.items()
                    if ids
                ),
            )
        )
    if field:
        stmt = stmt.where(AuditEntry.field == field)
    if actor_name:
        stmt = stmt.where(AuditEntry.actor_name == actor_name)
    if since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.occurred_at < until)
    rows = [
        {
            "id": e.id,
            "occurred_at": e.occurred_at,
            "actor_name": e.actor_name,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "action": e.action,
            "field": e.field,
            "old_value": decrypt(key, e.old_value),
            "new_value": decrypt(key, e.new_value),
            "reason": e.reason,
        }
        for e, key in session.execute(stmt)
    ]
    return pd.DataFrame(rows, columns=["id", "occurred_at", "actor_name", "entity", "entity_id", *TRAIL_COLUMNS[3:]])


def verify_entries_shown(session: Session, ids: Iterable[int]) -> ledger.Verification:
    """A real check of exactly the entries a page shows, without walking the whole chain (core/ledger.py)."""
    return ledger.verify_selected(session, AuditEntry, _payload, CHAIN, ids)
