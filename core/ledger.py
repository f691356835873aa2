"""Hash chains shared by every tamper-evident log (audit; later consent and GDPR request logs).

Each entry stores `prev_hash` and `hash = SHA-256(prev_hash || canonical JSON of the entry)`.
Ids are consecutive, assigned under a lock on the chain's head row, so a gap, a changed row,
a foreign row and a swapped pair all break the walk at a nameable entry; the head row also
reveals a removed tail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.models import LedgerHead

GENESIS_HASH = "0" * 64
SELECT_CHUNK = 500


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    raise TypeError(f"not serialisable: {type(value).__name__}")


def canonical_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def chain_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


def lock_head(session: Session, name: str) -> LedgerHead:
    """The chain's head row, locked until the transaction ends (appends are serialised)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"ledger:{name}"})
    head = session.scalars(select(LedgerHead).where(LedgerHead.name == name).with_for_update()).one_or_none()
    if head is None:
        head = LedgerHead(name=name, last_id=0, last_hash=GENESIS_HASH, entries=0)
        session.add(head)
    return head


def advance_head(head: LedgerHead, entry_id: int, entry_hash: str) -> None:
    head.last_id = entry_id
    head.last_hash = entry_hash
    head.entries += 1


@dataclass(frozen=True)
class ChainEntry:
    id: int
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"Kette intakt: {self.checked} Einträge geprüft."
        return f"Kette gebrochen bei Eintrag {self.first_bad_id}: {self.problem}"


def verify_entries(entries: Iterable[ChainEntry], head: LedgerHead | None) -> Verification:
    """Walk a chain in id order and report the first entry that does not fit."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    checked = 0
    for entry in entries:
        if entry.id != expected_id:
            if entry.id > expected_id:
                problem = f"Eintrag {expected_id} fehlt (gelöscht)."
                return Verification(False, checked, expected_id, problem)
            return Verification(False, checked, entry.id, "Eintrag doppelt oder umsortiert.")
        if entry.prev_hash != expected_prev:
            problem = "Verkettung passt nicht zum vorigen Eintrag (eingefügt, entfernt oder umsortiert)."
            return Verification(False, checked, entry.id, problem)
        if chain_hash(entry.prev_hash, entry.payload) != entry.hash:
            return Verification(False, checked, entry.id, "Inhalt wurde nachträglich verändert.")
        expected_prev = entry.hash
        expected_id += 1
        checked += 1
    last_id = expected_id - 1
    head_id, head_hash = (head.last_id, head.last_hash) if head is not None else (0, GENESIS_HASH)
    if head_id > last_id:
        problem = f"Einträge {last_id + 1} bis {head_id} fehlen (Ende der Kette entfernt)."
        return Verification(False, checked, last_id + 1, problem)
    if head_id < last_id:
        return Verification(False, checked, head_id + 1, "Eintrag nach dem Kettenende angefügt.")
    if head_hash != expected_prev:
        return Verification(False, checked, last_id, "Letzter Eintrag passt nicht zum Kettenkopf.")
    return Verification(True, checked)


def _rows_by_id(session: Session, model: Any, ids: Sequence[int]) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    for start in range(0, len(ids), SELECT_CHUNK):
        chunk = ids[start : start + SELECT_CHUNK]
        rows.update({e.id: e for e in session.scalars(select(model).where(model.id.in_(chunk)))})
    return rows


def verify_selected(
    session: Session, model: Any, payload: Callable[[Any], Mapping[str, Any]], chain: str, ids: Iterable[int]
) -> Verification:
    """Check chosen entries of a chain without walking all of it.

    Each entry is re-hashed from its stored content, its `prev_hash` must equal the stored hash of entry id-1
    (the genesis hash for entry 1), and the entry after it (or the chain head, for the newest entry) must point
    back to it. So an altered, removed or re-hashed entry is named, as is a removed predecessor.
    """
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return Verification(True, 0)
    neighbours = {i - 1 for i in wanted if i > 1} | {i + 1 for i in wanted}
    rows = _rows_by_id(session, model, sorted(set(wanted) | neighbours))
    head = session.get(LedgerHead, chain)
    head_id, head_hash = (head.last_id, head.last_hash) if head is not None else (0, GENESIS_HASH)
    checked = 0
    for entry_id in wanted:
        entry = rows.get(entry_id)
        if entry is None:
            return Verification(False, checked, entry_id, "Eintrag fehlt (gelöscht).")
        if chain_hash(entry.prev_hash, payload(entry)) != entry.hash:
            return Verification(False, checked, entry_id, "Inhalt wurde nachträglich verändert.")
        predecessor = rows.get(entry_id - 1)
        if entry_id > 1 and predecessor is None:
            return Verification(False, checked, entry_id - 1, f"Eintrag {entry_id - 1} fehlt (gelöscht).")
        expected_prev = predecessor.hash if predecessor is not None else GENESIS_HASH
        if entry.prev_hash != expected_prev:
            problem = "Verkettung passt nicht zum vorigen Eintrag (eingefügt, entfernt oder umsortiert)."
            return Verification(False, checked, entry_id, problem)
        successor = rows.get(entry_id + 1)
        if successor is None and head_id > entry_id:
            return Verification(False, checked, entry_id + 1, f"Eintrag {entry_id + 1} fehlt (gelöscht).")
        linked = successor.prev_hash == entry.hash if successor is not None else head_id == entry_id and head_hash == entry.hash
        if not linked:
            problem = "Der folgende Eintrag bzw. der Kettenkopf verweist nicht auf diesen Eintrag."
            return Verification(False, checked, entry_id, problem)
        checked += 1
    return Verification(True, checked)
