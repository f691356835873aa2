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
VERIFY_CHUNK = 500


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    personal: bool = False


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


def apply_changes(obj: Any, values: Mapping[str, Any]) -> list[FieldChange]:
    """Set `values` on an ORM object and return what really changed, field by field."""
    changes: list[FieldChange] = []
    model = type(obj)
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            setattr(obj, field, new)
            changes.append(FieldChange(field, old, new, is_personal(model, field)))
    return changes


def snapshot_changes(obj: Any, fields: Sequence[str]) -> list[FieldChange]:
    """Creation entries: every field that has a value, old value empty."""
    model = type(obj)
    return [
        FieldChange(f, None, getattr(obj, f), is_personal(model, f)) for f in fields if getattr(obj, f) is not None
    ]


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
        encrypted = change is not None and change.personal and person_key is not None
        if encrypted:
            assert person_key is not None
            old = encrypt(person_key, old) if old is not None else None
            new = encrypt(person_key, new) if new is not None else None
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
            subject_key_id=person_key.id if encrypted and person_key else None,
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


def _entries_by_id(session: Session, ids: Sequence[int]) -> dict[int, AuditEntry]:
    rows: dict[int, AuditEntry] = {}
    for start in range(0, len(ids), VERIFY_CHUNK):
        chunk = ids[start : start + VERIFY_CHUNK]
        rows.update({e.id: e for e in session.scalars(select(AuditEntry).where(AuditEntry.id.in_(chunk)))})
    return rows


def verify_entries_shown(session: Session, ids: Iterable[int]) -> ledger.Verification:
    """A real check of exactly the entries a page shows, without walking the whole chain.

    Each entry is re-hashed from its stored content, its `prev_hash` must equal the stored hash
    of entry id-1 (the genesis hash for entry 1), and the entry after it (or the chain head, for
    the newest entry) must point back to it. So an altered, removed or re-hashed shown entry is
    named, as is a removed predecessor.
    """
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return ledger.Verification(True, 0)
    neighbours = {i - 1 for i in wanted if i > 1} | {i + 1 for i in wanted}
    rows = _entries_by_id(session, sorted(set(wanted) | neighbours))
    head = session.get(LedgerHead, CHAIN)
    checked = 0
    for entry_id in wanted:
        entry = rows.get(entry_id)
        if entry is None:
            return ledger.Verification(False, checked, entry_id, "Eintrag fehlt (gelöscht).")
        if ledger.chain_hash(entry.prev_hash, _payload(entry)) != entry.hash:
            return ledger.Verification(False, checked, entry_id, "Inhalt wurde nachträglich verändert.")
        predecessor = rows.get(entry_id - 1)
        if entry_id > 1 and predecessor is None:
            return ledger.Verification(False, checked, entry_id - 1, f"Eintrag {entry_id - 1} fehlt (gelöscht).")
        expected_prev = predecessor.hash if predecessor is not None else ledger.GENESIS_HASH
        if entry.prev_hash != expected_prev:
            problem = "Verkettung passt nicht zum vorigen Eintrag (eingefügt, entfernt oder umsortiert)."
            return ledger.Verification(False, checked, entry_id, problem)
        successor = rows.get(entry_id + 1)
        head_id, head_hash = (head.last_id, head.last_hash) if head is not None else (0, ledger.GENESIS_HASH)
        if successor is None and head_id > entry_id:
            return ledger.Verification(False, checked, entry_id + 1, f"Eintrag {entry_id + 1} fehlt (gelöscht).")
        if successor is not None:
            linked = successor.prev_hash == entry.hash
        else:
            linked = head_id == entry_id and head_hash == entry.hash
        if not linked:
            problem = "Der folgende Eintrag bzw. der Kettenkopf verweist nicht auf diesen Eintrag."
            return ledger.Verification(False, checked, entry_id, problem)
        checked += 1
    return ledger.Verification(True, checked)
