"""Merging duplicate accounts or contacts, keeping the merged id resolvable, and undoing a merge.

A merge keeps one record (the survivor), takes the chosen field values from the other one,
moves every related row over and deletes the other record — in one transaction, audited.
Related rows are found through the re-link registry: a module whose table points to accounts
or contacts registers that column once (`register_relink`) and its rows follow every merge;
`tests/integration/test_merge.py` fails when a foreign key to accounts.id or contacts.id is
not registered. What a merge did is kept in `merge_records`, so it can be undone exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Column, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.addresses import Owner, demote_moved_primaries, restore_primaries
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact, set_match_keys
from core.dedupe.review import MERGED
from core.dedupe.scan import OPEN
from core.errors import Conflict, NotFound, ValidationFailed
from core.records import delete_record, update_record
from core.subject_keys import Subject, decrypt, encrypt, key_for
from core.uow import UnitOfWork
from db.base import Base
from db.models import Account, Address, Contact, DuplicateCandidate, MergeRecord, PersonKey, RecordAlias, User

MERGE_PERMISSION = "duplicates.merge"
ALIAS_TARGET = "record_aliases.target_id"
CHUNK = 1_000

Choice = Literal["survivor", "merged"]
CHOICES: tuple[Choice, ...] = ("survivor", "merged")


# --- the re-link registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class Relink:
    """Rows of `table` whose `column` points to a record of `entity` follow that record into a merge.

    With `audit_entity`, every moved row gets an audit entry on that entity ("Firma: 5 → 3").
    """

    entity: str
    table: Table
    column: str
    audit_entity: str | None = None

    @property
    def key(self) -> str:
        return f"{self.table.name}.{self.column}"


RELINKS: dict[str, Relink] = {}
ENTITY_TABLES = {"account": "accounts", "contact": "contacts"}


def register_relink(entity: str, model: Any, column: str, *, audit_entity: str | None = None) -> Relink:
    """Declare that `model.column` references a record of `entity` ("account" or "contact")."""
    table: Table = model if isinstance(model, Table) else model.__table__
    if entity not in ENTITY_TABLES:
        raise ValueError(f"merge re-link: unknown entity {entity!r}")
    if column not in table.c:
        raise ValueError(f"merge re-link: {table.name} has no column {column!r}")
    if len(table.primary_key.columns) != 1:
        raise ValueError(f"merge re-link: {table.name} needs a single-column primary key")
    relink = Relink(entity, table, column, audit_entity)
    if relink.key in RELINKS:
        raise ValueError(f"merge re-link {relink.key} registered twice")
    RELINKS[relink.key] = relink
    return relink


@dataclass(frozen=True)
class MergeHook:
    """Work a capability does when two records merge and when the merge is undone, for data that cannot
    simply be re-pointed (e.g. the append-only consent ledger: entries are carried over by appending).

    `on_merge(uow, survivor_id, merged_id, note)` returns ids it wants back on undo;
    `on_undo(uow, survivor_id, merged_id, ids, note)` reverses its effect.
    """

    entity: str
    name: str
    on_merge: Callable[[UnitOfWork, int, int, str], list[int]]
    on_undo: Callable[[UnitOfWork, int, int, list[int], str], None]
    columns: tuple[str, ...] = ()  # "table.column" references the hook carries instead of a re-link


MERGE_HOOKS: list[MergeHook] = []


def register_merge_hook(hook: MergeHook) -> MergeHook:
    if hook.entity not in ENTITY_TABLES:
        raise ValueError(f"merge hook: unknown entity {hook.entity!r}")
    if any(h.entity == hook.entity and h.name == hook.name for h in MERGE_HOOKS):
        raise ValueError(f"merge hook {hook.name!r} registered twice")
    MERGE_HOOKS.append(hook)
    return hook


def hooks_for(entity: str) -> list[MergeHook]:
    from core.capabilities import load_all

    load_all()
    return [h for h in MERGE_HOOKS if h.entity == entity]


def relinks_for(entity: str) -> list[Relink]:
    from core.capabilities import load_all  # capability packages import this module: load them lazily

    load_all()
    return [r for r in RELINKS.values() if r.entity == entity]


register_relink("account", Contact, "account_id", audit_entity="contact")
register_relink("account", Address, "account_id", audit_entity="address")
register_relink("contact", Address, "contact_id", audit_entity="address")


# --- aliases --------------------------------------------------------------------------------------


ENTITY_MODELS: dict[str, type[Account] | type[Contact]] = {"account": Account, "contact": Contact}


def surviving_id(session: Session, entity: str, record_id: int) -> int:
    """The id a record lives under now: its own, or the survivor's it was merged into.

    A live record wins over an alias (SQLite may hand a deleted record's id to a new one).
    """
    if session.get(ENTITY_MODELS[entity], record_id) is not None:
        return record_id
    target = session.scalar(
        select(RecordAlias.target_id).where(RecordAlias.entity == entity, RecordAlias.alias_id == record_id)
    )
    return record_id if target is None else target


# --- what can be merged ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeEntity:
    name: str
    label: str
    model: type[Account] | type[Contact]
    fields: tuple[str, ...]
    label_fields: tuple[str, ...]
    read: str
    write: str
    delete: str
    personal: bool
    match_keys: Callable[[Mapping[str, Any]], dict[str, str | None]]

    def subject(self, record_id: int) -> Subject | None:
        return Subject(self.name, str(record_id)) if self.personal else None

    @property
    def subject_type(self) -> str | None:
        return self.name if self.personal else None


def merge_entity(name: str) -> MergeEntity:
    # Imported here: core.accounts and core.contacts resolve aliases through this module.
    from core import accounts, contacts

    if name == "account":
        return MergeEntity(
            "account",
            "Firma",
            Account,
            accounts.EDITABLE,
            ("name",),
            "accounts.read",
            "accounts.write",
            "accounts.delete",
            False,
            match_keys_for_account,
        )
    if name == "contact":
        return MergeEntity(
            "contact",
            "Kontakt",
            Contact,
            contacts.EDITABLE,
            ("first_name", "last_name"),
            "contacts.read",
            "contacts.write",
            "contacts.delete",
            True,
            match_keys_for_contact,
        )
    raise ValidationFailed({"entity": f"„{name}“ kann nicht zusammengeführt werden"})


def _load(uow: UnitOfWork, spec: MergeEntity, record_id: int) -> Any:
    record = uow.session.get(spec.model, record_id)
    if record is None:
        target = surviving_id(uow.session, spec.name, record_id)
        if target != record_id:
            raise NotFound(f"{spec.label} {record_id} wurde bereits mit {spec.label} {target} zusammengeführt.")
        raise NotFound(f"{spec.label} {record_id} gibt es nicht.")
    return record


def _label(spec: MergeEntity, values: Mapping[str, Any]) -> str:
    return " ".join(str(values[f]) for f in spec.label_fields if values.get(f))


# --- snapshots: every column as JSON, personal values encrypted with the person's key -----------------


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _column_value(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    python_type = getattr(column.type, "impl_instance", column.type).python_type  # TypeDecorators: their impl
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if python_type is dt.date:
        return dt.date.fromisoformat(value)
    if python_type is Decimal:
        return Decimal(value)
    return value


def _person_key(uow: UnitOfWork, spec: MergeEntity, record_id: int) -> PersonKey | None:
    subject = spec.subject(record_id)
    return key_for(uow.session, subject, uow.now) if subject else None


def _snapshot(uow: UnitOfWork, spec: MergeEntity, record: Any) -> dict[str, Any]:
    key = _person_key(uow, spec, record.id)
    snapshot: dict[str, Any] = {}
    for column in spec.model.__table__.columns:
        value = _json_value(getattr(record, column.key))
        if key is not None and value is not None and column.info.get("personal"):
            value = encrypt(key, str(value))
        snapshot[column.key] = value
    return snapshot


def _restored(uow: UnitOfWork, spec: MergeEntity, record_id: int, snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """Snapshot values back in their column types; refused once the person's data was erased."""
    key = _person_key(uow, spec, record_id)
    if key is not None and key.key is None:
        raise Conflict(
            f"Die personenbezogenen Daten von {spec.label} {record_id} wurden gelöscht (DSGVO); "
            "die Zusammenführung lässt sich nicht mehr rückgängig machen."
        )
    values: dict[str, Any] = {}
    for column in spec.model.__table__.columns:
        value = snapshot.get(column.key)
        if key is not None and column.info.get("personal"):
            value = decrypt(key.key, value)
        values[column.key] = _column_value(column, value)
    return values


# --- preview ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergePreview:
    entity: str
    survivor_id: int
    merged_id: int
    survivor_label: str
    merged_label: str
    survivor_version: int
    merged_version: int
    fields: tuple[str, ...]
    survivor_values: dict[str, Any]
    merged_values: dict[str, Any]
    relink_counts: dict[str, int]

    @property
    def differing(self) -> tuple[str, ...]:
        """Fields where the two records disagree: only there the user has a choice."""
        return tuple(f for f in self.fields if self.survivor_values[f] != self.merged_values[f])


def _relink_counts(uow: UnitOfWork, spec: MergeEntity, record_id: int) -> dict[str, int]:
    return {
        r.key: uow.session.scalar(select(func.count()).select_from(r.table).where(r.table.c[r.column] == record_id))
        or 0
        for r in relinks_for(spec.name)
    }


def merge_preview(uow: UnitOfWork, *, entity: str, survivor_id: int, merged_id: int) -> MergePreview:
    """Both records side by side and how many related rows a merge would move."""
    spec = merge_entity(entity)
    _check_pair(spec, survivor_id, merged_id)
    with uow:
        uow.authorize(spec.read)
        survivor, merged = _load(uow, spec, survivor_id), _load(uow, spec, merged_id)
        survivor_values = {f: getattr(survivor, f) for f in spec.fields}
        merged_values = {f: getattr(merged, f) for f in spec.fields}
        return MergePreview(
            entity=spec.name,
            survivor_id=survivor_id,
            merged_id=merged_id,
            survivor_label=_label(spec, survivor_values),
            merged_label=_label(spec, merged_values),
            survivor_version=survivor.version,
            merged_version=merged.version,
            fields=spec.fields,
            survivor_values=survivor_values,
            merged_values=merged_values,
            relink_counts=_relink_counts(uow, spec, merged_id),
        )


# --- merge ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeView:
    id: int
    entity: str
    survivor_id: int
    merged_id: int
    merged_at: dt.datetime
    relinked: dict[str, list[int]]
    taken_from_merged: tuple[str, ...]
    undone_at: dt.datetime | None

    @property
    def relinked_count(self) -> int:
        return sum(len(ids) for key, ids in self.relinked.items() if key != ALIAS_TARGET)


def _check_pair(spec: MergeEntity, survivor_id: int, merged_id: int) -> None:
    if survivor_id == merged_id:
        raise ValidationFailed({"merged_id": f"eine {spec.label} kann nicht mit sich selbst zusammengeführt werden"})


def _check_choices(spec: MergeEntity, field_choices: Mapping[str, str]) -> list[str]:
    errors = {f: "kein zusammenführbares Feld" for f in field_choices if f not in spec.fields}
    errors |= {f: "Wert muss „survivor“ oder „merged“ sein" for f, c in field_choices.items() if c not in CHOICES}
    if errors:
        raise ValidationFailed(errors)
    return [f for f, choice in field_choices.items() if choice == "merged"]


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _move(uow: UnitOfWork, table: Table, column: str, ids: Sequence[int], *, source: int, target: int) -> list[int]:
    """Point `column` of the rows `ids` from `source` to `target` (bulk UPDATE, version bumped)."""
    pk = next(iter(table.primary_key.columns))
    values: dict[str, Any] = {column: target}
    if "version" in table.c:
        values["version"] = table.c.version + 1
    if "updated_at" in table.c:
        values["updated_at"] = uow.now
    moved: list[int] = []
    for chunk in _chunks(ids):
        condition = (pk.in_(chunk), table.c[column] == source)
        moved += uow.session.scalars(select(pk).where(*condition).order_by(pk)).all()
        uow.session.execute(update(table).where(*condition).values(values))
    return moved


def _audit_moves(
    uow: UnitOfWork, relink: Relink | None, ids: Sequence[int], source: int, target: int, reason: str
) -> None:
    if relink is None or relink.audit_entity is None:
        return
    for row_id in ids:
        change = audit.FieldChange(relink.column, source, target)
        uow.audit(entity=relink.audit_entity, entity_id=row_id, action="updated", changes=[change], reason=reason)


def _relink(uow: UnitOfWork, spec: MergeEntity, *, source: int, target: int, reason: str) -> dict[str, list[int]]:
    moved: dict[str, list[int]] = {}
    for relink in relinks_for(spec.name):
        pk = next(iter(relink.table.primary_key.columns))
        ids = list(uow.session.scalars(select(pk).where(relink.table.c[relink.column] == source).order_by(pk)))
        moved[relink.key] = _move(uow, relink.table, relink.column, ids, source=source, target=target)
        _audit_moves(uow, relink, moved[relink.key], source, target, reason)
    aliases = list(
        uow.session.scalars(
            select(RecordAlias.id).where(RecordAlias.entity == spec.name, RecordAlias.target_id == source)
        )
    )
    moved[ALIAS_TARGET] = _move(uow, RecordAlias.__table__, "target_id", aliases, source=source, target=target)
    return moved


def _apply_values(
    uow: UnitOfWork,
    spec: MergeEntity,
    record: Any,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str,
) -> list[audit.FieldChange]:
    """Audited field changes plus fresh duplicate-check keys, written in one flushed UPDATE."""
    set_match_keys(record, spec.match_keys({f: getattr(record, f) for f in spec.fields} | dict(values)))
    changes = update_record(
        uow,
        record,
        values,
        entity=spec.name,
        expected_version=expected_version,
        subject_type=spec.subject_type,
        reason=reason,
    )
    uow.session.flush()
    return changes


def _set_candidate_status(uow: UnitOfWork, spec: MergeEntity, ids: tuple[int, int], status: str) -> None:
    reviewed = status != OPEN
    uow.session.execute(
        update(DuplicateCandidate)
        .where(
            DuplicateCandidate.entity == spec.name,
            DuplicateCandidate.id_a == min(ids),
            DuplicateCandidate.id_b == max(ids),
        )
        .values(
            status=status,
            reviewed_at=uow.now if reviewed else None,
            reviewed_by_id=uow.actor.user_id if reviewed else None,
        ),
        execution_options={"synchronize_session": False},
    )


def _view(record: MergeRecord) -> MergeView:
    return MergeView(
        id=record.id,
        entity=record.entity,
        survivor_id=record.survivor_id,
        merged_id=record.merged_id,
        merged_at=record.merged_at,
        relinked={k: list(v) for k, v in record.relinked.items()},
        taken_from_merged=tuple(record.survivor_before.get("taken_from_merged", ())),
        undone_at=record.undone_at,
    )


def merge(
    uow: UnitOfWork,
    *,
    entity: str,
    survivor_id: int,
    merged_id: int,
    field_choices: Mapping[str, str],
    reason: str | None = None,
    survivor_version: int | None = None,
    merged_version: int | None = None,
) -> MergeView:
    """Merge `merged_id` into `survivor_id`; `field_choices` says per field whose value survives.

    Fields left out keep the survivor's value. The versions the user saw guard against merging
    records that changed in the meantime.
    """
    spec = merge_entity(entity)
    _check_pair(spec, survivor_id, merged_id)
    taken = _check_choices(spec, field_choices)
    with uow:
        uow.authorize(MERGE_PERMISSION)
        survivor, merged = _load(uow, spec, survivor_id), _load(uow, spec, merged_id)
        for record in (survivor, merged):
            uow.authorize(spec.write, owner_id=record.owner_id, check_owner=True)
        uow.authorize(spec.delete)
        uow.check_version(survivor.version, survivor_version)
        uow.check_version(merged.version, merged_version)
        note = f"Zusammenführung von {spec.label} #{merged_id} mit #{survivor_id}" + (f": {reason}" if reason else "")
        merged_snapshot = _snapshot(uow, spec, merged)
        survivor_snapshot = _snapshot(uow, spec, survivor)
        values = {f: getattr(merged, f) for f in taken}
        relinked = _relink(uow, spec, source=merged_id, target=survivor_id, reason=note)
        hooked = {h.name: h.on_merge(uow, survivor_id, merged_id, note) for h in hooks_for(spec.name)}
        demoted = demote_moved_primaries(
            uow, Owner(spec.name, survivor_id), relinked.get(f"addresses.{spec.name}_id", []), note
        )
        delete_record(
            uow,
            merged,
            entity=spec.name,
            fields=spec.fields,
            expected_version=None,
            subject_type=spec.subject_type,
            reason=note,
        )
        changes = _apply_values(uow, spec, survivor, values, expected_version=None, reason=note)
        record = MergeRecord(
            entity=spec.name,
            survivor_id=survivor_id,
            merged_id=merged_id,
            merged_snapshot=merged_snapshot,
            survivor_before={
                "values": survivor_snapshot,
                "taken_from_merged": [c.field for c in changes],
                "version_after": survivor.version,
                "demoted_primaries": demoted,
                "hooks": hooked,
            },
            relinked=relinked,
            merged_at=uow.now,
            merged_by_id=uow.actor.user_id,
        )
        uow.session.add(record)
        uow.session.flush()
        uow.session.add(RecordAlias(entity=spec.name, alias_id=merged_id, target_id=survivor_id, merge_id=record.id))
        _set_candidate_status(uow, spec, (survivor_id, merged_id), MERGED)
        uow.audit(
            entity=spec.name,
            entity_id=survivor_id,
            action="merged",
            changes=[audit.FieldChange("merged_id", None, merged_id)],
            reason=note,
        )
        uow.emit(
            f"crm.{spec.name}.merged",
            entity=spec.name,
            entity_id=survivor_id,
            payload={
                "merge_id": record.id,
                "survivor_id": survivor_id,
                "merged_id": merged_id,
                "taken_from_merged": [c.field for c in changes],
                "relinked": relinked,
            },
        )
        view = _view(record)
        uow.commit()
        return view


# --- undo -------------------------------------------------------------------------------------------


def _undo_refusal(uow: UnitOfWork, spec: MergeEntity, record: MergeRecord) -> Any:
    """The survivor as it must be for an exact undo; otherwise a Conflict saying why not."""
    if record.undone_at is not None:
        raise Conflict(f"Diese Zusammenführung wurde bereits am {record.undone_at:%d.%m.%Y %H:%M} rückgängig gemacht.")
    survivor = uow.session.get(spec.model, record.survivor_id)
    if survivor is None:
        target = surviving_id(uow.session, spec.name, record.survivor_id)
        raise Conflict(
            f"{spec.label} {record.survivor_id} wurde inzwischen mit {spec.label} {target} zusammengeführt. "
            "Bitte zuerst diese spätere Zusammenführung rückgängig machen."
        )
    if survivor.version != record.survivor_before["version_after"]:
        raise Conflict(
            f"{spec.label} {record.survivor_id} wurde nach der Zusammenführung geändert. Ein Rückgängigmachen würde "
            "diese Änderungen überschreiben; bitte die Werte von Hand korrigieren."
        )
    if uow.session.get(spec.model, record.merged_id) is not None:
        raise Conflict(f"Die Nummer {record.merged_id} ist inzwischen an eine andere {spec.label} vergeben.")
    return survivor


def undo_merge(uow: UnitOfWork, merge_id: int, *, reason: str | None = None) -> MergeView:
    """Recreate the merged record with its id and values, restore the survivor, move the rows back."""
    with uow:
        uow.authorize(MERGE_PERMISSION)
        record = uow.session.get(MergeRecord, merge_id)
        if record is None:
            raise NotFound(f"Zusammenführung {merge_id} gibt es nicht.")
        spec = merge_entity(record.entity)
        survivor = _undo_refusal(uow, spec, record)
        uow.authorize(spec.write, owner_id=survivor.owner_id, check_owner=True)
        note = f"Zusammenführung #{merge_id} rückgängig gemacht" + (f": {reason}" if reason else "")
        before = _restored(uow, spec, record.survivor_id, record.survivor_before["values"])
        taken = record.survivor_before["taken_from_merged"]
        _apply_values(
            uow,
            spec,
            survivor,
            {f: before[f] for f in taken},
            expected_version=record.survivor_before["version_after"],
            reason=note,
        )
        merged_values = _restored(uow, spec, record.merged_id, record.merged_snapshot) | {"updated_at": uow.now}
        uow.session.execute(insert(spec.model.__table__).values(merged_values))
        restored = uow.session.get(spec.model, record.merged_id)
        uow.audit(
            entity=spec.name,
            entity_id=record.merged_id,
            action="restored",
            changes=audit.snapshot_changes(restored, spec.fields),
            reason=note,
            subject=spec.subject(record.merged_id),
        )
        for key, ids in record.relinked.items():
            table_name, column = key.split(".")
            table = Base.metadata.tables[table_name]
            moved = _move(uow, table, column, ids, source=record.survivor_id, target=record.merged_id)
            _audit_moves(uow, RELINKS.get(key), moved, record.survivor_id, record.merged_id, note)
        for hook in hooks_for(spec.name):
            ids = record.survivor_before.get("hooks", {}).get(hook.name, [])
            hook.on_undo(uow, record.survivor_id, record.merged_id, ids, note)
        demoted = record.survivor_before.get("demoted_primaries", [])
        restore_primaries(uow, Owner(spec.name, record.merged_id), demoted, note)
        uow.session.execute(delete(RecordAlias).where(RecordAlias.merge_id == record.id))
        _set_candidate_status(uow, spec, (record.survivor_id, record.merged_id), OPEN)
        record.undone_at = uow.now
        record.undone_by_id = uow.actor.user_id
        uow.audit(
            entity=spec.name,
            entity_id=record.survivor_id,
            action="merge_undone",
            changes=[audit.FieldChange("merged_id", record.merged_id, None)],
            reason=note,
        )
        uow.emit(
            f"crm.{spec.name}.merge_undone",
            entity=spec.name,
            entity_id=record.survivor_id,
            payload={"merge_id": record.id, "survivor_id": record.survivor_id, "merged_id": record.merged_id},
        )
        uow.session.flush()
        view = _view(record)
        uow.commit()
        return view


# --- history ----------------------------------------------------------------------------------------

MERGE_COLUMNS = [
    "id",
    "entity",
    "survivor_id",
    "survivor_label",
    "merged_id",
    "merged_label",
    "relinked",
    "merged_at",
    "merged_by",
    "undone_at",
]


def _snapshot_label(uow: UnitOfWork, spec: MergeEntity, record_id: int, snapshot: Mapping[str, Any]) -> str:
    """The merged record's name from its snapshot ('[gelöscht]' once the person's key was shredded)."""
    key = uow.session.scalar(
        select(PersonKey.key).where(PersonKey.subject_type == spec.name, PersonKey.subject_id == str(record_id))
    )
    return _label(spec, {f: decrypt(key, snapshot.get(f)) for f in spec.label_fields})


def list_merges(uow: UnitOfWork, entity: str | None = None, *, limit: int = 50) -> pd.DataFrame:
    """Recent merges, newest first, with the names of both records (for the history and undo)."""
    with uow:
        uow.authorize(MERGE_PERMISSION)
        stmt = (
            select(MergeRecord, User.display_name)
            .outerjoin(User, User.id == MergeRecord.merged_by_id)
            .order_by(MergeRecord.id.desc())
            .limit(limit)
        )
        if entity is not None:
            stmt = stmt.where(MergeRecord.entity == merge_entity(entity).name)
        rows = []
        for record, merged_by in uow.session.execute(stmt):
            spec = merge_entity(record.entity)
            survivor = uow.session.get(spec.model, record.survivor_id)
            rows.append(
                {
                    "id": record.id,
                    "entity": record.entity,
                    "survivor_id": record.survivor_id,
                    "survivor_label": _label(spec, {f: getattr(survivor, f) for f in spec.label_fields})
                    if survivor
                    else "",
                    "merged_id": record.merged_id,
                    "merged_label": _snapshot_label(uow, spec, record.merged_id, record.merged_snapshot),
                    "relinked": _view(record).relinked_count,
                    "merged_at": record.merged_at,
                    "merged_by": merged_by,
                    "undone_at": record.undone_at,
                }
            )
        return pd.DataFrame(rows, columns=MERGE_COLUMNS)
