"""Importing contacts and accounts: check a file against the rules, then write it in ONE transaction.

- `plan_import` checks without writing (the wizard's preview): mapping, every row, which external ids
  already exist, which companies have to be created, and what the user may change.
- `run_import` checks again (never trusting an earlier preview) and writes. Mode "all-or-nothing":
  any rejected row → nothing is written; mode "valid-rows": the valid rows are written, the rest is
  reported. Either way the data, the audit entries, the event and the `import_runs` row are committed
  together or not at all; a rejected attempt is recorded in its own small transaction.
- New records are bulk inserted with one `imported` audit entry each (see `bulk.audit_imported`);
  a row whose external id exists updates that record: only changed, non-empty fields, each audited
  field by field (personal fields encrypted with the person's key) with a `crm.<entity>.updated` event.
  An empty cell keeps the stored value.
- Address columns become one primary postal address (`addresses`, type "post") per record; the record's
  flat postcode/city/country (accounts also street) mirror it.
- With a `DoiOption` (contacts only, needs `consent.write`), every imported contact with an e-mail address
  gets a double opt-in request in the same transaction (core/imports/doi.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.errors import Conflict, ValidationFailed
from core.events import change_payload
from core.imports.bulk import (
    audit_imported,
    chunks,
    insert_columns,
    insert_rows,
    larger_page_cache,
    refresh_statistics,
    reserve_ids,
)
from core.imports.collector import collection_paused
from core.imports.doi import DoiOption, DoiOutcome, check_option, request_for_imported
from core.imports.fields import EntitySpec, auto_mapping, check_mapping, entity_spec
from core.imports.reading import SourceTable
from core.imports.rows import CleanRow, Issue, check_rows
from core.permissions import Scope
from core.subject_keys import Subject
from core.uow import UnitOfWork
from db.models import Account, Address, Contact, ImportRun

ALL_OR_NOTHING, VALID_ROWS = "all-or-nothing", "valid-rows"
MODES = (ALL_OR_NOTHING, VALID_ROWS)
DONE, REJECTED, PARTIAL = "abgeschlossen", "abgelehnt", "teilweise"
ADDRESS_PARTS = ("street", "house_number", "address_line2", "postcode", "city", "state")
PREVIEW_ROWS = 20

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Target:
    """Where an entity's rows go: model, audit entity name, the columns an import may set, the duplicate-check
    keys derived from them, and the address type the flat address fields mirror (core/addresses.py)."""

    model: type[Account] | type[Contact]
    entity: str
    columns: tuple[str, ...]
    personal: bool
    match_keys: Callable[[Mapping[str, Any]], dict[str, str | None]]
    address_type: str


TARGETS = {
    "contacts": Target(
        Contact,
        "contact",
        ("external_id", "account_id", "salutation", "title", "first_name", "last_name", "job_title", "email",
         "phone", "mobile", "birth_date", "postcode", "city", "country"),
        personal=True,
        match_keys=match_keys_for_contact,
        address_type="post",
    ),
    "accounts": Target(
        Account,
        "account",
        ("external_id", "name", "legal_form", "industry", "revenue_class", "employees", "website", "phone", "email",
         "street", "postcode", "city", "country", "notes"),
        personal=False,
        match_keys=match_keys_for_account,
        address_type="besuch",
    ),
}


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do; `rows` are the rows that would be written."""

    spec: EntitySpec
    file_name: str
    mapping: dict[str, str]
    ignored_columns: tuple[str, ...]
    rows_total: int
    rows: list[CleanRow]
    issues: list[Issue]
    existing: dict[str, dict[str, Any]]
    company_ids: dict[str, int | None]
    company_names: dict[str, str]
    notes: tuple[str, ...] = ()

    @property
    def rejected_rows(self) -> int:
        return len({issue.row for issue in self.issues})

    @property
    def to_update(self) -> int:
        return sum(1 for r in self.rows if r.values.get("external_id") in self.existing)

    @property
    def to_create(self) -> int:
        return len(self.rows) - self.to_update

    @property
    def with_email(self) -> int:
        """Rows whose record will have an e-mail address (from the file, or kept from the stored record)."""
        return sum(
            1 for r in self.rows
            if r.values.get("email") or (self.existing.get(r.values.get("external_id") or "") or {}).get("email")
        )

    @property
    def new_companies(self) -> list[str]:
        return [self.company_names[key] for key, account_id in self.company_ids.items() if account_id is None]


