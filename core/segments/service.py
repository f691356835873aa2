"""Segments as users see them: create, change and delete; static members by hand or CSV upload; the members
(cursor pages), size history and joins/leaves; "why is this contact in the segment?"; live count and sample for a
rule tree while it is being built.

Every write is audited and announced (`crm.segment.*`) in its transaction. Rules are validated with
`parse_rules` and stored normalised; a segment may not reference itself through other segments (Zirkelbezug).
Membership is computed by `core.segments.recalc`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from pydantic import Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.consent.vocabulary import CHANNELS
from core.dedupe.normalize import canonical_email
from core.errors import Conflict, ValidationFailed
from core.formatting import fmt_date, fmt_money, fmt_number
from core.imports.fields import header_key
from core.imports.reading import FILE_FIELD, read_csv
from core.records import create_record, delete_record, update_record
from core.segments import compiler
from core.segments.catalogue import ConditionSpec, Shape, catalogue
from core.segments.conditions import ACTIVITY_TYPES
from core.segments.recalc import (
    apply_diff,
    close_run,
    dependency_graph,
    find_cycle,
    load_segment,
    references,
    start_run,
)
from core.segments.rules import Condition, Group, Node, parse_rules
from core.segments.wording import UNITS, Lang, language, phrases
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import Account, Contact, Segment, SegmentChange, SegmentMember, SegmentRun

ENTITY = "segment"
FIELDS = ("name", "description", "kind", "rules", "member_count")
EDITABLE = ("name", "description", "rules")
KINDS = {"dynamic": ("Dynamisch", "Dynamic"), "static": ("Statisch", "Static")}
MAX_PAGE = 1_000
TREND_RUNS = 10
MAX_PROBLEMS = 100
EMAIL_HEADERS = {"email", "emailadresse", "mail"}
ID_HEADERS = {"id", "contactid", "kontaktid", "kontakt", "kontaktnr", "kontaktnummer"}


class SegmentInput(InputModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    kind: Literal["dynamic", "static"] = "dynamic"
    rules: dict[str, Any] | None = None


@dataclass(frozen=True)
class SegmentView:
    id: int
    name: str
    description: str | None
    kind: str
    rules: dict[str, Any] | None
    member_count: int
    last_refreshed_at: dt.datetime | None
    refresh_error: str | None
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    references: dict[int, str]
    used_by: dict[int, str]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Segment.id, Segment.name).where(Segment.id.in_(ids)).order_by(Segment.id))
    return dict(rows.tuples().all())


def _view(session: Session, segment: Segment) -> SegmentView:
    graph = dependency_graph(session)
    used_by = {other for other, targets in graph.items() if segment.id in targets}
    return SegmentView(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        kind=segment.kind,
        rules=segment.rules,
        member_count=segment.member_count,
        last_refreshed_at=segment.last_refreshed_at,
        refresh_error=segment.refresh_error,
        created_by=segment.created_by,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
        version=segment.version,
        references=_names(session, references(segment.rules)),
        used_by=_names(session, used_by),
    )


# --- checks --------------------------------------------------------------------------------------------------------


def _check_name(session: Session, name: str, segment_id: int | None) -> None:
    same = select(Segment.id).where(func.lower(Segment.name) == name.lower())
    if segment_id is not None:
        same = same.where(Segment.id != segment_id)
    if session.scalar(same.limit(1)) is not None:
        raise Conflict(f"Ein Segment mit dem Namen „{name}“ gibt es bereits.")


def _checked_rules(session: Session, data: SegmentInput, segment_id: int | None) -> dict[str, Any] | None:
    """The normalised rules: required for a dynamic segment, refused for a static one; the segments they name
    must exist and must not lead back to this one."""
    if data.kind == "static":
        if data.rules is not None:
            raise ValidationFailed(
                {"rules": "Ein statisches Segment hat keine Regel; Mitglieder kommen von Hand oder per Datei dazu"}
            )
        return None
    if data.rules is None:
        raise ValidationFailed({"rules": "Ein dynamisches Segment braucht eine Regel"})
    rules = parse_rules(data.rules).model_dump(mode="json", exclude_none=True)
    graph = dependency_graph(session)
    named = references(rules)
    missing = sorted(named - set(graph))
    if missing:
        raise ValidationFailed({"rules": f"Segment {', '.join(map(str, missing))} gibt es nicht"})
    if segment_id is not None:
        graph[segment_id] = named
        cycle = find_cycle(graph, segment_id)
        if cycle:
            labels = _names(session, set(cycle)) | {segment_id: data.name}
            raise ValidationFailed({"rules": "Zirkelbezug: " + " → ".join(labels[i] for i in cycle)})
    return rules


# --- create, change, delete ----------------------------------------------------------------------------------------


def create_segment(
    uow: UnitOfWork,
    *,
    name: str,
    kind: str = "dynamic",
    rules: Mapping[str, Any] | Group | None = None,
    description: str | None = None,
) -> SegmentView:
    """A new segment without members (a recalculation or static additions fill it)."""
    tree = rules.model_dump(mode="json", exclude_none=True) if isinstance(rules, Group) else rules
    data = parse(SegmentInput, {"name": name, "kind": kind, "rules": tree, "description": description})
    with uow:
        uow.authorize("segments.write")
        _check_name(uow.session, data.name, None)
        segment = Segment(
            name=data.name,
            description=data.description,
            kind=data.kind,
            rules=_checked_rules(uow.session, data, None),
            created_by=uow.actor.user_id,
            member_count=0,
            version=1,
        )
        create_record(uow, segment, entity=ENTITY, fields=FIELDS)
        view = _view(uow.session, segment)
        uow.commit()
        return view


def update_segment(
    uow: UnitOfWork, segment_id: int, values: Mapping[str, Any], *, expected_version: int | None
) -> SegmentView:
    """Change name, description or rules (the kind stays); `expected_version` is the version the user saw."""
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise ValidationFailed({key: "kann nicht geändert werden" for key in unknown})
    values = {k: v.model_dump(mode="json", exclude_none=True) if isinstance(v, Group) else v for k, v in values.items()}
    with uow:
        uow.authorize("segments.write")
        segment = load_segment(uow, segment_id)
        current = {"name": segment.name, "description": segment.description, "rules": segment.rules}
        data = parse(SegmentInput, current | dict(values) | {"kind": segment.kind})
        _check_name(uow.session, data.name, segment_id)
        rules = _checked_rules(uow.session, data, segment_id)
        update_record(
            uow,
            segment,
            {"name": data.name, "description": data.description, "rules": rules},
            entity=ENTITY,
            expected_version=expected_version,
        )
        view = _view(uow.session, segment)
        uow.commit()
        return view


def delete_segment(uow: UnitOfWork, segment_id: int, *, expected_version: int | None = None) -> None:
    """Delete a segment with its membership and history; refused while another segment's rules name it."""
    with uow:
        uow.authorize("segments.write")
        segment = load_segment(uow, segment_id)
        users = sorted(other for other, targets in dependency_graph(uow.session).items() if segment_id in targets)
        if users:
            names = ", ".join(f"„{name}“" for name in _names(uow.session, set(users)).values())
            by = "Segment" if len(users) == 1 else "den Segmenten"
            raise Conflict(f"Segment „{segment.name}“ wird von {by} {names} verwendet und kann nicht gelöscht werden.")
        delete_record(uow, segment, entity=ENTITY, fields=FIELDS, expected_version=expected_version)
        uow.commit()


