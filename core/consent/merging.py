"""Consent through a contact merge (core/merge.py hook).

The ledger is append-only, so the merged contact's entries cannot be re-pointed. Instead, for every
channel × purpose where the merged contact's latest entry is newer than the survivor's (or the
survivor has none), the survivor gets a copy of it (source "merge", evidence naming the origin). So a
withdrawal on the duplicate keeps protecting the person, and a newer consent is not lost. Undoing the
merge appends the survivor's previous state again where the carried entry is still its latest.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from core.consent.ledger import EntryDraft
from core.consent.service import EntryView, load_entry_views, record_entry
from core.merge import MergeHook, register_merge_hook
from core.uow import UnitOfWork
from db.models import ConsentEntry

EVENTS = {
    "requested": "crm.consent.doi_requested",
    "confirmed": "crm.consent.doi_confirmed",
    "granted": "crm.consent.granted",
    "revoked": "crm.consent.revoked",
    "expired": "crm.consent.expired",
}
Cell = tuple[str, int]


def _latest(uow: UnitOfWork, contact_id: int, *, before_id: int | None = None) -> dict[Cell, EntryView]:
    ids = select(func.max(ConsentEntry.id)).where(ConsentEntry.contact_id == contact_id)
    if before_id is not None:
        ids = ids.where(ConsentEntry.id < before_id)
    ids = ids.group_by(ConsentEntry.channel, ConsentEntry.purpose_id)
    return {(v.channel, v.purpose_id): v for v in load_entry_views(uow.session, ConsentEntry.id.in_(ids))}


def _copy(uow: UnitOfWork, entry: EntryView, *, contact_id: int, evidence: str | None, reason: str | None) -> int:
    draft = EntryDraft(
        contact_id=contact_id,
        channel=entry.channel,
        purpose_id=entry.purpose_id,
        action=entry.action,
        legal_basis=entry.legal_basis,
        source="merge",
        text_id=entry.text_id,
        text_sha256=entry.text_sha256,
        order_id=entry.order_id,
        doi_request_id=entry.doi_request_id,
        doi_requested_at=entry.doi_requested_at,
        doi_confirmed_at=entry.doi_confirmed_at,
        valid_until=entry.valid_until,
        address=entry.address,
        ip=entry.ip,
        user_agent=entry.user_agent,
        evidence=evidence,
        reason=reason,
    )
    return record_entry(uow, draft, event=EVENTS[entry.action], extra={"merge": True})


def carry_consents(uow: UnitOfWork, survivor_id: int, merged_id: int, note: str) -> list[int]:
    survivor = _latest(uow, survivor_id)
    carried = []
    for cell, entry in sorted(_latest(uow, merged_id).items()):
        own = survivor.get(cell)
        if own is not None and own.occurred_at >= entry.occurred_at:
            continue
        origin = f"Übernommen aus Kontakt #{merged_id}, Eintrag {entry.id}"
        evidence = f"{origin}: {entry.evidence}" if entry.evidence else origin
        carried.append(_copy(uow, entry, contact_id=survivor_id, evidence=evidence, reason=entry.reason or note))
    return carried


def restore_consents(uow: UnitOfWork, survivor_id: int, merged_id: int, carried: list[int], note: str) -> None:
    latest = _latest(uow, survivor_id)
    for entry in load_entry_views(uow.session, ConsentEntry.id.in_(carried)):
        cell = (entry.channel, entry.purpose_id)
        if latest.get(cell) is None or latest[cell].id != entry.id:
            continue  # the person acted since the merge: their newer entry stands
        previous = _latest(uow, survivor_id, before_id=entry.id).get(cell)
        if previous is not None:
            _copy(uow, previous, contact_id=survivor_id, evidence=previous.evidence, reason=note)
        else:
            withdrawn = replace(entry, action="revoked")
            _copy(uow, withdrawn, contact_id=survivor_id, evidence=None,
                  reason=f"{note}: die Einwilligung gehörte zu Kontakt #{merged_id}")


register_merge_hook(MergeHook("contact", "consent", carry_consents, restore_consents))