@dataclass(frozen=True)
class ImportResult:
    run_id: int
    entity: str
    mode: str
    status: str
    rows_total: int
    created: int
    updated: int
    unchanged: int
    rejected_rows: int
    companies_created: int
    issues: tuple[Issue, ...]
    notes: tuple[str, ...] = field(default=())
    doi_requested: int = 0

    def summary(self) -> str:
        label = entity_spec(self.entity).label
        if self.status == REJECTED and self.mode == ALL_OR_NOTHING:
            return (
                f"Import #{self.run_id} abgelehnt: {self.rejected_rows} von {self.rows_total} Zeilen fehlerhaft, "
                f"nichts wurde gespeichert ({len(self.issues)} Fehler im Bericht)."
            )
        if self.status == REJECTED:
            return f"Import #{self.run_id} abgelehnt: keine der {self.rows_total} Zeilen ist gültig, nichts wurde gespeichert."
        text = (
            f"Import #{self.run_id} {self.status}: {self.rows_total} Zeilen – {self.created} {label} angelegt, "
            f"{self.updated} geändert, {self.unchanged} unverändert, {self.rejected_rows} abgelehnt"
        )
        if self.companies_created:
            text += f", {self.companies_created} Firmen neu angelegt"
        if self.doi_requested:
            text += f", {self.doi_requested} Bestätigungs-E-Mails (Double-Opt-in) eingereiht"
        return text + "."


# ---------------------------------------------------------------------------------------------- checking


def plan_import(
    uow: UnitOfWork, table: SourceTable, *, entity: str, mapping: Mapping[str, str | None] | None = None
) -> ImportPlan:
    """Check the whole file against the rules and the database, without writing anything."""
    spec = entity_spec(entity)
    with collection_paused(), uow:
        uow.authorize(spec.permission)
        return _plan(uow, table, spec, mapping)


def _plan(uow: UnitOfWork, table: SourceTable, spec: EntitySpec, mapping: Mapping[str, str | None] | None) -> ImportPlan:
    used = check_mapping(spec, table.columns, auto_mapping(spec, table.columns) if mapping is None else mapping)
    column_of = {name: column for column, name in used.items()}
    rows, issues = check_rows(table, spec, used)
    target = TARGETS[spec.name]
    existing = _existing(uow, target, [r.values["external_id"] for r in rows if r.values.get("external_id")])
    rows, refused = _refuse_foreign_records(uow, spec, rows, existing, column_of.get("external_id", ""))
    issues += refused
    company_ids: dict[str, int | None] = {}
    company_names: dict[str, str] = {}
    if "company" in column_of:
        company_names = {r.values["company"].casefold(): r.values["company"] for r in rows if r.values.get("company")}
        company_ids = _company_ids(uow, company_names)
        rows, refused = _refuse_new_companies(uow, rows, company_ids, column_of["company"])
        issues += refused
        company_names = {r.values["company"].casefold(): r.values["company"] for r in rows if r.values.get("company")}
        company_ids = {key: company_ids[key] for key in company_names}
    ignored = tuple(c for c in table.columns if c not in used)
    notes = list(table.notes)
    if ignored:
        notes.append(f"Nicht importiert (keinem Feld zugeordnet): {', '.join(ignored)}.")
    return ImportPlan(
        spec=spec,
        file_name=table.file_name,
        mapping=used,
        ignored_columns=ignored,
        rows_total=table.size,
        rows=rows,
        issues=sorted(issues, key=lambda i: i.row),
        existing=existing,
        company_ids=company_ids,
        company_names=company_names,
        notes=tuple(notes),
    )