# --- static members ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberChange:
    """What adding or removing members did: `changed` contacts joined (or left), `unchanged` already were (or were
    not) members, `unknown` ids are no contacts; `size` afterwards."""

    changed: int
    unchanged: int
    unknown: tuple[int, ...]
    size: int


def _static_segment(uow: UnitOfWork, segment_id: int, *, lock: bool = False) -> Segment:
    segment = load_segment(uow, segment_id, lock=lock)
    if segment.kind != "static":
        raise Conflict(
            f"Segment „{segment.name}“ ist dynamisch: seine Mitglieder ergeben sich aus der Regel, nicht von Hand."
        )
    return segment


def _existing(session: Session, column: Any, ids: Sequence[int], *where: Any) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), MAX_PAGE):
        chunk = ids[start : start + MAX_PAGE]
        found.update(session.scalars(select(column).where(column.in_(chunk), *where)))
    return found


def _change_members(
    uow: UnitOfWork, segment_id: int, contact_ids: Sequence[int], *, add: bool, reason: str, action: str
) -> MemberChange:
    ids = sorted(set(contact_ids))
    segment = _static_segment(uow, segment_id, lock=True)
    known = _existing(uow.session, Contact.id, ids)
    members = _existing(uow.session, SegmentMember.contact_id, sorted(known), SegmentMember.segment_id == segment_id)
    changed = sorted(known - members) if add else sorted(members)
    if not changed:
        return MemberChange(0, len(known), tuple(sorted(set(ids) - known)), segment.member_count)
    run = start_run(uow, segment, reason)
    apply_diff(uow, run, changed if add else [], [] if add else changed)
    joined, left = (len(changed), 0) if add else (0, len(changed))
    view = close_run(uow, segment, run, joined=joined, left=left, action=action)
    return MemberChange(len(changed), len(known) - len(changed), tuple(sorted(set(ids) - known)), view.size)


