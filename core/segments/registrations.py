"""Segments' plug-ins: permissions, event names and what happens to memberships and tags in a contact merge.

`segment_members` and `contact_tags` have composite primary keys, so the re-link registry cannot re-point
them (the survivor may already be a member or carry the tag). Two merge hooks carry them over instead:

- memberships: the survivor joins every segment the merged contact was in and it was not (keeping the merged
  contact's `joined_at`); the merged contact leaves all of them. Both are recorded as `segment_changes` (no run),
  whose ids the hook hands back, so an undo puts each membership back where it came from.
- tags: the survivor gets the merged contact's tags it lacked; two audit entries (the survivor's tags before and
  after, the merged contact's tags) are the hook's record, so an undo restores both sides.

Both hooks declare the columns they carry (`MergeHook.columns`), which the merge registry's completeness test
counts. `recount` (a segment's stored size) lives here because the hook needs it; recalculation uses it too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select, update

from core import audit
from core.events import register_event
from core.merge import MergeHook, register_merge_hook
from core.permissions import Role, Scope, register_permission
from core.uow import UnitOfWork
from db.models import AuditEntry, ContactTag, Segment, SegmentChange, SegmentMember

_A = Scope.ALL

register_permission("segments.read", "Segmente ansehen", {role: _A for role in Role})
register_permission(
    "segments.write",
    "Segmente anlegen, ändern, löschen und neu berechnen",
    {Role.ADMIN: _A, Role.MARKETING: _A, Role.SALES_MANAGER: _A},
)

for _verb, _label in (
    ("created", "Segment angelegt"),
    ("updated", "Segment geändert"),
    ("deleted", "Segment gelöscht"),
    ("recalculated", "Segment neu berechnet"),
    ("member_added", "Kontakte in Segment aufgenommen"),
    ("member_removed", "Kontakte aus Segment entfernt"),
):
    register_event(f"crm.segment.{_verb}", _label)


# --- memberships ---------------------------------------------------------------------------------------------------


def recount(uow: UnitOfWork, segment_ids: Iterable[int]) -> None:
    """Store the real size of these segments (a system column: the version users edit against stays)."""
    ids = sorted(set(segment_ids))
    if ids:
        size = select(func.count()).where(SegmentMember.segment_id == Segment.id).scalar_subquery()
        uow.session.execute(update(Segment).where(Segment.id.in_(ids)).values(member_count=size))


def _change(uow: UnitOfWork, segment_id: int, contact_id: int, change: str) -> int:
    """Record a join or leave caused by a merge (no run) and announce it."""
    row = SegmentChange(segment_id=segment_id, contact_id=contact_id, change=change, at=uow.now, run_id=None)
    uow.session.add(row)
    uow.session.flush()
    name = "crm.segment.member_added" if change == "joined" else "crm.segment.member_removed"
    payload = {"segment_id": segment_id, "run_id": None, "reason": "merge", "count": 1, "contact_ids": [contact_id]}
    uow.emit(name, entity="segment", entity_id=segment_id, payload=payload)
    return row.id


def carry_memberships(uow: UnitOfWork, survivor_id: int, merged_id: int, note: str) -> list[int]:
    session = uow.session
    merged = session.execute(
        select(SegmentMember.segment_id, SegmentMember.joined_at)
        .where(SegmentMember.contact_id == merged_id)
        .order_by(SegmentMember.segment_id)
    ).all()
    if not merged:
        return []
    held = set(session.scalars(select(SegmentMember.segment_id).where(SegmentMember.contact_id == survivor_id)))
    changes: list[int] = []
    for segment_id, joined_at in merged:
        changes.append(_change(uow, segment_id, merged_id, "left"))
        if segment_id not in held:
            session.execute(
                insert(SegmentMember).values(segment_id=segment_id, contact_id=survivor_id, joined_at=joined_at)
            )
            changes.append(_change(uow, segment_id, survivor_id, "joined"))
    session.execute(delete(SegmentMember).where(SegmentMember.contact_id == merged_id))
    recount(uow, (segment_id for segment_id, _ in merged))
    uow.audit(
        entity="contact",
        entity_id=survivor_id,
        action="segments_carried",
        changes=[audit.FieldChange("segment_ids", None, json.dumps([s for s, _ in merged if s not in held]))],
        reason=note,
    )
    return changes


def _joined_before(uow: UnitOfWork, change: SegmentChange) -> dt.datetime:
    """When the contact had joined the segment before `change` (its last recorded join), else now."""
    joined = uow.session.scalar(
        select(func.max(SegmentChange.at)).where(
            SegmentChange.segment_id == change.segment_id,
            SegmentChange.contact_id == change.contact_id,
            SegmentChange.change == "joined",
            SegmentChange.id < change.id,
        )
    )
    return joined if joined is not None else uow.now


def restore_memberships(uow: UnitOfWork, survivor_id: int, merged_id: int, ids: list[int], note: str) -> None:
    session = uow.session
    rows = session.scalars(select(SegmentChange).where(SegmentChange.id.in_(ids)).order_by(SegmentChange.id)).all()
    for row in rows:  # a segment deleted since took its change rows along: nothing to restore there
        member = (SegmentMember.segment_id == row.segment_id, SegmentMember.contact_id == row.contact_id)
        present = session.scalar(select(func.count()).where(*member))
        if row.change == "left" and row.contact_id == merged_id and not present:
            joined_at = _joined_before(uow, row)
            session.execute(
                insert(SegmentMember).values(segment_id=row.segment_id, contact_id=merged_id, joined_at=joined_at)
            )
            _change(uow, row.segment_id, merged_id, "joined")
        elif row.change == "joined" and row.contact_id == survivor_id and present:
            session.execute(delete(SegmentMember).where(*member))
            _change(uow, row.segment_id, survivor_id, "left")
    recount(uow, (row.segment_id for row in rows))
    if rows:
        uow.audit(entity="contact", entity_id=merged_id, action="segments_restored", reason=note)


# --- tags ----------------------------------------------------------------------------------------------------------


def _tags(uow: UnitOfWork, contact_id: int) -> list[str]:
    return sorted(uow.session.scalars(select(ContactTag.tag).where(ContactTag.contact_id == contact_id)))


def _tag_list(tags: list[str] | None) -> str | None:
    return None if tags is None else json.dumps(tags, ensure_ascii=False)


def _audit_tags(
    uow: UnitOfWork, contact_id: int, old: list[str], new: list[str] | None, note: str, action: str = "tags_merged"
) -> int:
    """One audit entry (its id is the hook's record of what moved)."""
    change = audit.FieldChange("tags", _tag_list(old), _tag_list(new))
    entries = audit.record(
        uow.session,
        now=uow.now,
        actor=uow.actor,
        entity="contact",
        entity_id=contact_id,
        action=action,
        changes=[change],
        reason=note,
    )
    return entries[0].id


def carry_tags(uow: UnitOfWork, survivor_id: int, merged_id: int, note: str) -> list[int]:
    merged = _tags(uow, merged_id)
    if not merged:
        return []
    before = _tags(uow, survivor_id)
    carried = [tag for tag in merged if tag not in before]
    if carried:
        uow.session.execute(insert(ContactTag), [{"contact_id": survivor_id, "tag": tag} for tag in carried])
    return [
        _audit_tags(uow, survivor_id, before, sorted({*before, *carried}), note),
        _audit_tags(uow, merged_id, merged, None, note),
    ]


def restore_tags(uow: UnitOfWork, survivor_id: int, merged_id: int, ids: list[int], note: str) -> None:
    if not ids:
        return
    before = _tags(uow, survivor_id)
    for entry in uow.session.scalars(select(AuditEntry).where(AuditEntry.id.in_(ids))):
        old = set(json.loads(entry.old_value or "[]"))
        if entry.entity_id == str(survivor_id):
            carried = set(json.loads(entry.new_value or "[]")) - old
            uow.session.execute(
                delete(ContactTag).where(ContactTag.contact_id == survivor_id, ContactTag.tag.in_(carried))
            )
        elif entry.entity_id == str(merged_id) and old:
            uow.session.execute(insert(ContactTag), [{"contact_id": merged_id, "tag": tag} for tag in sorted(old)])
    _audit_tags(uow, survivor_id, before, _tags(uow, survivor_id), note, action="tags_merge_undone")


register_merge_hook(
    MergeHook(
        "contact",
        "segment_members",
        carry_memberships,
        restore_memberships,
        columns=("segment_members.contact_id",),
    )
)
register_merge_hook(
    MergeHook("contact", "contact_tags", carry_tags, restore_tags, columns=("contact_tags.contact_id",))
)