def _existing(uow: UnitOfWork, target: Target, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Current values of the records the file names by external id."""
    model = target.model
    columns = [model.id, model.version, model.owner_id, *(getattr(model, c) for c in target.columns)]
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(uow.session, sorted(set(external_ids))):
        for row in uow.session.execute(select(*columns).where(model.external_id.in_(chunk))).mappings():
            found[row["external_id"]] = dict(row)
    return found


def _refuse_foreign_records(
    uow: UnitOfWork, spec: EntitySpec, rows: list[CleanRow], existing: Mapping[str, dict[str, Any]], column: str
) -> tuple[list[CleanRow], list[Issue]]:
    """A user who may change only their own records cannot update someone else's through an import."""
    if uow.authorize(spec.permission) is not Scope.OWN:
        return rows, []
    kept: list[CleanRow] = []
    refused: list[Issue] = []
    for row in rows:
        current = existing.get(row.values.get("external_id") or "")
        if current is not None and current["owner_id"] != uow.actor.user_id:
            reason = f"Datensatz {current['id']} gehört jemand anderem; Sie dürfen nur eigene Datensätze ändern"
            refused.append(Issue(row.row, column, row.values["external_id"], reason))
        else:
            kept.append(row)
    return kept, refused


def _company_ids(uow: UnitOfWork, names: Mapping[str, str]) -> dict[str, int | None]:
    """Existing account per company name (exact, ignoring case; the oldest if several); None = to create.

    Compared in Python: SQLite's lower() ignores umlauts, so "MÜLLER GmbH" would not find "Müller GmbH".
    """
    if not names:
        return {}
    found: dict[str, int] = {}
    for account_id, name in uow.session.execute(select(Account.id, Account.name).order_by(Account.id)):
        key = name.casefold()
        if key in names:
            found.setdefault(key, account_id)
    return {key: found.get(key) for key in names}


def _refuse_new_companies(
    uow: UnitOfWork, rows: list[CleanRow], company_ids: Mapping[str, int | None], column: str
) -> tuple[list[CleanRow], list[Issue]]:
    if uow.actor.can("accounts.write") or all(v is not None for v in company_ids.values()):
        return rows, []
    kept: list[CleanRow] = []
    refused: list[Issue] = []
    for row in rows:
        company = row.values.get("company")
        if company and company_ids[company.casefold()] is None:
            refused.append(Issue(row.row, column, company, "Firma gibt es nicht, und Sie dürfen keine Firmen anlegen"))
        else:
            kept.append(row)
    return kept, refused


def preview_rows(table: SourceTable, spec: EntitySpec, mapping: Mapping[str, str], limit: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows as they would be read: one column per mapped field, headed by the field's label."""
    index_of = {c: i for i, c in enumerate(table.columns)}
    data = {
        spec.field(name).label: [cells[index_of[column]] if index_of[column] < len(cells) else "" for cells in table.rows[:limit]]
        for column, name in mapping.items()
    }
    return pd.DataFrame({"Zeile": table.row_numbers[:limit]} | data)


def report_csv(issues: Sequence[Issue]) -> bytes:
    """The validation report as a CSV German Excel opens directly (';', UTF-8 with BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Zeile", "Spalte", "Wert", "Grund"])
    writer.writerows([i.row, i.column, i.value, i.reason] for i in issues)
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------- writing


def run_import(
    uow: UnitOfWork,
    table: SourceTable,
    *,
    entity: str,
    mode: str = ALL_OR_NOTHING,
    mapping: Mapping[str, str | None] | None = None,
    progress: Progress | None = None,
    doi: DoiOption | None = None,
) -> ImportResult:
    """Check and write the file in one transaction; rejected attempts are recorded, never half-written.

    With `doi`, every imported contact with an e-mail address gets a double opt-in request for its purpose.
    """
    if mode not in MODES:
        raise ValidationFailed({"mode": f"unbekannter Modus „{mode}“ (erlaubt: {', '.join(MODES)})"})
    spec = entity_spec(entity)
    report = progress or (lambda share, text: None)
    with collection_paused():
        return _run(uow, table, spec, mode, mapping, report, doi)


def _run(
    uow: UnitOfWork,
    table: SourceTable,
    spec: EntitySpec,
    mode: str,
    mapping: Mapping[str, str | None] | None,
    report: Progress,
    doi: DoiOption | None,
) -> ImportResult:
    with uow:
        uow.authorize(spec.permission)
        purpose_name = check_option(uow, spec.name, doi) if doi is not None else ""
        report(0.05, "Zeilen werden geprüft …")
        plan = _plan(uow, table, spec, mapping)
        if not (plan.issues and (mode == ALL_OR_NOTHING or not plan.rows)):
            try:
                result = _write(uow, plan, mode, report, doi, purpose_name)
                uow.commit()
            except IntegrityError as exc:
                raise Conflict(
                    "Import abgebrochen, nichts wurde gespeichert: ein Datensatz wurde gleichzeitig von jemand anderem "
                    f"angelegt ({str(exc.orig).splitlines()[0]}). Bitte den Import wiederholen."
                ) from None
            report(1.0, "Fertig.")
            return result
    return _record_rejection(uow, plan, mode)


def _record_rejection(uow: UnitOfWork, plan: ImportPlan, mode: str) -> ImportResult:
    with uow:
        run = _start_run(uow, plan, mode, status=REJECTED)
        run.finished_at = uow.now
        payload = {"run_id": run.id, "entity": plan.spec.name, "mode": mode, "rows_total": plan.rows_total,
                   "rows_rejected": plan.rejected_rows}
        uow.emit("crm.import.rejected", entity="import", entity_id=run.id, payload=payload)
        uow.commit()
        return _result(run, plan, mode, created=0, updated=0, unchanged=0, companies=0)


def _start_run(uow: UnitOfWork, plan: ImportPlan, mode: str, *, status: str) -> ImportRun:
    run = ImportRun(
        entity=plan.spec.name,
        file_name=plan.file_name[:255],
        mode=mode,
        status=status,
        rows_total=plan.rows_total,
        rows_created=0,
        rows_updated=0,
        rows_rejected=plan.rejected_rows,
        report=[i.as_dict() for i in plan.issues],
        started_at=uow.now,
        finished_at=None,
        started_by_id=uow.actor.user_id,
    )
    uow.session.add(run)
    uow.session.flush()
    return run


def _result(
    run: ImportRun,
    plan: ImportPlan,
    mode: str,
    *,
    created: int,
    updated: int,
    unchanged: int,
    companies: int,
    doi: DoiOutcome | None = None,
) -> ImportResult:
    return ImportResult(
        run_id=run.id,
        entity=plan.spec.name,
        mode=mode,
        status=run.status,
        rows_total=plan.rows_total,
        created=created,
        updated=updated,
        unchanged=unchanged,
        rejected_rows=plan.rejected_rows,
        companies_created=companies,
        issues=tuple(plan.issues),
        notes=plan.notes + (doi.notes() if doi else ()),
        doi_requested=doi.requested if doi else 0,
    )


def _write(
    uow: UnitOfWork, plan: ImportPlan, mode: str, report: Progress, doi: DoiOption | None, purpose_name: str
) -> ImportResult:
    # Writing the run first also takes SQLite's write lock, which `reserve_ids` relies on.
    run = _start_run(uow, plan, mode, status=PARTIAL if plan.issues else DONE)
    reason = f"Import #{run.id}"
    target = TARGETS[plan.spec.name]
    report(0.2, "Firmen werden angelegt …")
    company_ids = _create_companies(uow, plan, reason)
    new_rows = [r for r in plan.rows if r.values.get("external_id") not in plan.existing]
    old_rows = [r for r in plan.rows if r.values.get("external_id") in plan.existing]
    report(0.35, f"{len(new_rows)} {plan.spec.label} werden angelegt …")
    with larger_page_cache(uow.session):
        created_ids = _insert_records(uow, target, new_rows, company_ids)
        report(0.75, "Änderungsprotokoll wird geschrieben …")
        audit_imported(uow, entity=target.entity, entity_ids=created_ids, reason=reason)
    report(0.85, f"{len(old_rows)} vorhandene {plan.spec.label} werden abgeglichen …")
    updated = _update_records(uow, target, old_rows, plan.existing, company_ids, reason)
    outcome: DoiOutcome | None = None
    if doi is not None:
        report(0.9, "Bestätigungs-E-Mails (Double-Opt-in) werden eingereiht …")
        rows_by_contact = dict(zip(created_ids, (r.row for r in new_rows)))
        rows_by_contact |= {plan.existing[r.values["external_id"]]["id"]: r.row for r in old_rows}
        outcome = request_for_imported(uow, doi, purpose_name, rows_by_contact)
    refresh_statistics(uow.session, (target.model, Address, Account), len(created_ids))
    run.rows_created = len(created_ids)
    run.rows_updated = updated
    run.finished_at = uow.clock()
    payload = {
        "run_id": run.id,
        "entity": plan.spec.name,
        "mode": mode,
        "status": run.status,
        "rows_total": plan.rows_total,
        "rows_created": len(created_ids),
        "rows_updated": updated,
        "rows_unchanged": len(old_rows) - updated,
        "rows_rejected": plan.rejected_rows,
        "companies_created": len(plan.new_companies),
    }
    if outcome is not None:
        payload["doi_requested"] = outcome.requested
    uow.emit("crm.import.completed", entity="import", entity_id=run.id, payload=payload)
    uow.session.flush()
    return _result(
        run, plan, mode, created=len(created_ids), updated=updated, unchanged=len(old_rows) - updated,
        companies=len(plan.new_companies), doi=outcome,
    )


def _stamp(uow: UnitOfWork) -> dict[str, Any]:
    return {"version": 1, "created_at": uow.now, "updated_at": uow.now}


def _create_companies(uow: UnitOfWork, plan: ImportPlan, reason: str) -> dict[str, int]:
    """Accounts for company names that do not exist yet; returns the id for every company name in the file."""
    new_keys = [key for key, account_id in plan.company_ids.items() if account_id is None]
    ids = reserve_ids(uow.session, Account, len(new_keys))
    blank = dict.fromkeys(TARGETS["accounts"].columns)
    rows = []
    for key, account_id in zip(new_keys, ids):
        values = blank | {"name": plan.company_names[key], "country": "DE"}
        rows.append({"id": account_id, **values, **match_keys_for_account(values), "owner_id": uow.actor.user_id, **_stamp(uow)})
    insert_rows(uow.session, Account, rows)
    audit_imported(uow, entity="account", entity_ids=ids, reason=reason)
    return {key: account_id for key, account_id in plan.company_ids.items() if account_id is not None} | dict(zip(new_keys, ids))


def _record_values(target: Target, values: Mapping[str, Any], company_ids: Mapping[str, int]) -> dict[str, Any]:
    """The record's columns from a row's values (None where the file says nothing)."""
    result = {c: values.get(c) for c in target.columns if c not in ("account_id", "street")}
    if target.model is Contact:
        company = values.get("company")
        result["account_id"] = company_ids[company.casefold()] if company else None
    else:
        street = " ".join(p for p in (values.get("street"), values.get("house_number")) if p)
        result["street"] = street[:200] or None
    return result


def _address_values(values: Mapping[str, Any]) -> dict[str, Any] | None:
    parts = {p: values.get(p) for p in ADDRESS_PARTS}
    if not any(parts.values()):
        return None
    return parts | {"country": values.get("country") or "DE"}


def _record_columns(target: Target, rows: Sequence[Mapping[str, Any]], company_ids: Mapping[str, int]) -> dict[str, list[Any]]:
    """`_record_values` for many rows at once, column by column (country defaults to DE)."""
    columns = {c: [values.get(c) for values in rows] for c in target.columns if c not in ("account_id", "street", "country")}
    columns["country"] = [values.get("country") or "DE" for values in rows]
    if target.model is Contact:
        account_of: dict[str, int] = {}
        columns["account_id"] = [
            (account_of[c] if c in account_of else account_of.setdefault(c, company_ids[c.casefold()])) if c else None
            for c in (values.get("company") for values in rows)
        ]
    else:
        streets = (" ".join(p for p in (values.get("street"), values.get("house_number")) if p) for values in rows)
        columns["street"] = [street[:200] or None for street in streets]
    return columns


def _key_columns(target: Target, columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """The duplicate-check keys (`Target.match_keys`) of every record (at least one), column by column."""
    names = list(columns)
    match_keys = target.match_keys
    keys = [match_keys(dict(zip(names, record))) for record in zip(*columns.values())]
    return {name: [k[name] for k in keys] for name in keys[0]}


def _address_columns(rows: Sequence[Mapping[str, Any]], ids: Sequence[int], countries: Sequence[str]) -> dict[str, list[Any]]:
    """The primary address of each record that has any address part (`_address_values`), column by column."""
    parts = {p: [values.get(p) for values in rows] for p in ADDRESS_PARTS}
    wanted = [i for i, present in enumerate(zip(*parts.values())) if any(present)]
    if len(wanted) == len(rows):
        return parts | {"country": list(countries), "owner": list(ids)}
    return {name: [column[i] for i in wanted] for name, column in (parts | {"country": countries, "owner": ids}).items()}


def _insert_records(uow: UnitOfWork, target: Target, rows: Sequence[CleanRow], company_ids: Mapping[str, int]) -> list[int]:
    if not rows:
        return []
    session = uow.session
    ids = reserve_ids(session, target.model, len(rows))
    stamp = _stamp(uow)
    values = [row.values for row in rows]
    columns = _record_columns(target, values, company_ids)
    columns |= _key_columns(target, columns)
    insert_columns(session, target.model, {"id": ids, **columns}, len(ids), constants={"owner_id": uow.actor.user_id, **stamp})
    addresses = _address_columns(values, ids, columns["country"])
    owner_column, other_column = ("contact_id", "account_id") if target.model is Contact else ("account_id", "contact_id")
    addresses[owner_column] = addresses.pop("owner")
    constants = {other_column: None, "type": target.address_type, "is_primary": True, "valid_from": None, "valid_until": None, **stamp}
    insert_columns(session, Address, addresses, len(addresses[owner_column]), constants=constants)
    return ids


def _update_records(
    uow: UnitOfWork,
    target: Target,
    rows: Sequence[CleanRow],
    existing: Mapping[str, dict[str, Any]],
    company_ids: Mapping[str, int],
    reason: str,
) -> int:
    """Apply changed, non-empty values to existing records; returns how many records changed."""
    if not rows:
        return 0
    owner_column = Address.contact_id if target.model is Contact else Address.account_id
    ids = [existing[r.values["external_id"]]["id"] for r in rows]
    addresses = _primary_addresses(uow, owner_column, target.address_type, ids)
    changed = 0
    for row in rows:
        current = existing[row.values["external_id"]]
        values = {k: v for k, v in _record_values(target, row.values, company_ids).items() if v is not None}
        changes = [
            audit.FieldChange(f, current[f], v, target.personal) for f, v in values.items() if current[f] != v
        ]
        address_changed = _update_address(uow, target, owner_column, current["id"], addresses.get(current["id"]), row.values, reason)
        if changes:
            _apply_record_changes(uow, target, current, changes, reason)
        changed += bool(changes or address_changed)
    return changed


def _primary_addresses(uow: UnitOfWork, owner_column: Any, address_type: str, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    columns = [Address.id, Address.version, owner_column.label("owner"), Address.country, *(getattr(Address, p) for p in ADDRESS_PARTS)]
    for chunk in chunks(uow.session, sorted(ids)):
        stmt = select(*columns).where(owner_column.in_(chunk), Address.type == address_type, Address.is_primary.is_(True))
        for row in uow.session.execute(stmt).mappings():
            found.setdefault(row["owner"], dict(row))
    return found


def _apply_record_changes(
    uow: UnitOfWork, target: Target, current: Mapping[str, Any], changes: Sequence[audit.FieldChange], reason: str
) -> None:
    model = target.model
    values = {c.field: c.new for c in changes}
    keys = target.match_keys({c: current[c] for c in target.columns} | values)
    result = uow.session.execute(
        update(model)
        .where(model.id == current["id"], model.version == current["version"])
        .values(**values, **keys, version=current["version"] + 1, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"Import abgebrochen, nichts wurde gespeichert: Datensatz {current['id']} wurde währenddessen geändert. "
            "Bitte den Import wiederholen."
        )
    subject = Subject(target.entity, str(current["id"])) if target.personal else None
    uow.audit(entity=target.entity, entity_id=current["id"], action="updated", changes=changes, reason=reason, subject=subject)
    uow.emit(
        f"crm.{target.entity}.updated",
        entity=target.entity,
        entity_id=current["id"],
        payload=change_payload({c.field: c.old for c in changes}, values) | {"version": current["version"] + 1},
    )


def _update_address(
    uow: UnitOfWork,
    target: Target,
    owner_column: Any,
    record_id: int,
    current: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    reason: str,
) -> bool:
    """Create or update the record's primary postal address from the row; True if anything changed."""
    wanted = _address_values(values)
    if wanted is None:
        return False
    subject = Subject(target.entity, str(record_id)) if target.personal else None
    if current is None:
        row = {owner_column.key: record_id, "type": target.address_type, **wanted, "is_primary": True, **_stamp(uow)}
        address_id = uow.session.scalar(Address.__table__.insert().values(**row).returning(Address.id))
        uow.audit(entity="address", entity_id=address_id, action="imported", reason=reason, subject=subject)
        return True
    provided = {k: v for k, v in wanted.items() if v is not None and (k != "country" or values.get("country"))}
    changes = [
        audit.FieldChange(f, current[f], v, audit.is_personal(Address, f)) for f, v in provided.items() if current[f] != v
    ]
    if not changes:
        return False
    uow.session.execute(
        update(Address)
        .where(Address.id == current["id"])
        .values(**{c.field: c.new for c in changes}, version=current["version"] + 1, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    uow.audit(entity="address", entity_id=current["id"], action="updated", changes=changes, reason=reason, subject=subject)
    return True