def add_static_members(uow: UnitOfWork, segment_id: int, contact_ids: Sequence[int]) -> MemberChange:
    """Add contacts to a static segment by hand (recorded as a run "manual")."""
    with uow:
        uow.authorize("segments.write")
        result = _change_members(uow, segment_id, contact_ids, add=True, reason="manual", action="members_added")
        uow.commit()
        return result


def remove_static_members(uow: UnitOfWork, segment_id: int, contact_ids: Sequence[int]) -> MemberChange:
    """Remove contacts from a static segment (recorded as a run "manual")."""
    with uow:
        uow.authorize("segments.write")
        result = _change_members(uow, segment_id, contact_ids, add=False, reason="manual", action="members_removed")
        uow.commit()
        return result


@dataclass(frozen=True)
class MemberImport:
    """An uploaded member list: data rows read, contacts added, already members, rows without a contact (first
    100 named, German, with their row number)."""

    rows: int
    added: int
    already: int
    unknown: int
    problems: tuple[str, ...]
    size: int


def _import_column(columns: Sequence[str]) -> tuple[int, str]:
    keys = [header_key(column) for column in columns]
    for wanted, kind in ((ID_HEADERS, "id"), (EMAIL_HEADERS, "email")):
        for index, key in enumerate(keys):
            if key in wanted:
                return index, kind
    raise ValidationFailed({FILE_FIELD: "Die Datei braucht eine Spalte „E-Mail“ oder „Kontakt-ID“."})


