"""Audited create/update/delete of an editable entity: the pattern every module reuses.

Each helper runs inside the caller's unit of work: it applies the change, compares the
version the user saw (optimistic locking), writes field-level audit entries and emits the
`crm.<entity>.created|updated|deleted` event with before/after values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from core import audit
from core.events import change_payload
from core.subject_keys import Subject
from core.uow import UnitOfWork

T = TypeVar("T")


def values_of(obj: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def create_record(
    uow: UnitOfWork,
    obj: T,
    *,
    entity: str,
    fields: Sequence[str],
    subject_type: str | None = None,
    reason: str | None = None,
) -> T:
    session = uow.session
    setattr(obj, "created_at", uow.now)
    setattr(obj, "updated_at", uow.now)
    session.add(obj)
    session.flush()
    entity_id = getattr(obj, "id")
    subject = Subject(subject_type, str(entity_id)) if subject_type else None
    uow.audit(
        entity=entity,
        entity_id=entity_id,
        action="created",
        changes=audit.snapshot_changes(obj, fields),
        reason=reason,
        subject=subject,
    )
    uow.emit(
        f"crm.{entity}.created",
        entity=entity,
        entity_id=entity_id,
        payload=change_payload(None, values_of(obj, fields)),
    )
    return obj


def update_record(
    uow: UnitOfWork,
    obj: T,
    values: Mapping[str, Any],
    *,
    entity: str,
    expected_version: int | None,
    subject_type: str | None = None,
    reason: str | None = None,
) -> list[audit.FieldChange]:
    uow.check_version(getattr(obj, "version"), expected_version)
    changes = audit.apply_changes(obj, values)
    if not changes:
        return []
    setattr(obj, "updated_at", uow.now)
    uow.session.flush()
    entity_id = getattr(obj, "id")
    subject = Subject(subject_type, str(entity_id)) if subject_type else None
    uow.audit(entity=entity, entity_id=entity_id, action="updated", changes=changes, reason=reason, subject=subject)
    uow.emit(
        f"crm.{entity}.updated",
        entity=entity,
        entity_id=entity_id,
        payload=change_payload({c.field: c.old for c in changes}, {c.field: c.new for c in changes})
        | {"version": getattr(obj, "version")},
    )
    return changes


def delete_record(
    uow: UnitOfWork,
    obj: Any,
    *,
    entity: str,
    fields: Sequence[str],
    expected_version: int | None,
    subject_type: str | None = None,
    reason: str | None = None,
) -> None:
    uow.check_version(obj.version, expected_version)
    entity_id = obj.id
    before = values_of(obj, fields)
    subject = Subject(subject_type, str(entity_id)) if subject_type else None
    changes = [audit.field_change(type(obj), f, v, None) for f, v in before.items() if v is not None]
    uow.session.delete(obj)
    uow.session.flush()
    uow.audit(entity=entity, entity_id=entity_id, action="deleted", changes=changes, reason=reason, subject=subject)
    uow.emit(f"crm.{entity}.deleted", entity=entity, entity_id=entity_id, payload=change_payload(before, None))