def _contacts_by_email(session: Session, addresses: Sequence[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for start in range(0, len(addresses), MAX_PAGE):
        chunk = addresses[start : start + MAX_PAGE]
        rows = session.execute(
            select(Contact.match_email, Contact.id).where(Contact.match_email.in_(chunk)).order_by(Contact.id)
        )
        for address, contact_id in rows:
            found.setdefault(address, []).append(contact_id)
    return found


def _row_key(cell: str, kind: str) -> int | str | None:
    """The contact number or the canonical address in a cell; None when the cell holds neither."""
    if kind == "id":
        return int(cell) if cell.isdigit() else None
    return canonical_email(cell)


def _resolve_rows(session: Session, cells: list[tuple[int, str]], kind: str) -> tuple[list[int], list[str]]:
    """(contact ids, problems by row) for (row number, cell) pairs of the id or e-mail column."""
    what = "Kontaktnummer" if kind == "id" else "E-Mail-Adresse"
    problems: list[tuple[int, str]] = []
    wanted: list[tuple[int, str, Any]] = []
    for row, cell in cells:
        key = _row_key(cell, kind)
        if key is None:
            problems.append((row, f"„{cell}“ ist keine {what}"))
        else:
            wanted.append((row, cell, key))
    keys = sorted({key for _, _, key in wanted})
    if kind == "id":
        found = {key: [key] for key in _existing(session, Contact.id, keys)}
    else:
        found = _contacts_by_email(session, keys)
    ids: list[int] = []
    for row, cell, key in wanted:
        contacts = found.get(key, [])
        if len(contacts) == 1:
            ids.append(contacts[0])
        elif not contacts:
            problems.append((row, f"kein Kontakt mit der {what} {cell}"))
        else:
            numbers = ", ".join(map(str, contacts))
            problems.append((row, f"{len(contacts)} Kontakte haben die Adresse {cell} (Nummern {numbers})"))
    return ids, [f"Zeile {row}: {text}" for row, text in sorted(problems)]


def import_static_members(
    uow: UnitOfWork, segment_id: int, data: bytes, *, file_name: str = "mitglieder.csv"
) -> MemberImport:
    """Add the contacts of a CSV file (a column „E-Mail“ or „Kontakt-ID“) to a static segment. Rows without
    exactly one contact are named in the result; an address that several contacts share is not guessed."""
    table = read_csv(data, file_name)
    index, kind = _import_column(table.columns)
    cells = [
        (number, row[index].strip())
        for number, row in zip(table.row_numbers, table.rows, strict=True)
        if index < len(row) and row[index].strip()
    ]
    with uow:
        uow.authorize("segments.write")
        _static_segment(uow, segment_id)
        ids, problems = _resolve_rows(uow.session, cells, kind)
        result = _change_members(uow, segment_id, ids, add=True, reason="import", action="members_imported")
        uow.commit()
    return MemberImport(
        rows=len(cells),
        added=result.changed,
        already=len(set(ids)) - result.changed,
        unknown=len(problems),
        problems=tuple(problems[:MAX_PROBLEMS]),
        size=result.size,
    )


# --- reads ---------------------------------------------------------------------------------------------------------


def get_segment(uow: UnitOfWork, segment_id: int) -> SegmentView:
    with uow:
        uow.authorize("segments.read")
        return _view(uow.session, load_segment(uow, segment_id))


LIST_COLUMNS = ["id", "name", "kind", "description", "size", "last_refreshed_at", "refresh_error", "trend"]


def _trends(session: Session) -> dict[int, list[int]]:
    """Sizes after the last TREND_RUNS runs of every segment, oldest first."""
    number = func.row_number().over(
        partition_by=SegmentRun.segment_id, order_by=(SegmentRun.started_at.desc(), SegmentRun.id.desc())
    )
    ranked = select(SegmentRun.segment_id, SegmentRun.size, SegmentRun.id, number.label("n")).subquery()
    rows = session.execute(
        select(ranked.c.segment_id, ranked.c.size)
        .where(ranked.c.n <= TREND_RUNS)
        .order_by(ranked.c.segment_id, ranked.c.n.desc())
    )
    trends: dict[int, list[int]] = {}
    for segment_id, size in rows:
        trends.setdefault(segment_id, []).append(size)
    return trends


def list_segments(uow: UnitOfWork) -> pd.DataFrame:
    """All segments by name: kind, size, last refresh (and its error), trend = sizes of the last 10 runs."""
    with uow:
        uow.authorize("segments.read")
        trends = _trends(uow.session)
        rows = [
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "description": s.description,
                "size": s.member_count,
                "last_refreshed_at": s.last_refreshed_at,
                "refresh_error": s.refresh_error,
                "trend": trends.get(s.id, []),
            }
            for s in uow.session.scalars(select(Segment).order_by(Segment.name))
        ]
        return pd.DataFrame(rows, columns=LIST_COLUMNS)


@dataclass(frozen=True)
class MemberRow:
    contact_id: int
    name: str
    email: str | None
    company: str | None
    joined_at: dt.datetime


def members_page(
    uow: UnitOfWork, segment_id: int, *, after_contact_id: int | None = None, limit: int = 50
) -> tuple[list[MemberRow], int | None]:
    """A keyset page of members by contact id and the id to continue after (None on the last page)."""
    limit = max(1, min(limit, MAX_PAGE))
    with uow:
        uow.authorize("segments.read")
        uow.authorize("contacts.read")  # names and addresses: an API key with segments.read alone sees counts only
        load_segment(uow, segment_id)
        stmt = _members_statement().where(SegmentMember.segment_id == segment_id)
        if after_contact_id is not None:
            stmt = stmt.where(SegmentMember.contact_id > after_contact_id)
        rows = uow.session.execute(stmt.order_by(SegmentMember.contact_id).limit(limit + 1)).all()
    page = [
        MemberRow(r.contact_id, f"{r.first_name} {r.last_name}".strip(), r.email, r.company, r.joined_at) for r in rows
    ]
    next_after = page[limit - 1].contact_id if len(page) > limit else None
    return page[:limit], next_after


def _members_statement() -> Select[Any]:
    return (
        select(
            SegmentMember.contact_id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Account.name.label("company"),
            SegmentMember.joined_at,
        )
        .join(Contact, Contact.id == SegmentMember.contact_id)
        .outerjoin(Account, Account.id == Contact.account_id)
    )


HISTORY_COLUMNS = ["run_id", "started_at", "reason", "size", "joined", "left"]


def member_history(uow: UnitOfWork, segment_id: int) -> pd.DataFrame:
    """Size after every run, oldest first (the size history chart)."""
    with uow:
        uow.authorize("segments.read")
        load_segment(uow, segment_id)
        rows = uow.session.execute(
            select(
                SegmentRun.id,
                SegmentRun.started_at,
                SegmentRun.reason,
                SegmentRun.size,
                SegmentRun.joined,
                SegmentRun.left,
            )
            .where(SegmentRun.segment_id == segment_id)
            .order_by(SegmentRun.started_at, SegmentRun.id)
        ).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=HISTORY_COLUMNS)


CHANGE_COLUMNS = ["id", "at", "change", "contact_id", "name", "run_id"]


def changes(uow: UnitOfWork, segment_id: int, *, limit: int = 200) -> pd.DataFrame:
    """Joins and leaves, newest first (`name` is empty for a contact deleted since)."""
    with uow:
        uow.authorize("segments.read")
        load_segment(uow, segment_id)
        rows = uow.session.execute(
            select(
                SegmentChange.id,
                SegmentChange.at,
                SegmentChange.change,
                SegmentChange.contact_id,
                Contact.first_name,
                Contact.last_name,
                SegmentChange.run_id,
            )
            .outerjoin(Contact, Contact.id == SegmentChange.contact_id)
            .where(SegmentChange.segment_id == segment_id)
            .order_by(SegmentChange.at.desc(), SegmentChange.id.desc())
            .limit(max(1, min(limit, MAX_PAGE)))
        ).all()
        records = [
            (r.id, r.at, r.change, r.contact_id, f"{r.first_name} {r.last_name}" if r.first_name else None, r.run_id)
            for r in rows
        ]
        return pd.DataFrame(records, columns=CHANGE_COLUMNS)


# --- live preview while building -----------------------------------------------------------------------------------


def count_preview(uow: UnitOfWork, rules: Mapping[str, Any] | Group, *, at: dt.datetime | None = None) -> int:
    """How many contacts a rule tree matches now (validated first; counted in the database)."""
    with uow:
        uow.authorize("segments.read")
        return compiler.count(uow.session, rules, at=at or uow.now)


def sample_preview(
    uow: UnitOfWork, rules: Mapping[str, Any] | Group, *, limit: int = 10, at: dt.datetime | None = None
) -> list[compiler.SampleMember]:
    """The first matching contacts (by id) with their company."""
    with uow:
        uow.authorize("segments.read")
        uow.authorize("contacts.read")
        return compiler.sample(uow.session, rules, at=at or uow.now, limit=max(1, min(limit, 100)))


# --- why is a contact a member -------------------------------------------------------------------------------------


def why_member(uow: UnitOfWork, segment_id: int, contact_id: int, *, lang: Lang = "de") -> list[str]:
    """The conditions of the segment's rules that the contact meets now, as plain sentences in `lang` (a condition
    inside a negated group counts when it is NOT met). A static segment answers with the date the contact was
    added."""
    words = phrases(lang)
    with uow:
        uow.authorize("segments.read")
        segment = load_segment(uow, segment_id)
        session = uow.session
        if segment.kind == "static":
            joined = session.scalar(
                select(SegmentMember.joined_at).where(
                    SegmentMember.segment_id == segment_id, SegmentMember.contact_id == contact_id
                )
            )
            return [] if joined is None else [words["added_by_hand"].format(date=fmt_date(joined, language(lang)))]
        reasons: list[str] = []
        for condition, negated in _leaves(parse_rules(segment.rules or {})):
            if _meets(session, condition, contact_id, uow.now) != negated:
                sentence = describe_condition(session, condition, lang=lang)
                reasons.append(words["not_met"].format(sentence=sentence) if negated else f"{sentence}.")
        return reasons


def _leaves(node: Node, negated: bool = False) -> list[tuple[Condition, bool]]:
    if isinstance(node, Condition):
        return [(node, negated)]
    inner = negated != node.negate
    return [leaf for child in node.children for leaf in _leaves(child, inner)]


def _meets(session: Session, condition: Condition, contact_id: int, at: dt.datetime) -> bool:
    """One condition for one contact, evaluated by the compiler."""
    alone = Group(children=[condition])
    stmt = select(func.count()).select_from(Contact).where(compiler.matches(session, alone, at=at, scope=Contact.id == contact_id))
    return bool(session.scalar(stmt))


def describe_condition(session: Session, condition: Condition, *, lang: Lang = "de") -> str:
    """A validated condition in plain words: „Ort ist „Köln““, „Mitarbeitende zwischen 10 und 50“,
    „Aktivität „E-Mail geöffnet“ in den letzten 30 Tagen“, „ist Mitglied im Segment „Newsletter““ (`lang="en"`:
    „City is “Köln”“ …)."""
    lang = language(lang)
    words = phrases(lang)
    spec = catalogue()[condition.field]
    op = spec.operator(condition.operator)
    if op is None:
        raise ValueError(f"{condition.field}: operator {condition.operator!r} unknown (validate the rules first)")
    field_label, op_label = (spec.label_en, op.label_en) if lang == "en" else (spec.label_de, op.label_de)
    labels = _value_labels(session, spec, lang)

    def text(value: Any) -> str:
        return _value_text(spec, condition, value, labels, lang)

    value = "" if isinstance(condition.value, list) else text(condition.value)
    if spec.value_kind == "segment":
        return words["in_segment"].format(op=op_label, value=value)
    if spec.value_kind == "behaviour":
        return " ".join(filter(None, (field_label, value, op_label, _period(condition, lang))))
    if op.shape is Shape.PAIR:
        purpose = words["quote"].format(labels.get(condition.value2, condition.value2))
        channel = CHANNELS.get(condition.value, (condition.value, condition.value))[1 if lang == "en" else 0]
        return f"{field_label}: {channel} × {purpose} {op_label}"
    if op.shape is Shape.NONE:
        phrase = op_label
    elif op.shape is Shape.TWO:
        phrase = words["between"].format(op=op_label, low=value, high=text(condition.value2))
    elif op.shape is Shape.LIST:
        phrase = f"{op_label}: " + ", ".join(text(v) for v in condition.value)
    elif op.shape is Shape.PERIOD and op.key == "anniversary_next" and not condition.amount:
        phrase = words["anniversary_today"]
    elif op.shape is Shape.PERIOD:
        phrase = f"{op_label} {_period(condition, lang)}"
    else:
        phrase = f"{op_label} {value}"
    period = words["in_last"].format(period=_period(condition, lang)) if spec.period_required else ""
    return f"{field_label} {phrase}{period}"


def _value_labels(session: Session, spec: ConditionSpec, lang: Lang) -> dict[Any, str]:
    """Names for values that are keys or ids: fixed choices, activity types, and the small tables behind
    stages, pipelines, purposes and segments (never the large distinct lists such as cities or campaigns)."""
    if spec.choices:
        return dict(spec.choices)
    if spec.key == "activity.type":
        return {key: en if lang == "en" else de for key, (de, en) in ACTIVITY_TYPES.items()}
    if spec.value_kind in ("related", "segment", "consent"):
        return dict(spec.load_choices(session))
    return {}


def _value_text(spec: ConditionSpec, condition: Condition, value: Any, labels: Mapping[Any, str], lang: Lang) -> str:
    if value is None:
        return ""
    if spec.value_kind == "money":
        return fmt_money(Decimal(value), lang, currency=condition.currency or "EUR")
    if spec.value_kind == "date":
        return fmt_date(dt.date.fromisoformat(value), lang)
    if spec.value_kind == "number":
        return fmt_number(value, lang, digits=0 if float(value).is_integer() else 2)
    return phrases(lang)["quote"].format(labels.get(value, value))


def _period(condition: Condition, lang: Lang) -> str:
    if condition.amount is None:
        return ""
    singular, plural = UNITS[language(lang)]["days" if condition.unit == "days" else "months"]
    return f"{condition.amount} {singular if condition.amount == 1 else plural}"


# --- the builder: values to offer, the rules in plain German ---------------------------------------------------------


def condition_choices(uow: UnitOfWork, field: str) -> list[tuple[Any, str]]:
    """The values the builder offers for a catalogue field as (key, German label): fixed choices, or the stages,
    pipelines, purposes, segments, tags, campaign keys … in the database (empty for free-text fields)."""
    spec = catalogue().get(field)
    if spec is None:
        raise ValidationFailed({"field": f"unbekanntes Feld „{field}“"})
    with uow:
        uow.authorize("segments.read")
        return spec.load_choices(uow.session)


def rules_summary(uow: UnitOfWork, rules: Mapping[str, Any] | Group, *, lang: Lang = "de") -> str:
    """A rule tree (validated first) in plain words, see `describe_rules`."""
    with uow:
        uow.authorize("segments.read")
        return describe_rules(uow.session, parse_rules(rules), lang=lang)


def describe_rules(session: Session, tree: Group, *, lang: Lang = "de") -> str:
    """A validated tree as one sentence: „Kontakte, für die gilt: Ort ist „Köln“ und (Anrede ist „Frau“ oder
    Position enthält „Leitung“)“. A rule without conditions reads „Alle Kontakte“ (AND) or „Keine Kontakte“ (OR)."""
    words = phrases(lang)
    if not tree.children:
        return words["all_contacts"] if (tree.op == "and") != tree.negate else words["no_contacts"]
    return words["contacts_where"].format(rule=_describe_node(session, tree, lang, outermost=True))


def _describe_node(session: Session, node: Node, lang: Lang, *, outermost: bool = False) -> str:
    words = phrases(lang)
    if isinstance(node, Condition):
        return describe_condition(session, node, lang=lang)
    if not node.children:
        return words["always"] if (node.op == "and") != node.negate else words["never"]
    joined = f" {words[node.op]} ".join(_describe_node(session, c, lang) for c in node.children)
    if node.negate:
        return words["not"].format(inner=joined)
    return joined if outermost or len(node.children) == 1 else f"({joined})"
