"""Stored membership: recalculation with diff and history, the dependency graph between segments, the
incremental refresh of touched contacts and the lease that keeps two recalculation jobs apart.

A full recalculation runs in the database, in one transaction per segment: the compiled rule query fills a
temporary table of matching ids, `INSERT … SELECT` writes who joined and who left into `segment_changes`
(anti-joins against `segment_members`), then members are deleted and inserted from there. Only the diff's ids are
read into Python, for the `crm.segment.member_added|member_removed` events (up to 1,000 ids each). A failure rolls
everything back (the old membership stays) and stores the message in `segments.refresh_error`.

Segments that name other segments ("ist Mitglied von Segment S") read S's stored membership, so `recalc_all`
works in topological order: a segment is computed after every segment it references.

The incremental refresh re-evaluates only the contacts touched by outbox events since its cursor (setting
`segments.event_cursor`): contact and consent events, company events (their contacts), deal events and contact
roles (the deal's contacts), and manual changes of static segments. It complements the scheduled full run, which
alone catches what no event announces (relative periods moving on, activities, tags, restrictions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, delete, exists, func, insert, literal, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core import audit
from core.app_settings import read_setting, store_setting
from core.errors import DomainError, NotFound, PermissionDenied
from core.formatting import fmt_number
from core.segments.compiler import compile_rules, matches
from core.segments.registrations import recount
from core.segments.rules import Group, parse_rules
from core.uow import UnitOfWork
from db.models import Contact, OpportunityContact, OutboxEvent, Segment, SegmentChange, SegmentMember, SegmentRun

SEGMENT_FIELD = "segment"
BATCH = 1_000
TOUCHED_LIMIT = 50_000
CURSOR_KEY = "segments.event_cursor"
LEASE_KEY = "segments.recalc_lease"
LEASE_TIME = dt.timedelta(minutes=30)
CHANGE_COLUMNS = ["segment_id", "contact_id", "change", "at", "run_id"]


def load_segment(uow: UnitOfWork, segment_id: int, *, lock: bool = False) -> Segment:
    """The segment; with `lock` its row stays locked until the transaction ends (PostgreSQL), so two changes of
    one segment's membership queue instead of colliding."""
    segment = uow.session.get(Segment, segment_id, with_for_update=lock)
    if segment is None:
        raise NotFound(f"Segment {segment_id} gibt es nicht.")
    return segment


# --- the dependency graph ------------------------------------------------------------------------------------------

Graph = dict[int, set[int]]


def references(rules: Mapping[str, Any] | None) -> set[int]:
    """Ids of the segments a (stored, normalised) rule tree names in „ist (nicht) Mitglied von Segment“."""
    found: set[int] = set()
    stack = [rules] if rules else []
    while stack:
        node = stack.pop()
        if node.get("type") == "condition":
            if node.get("field") == SEGMENT_FIELD and isinstance(node.get("value"), int):
                found.add(node["value"])
        else:
            stack.extend(node.get("children") or [])
    return found


def dependency_graph(session: Session) -> Graph:
    """Every segment → the segments its rules reference."""
    return {segment_id: references(rules) for segment_id, rules in session.execute(select(Segment.id, Segment.rules))}


def find_cycle(graph: Graph, start: int) -> list[int] | None:
    """A path start → … → start along the references, or None."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for target in sorted(graph.get(node, ()), reverse=True):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def topological_order(graph: Graph) -> list[int]:
    """Segment ids, each after the segments it references (ties by id)."""
    waiting = {node: {t for t in targets if t in graph and t != node} for node, targets in graph.items()}
    order: list[int] = []
    while waiting:
        ready = sorted(node for node, targets in waiting.items() if not targets) or [min(waiting)]
        for node in ready:  # `min(waiting)` only for a cycle, which saving a segment refuses
            waiting.pop(node)
            order.append(node)
        for targets in waiting.values():
            targets.difference_update(ready)
    return order


# --- runs ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    segment_id: int
    segment_name: str
    run_id: int
    reason: str
    at: dt.datetime
    size: int
    joined: int
    left: int


@dataclass(frozen=True)
class Failure:
    segment_id: int
    segment_name: str
    message: str


@dataclass(frozen=True)
class RecalcReport:
    """What a recalculation of several segments did; `touched` is set for an incremental refresh."""

    runs: tuple[RunView, ...] = ()
    failures: tuple[Failure, ...] = ()
    touched: int | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        """One line (German) for the job and the CLI."""
        joined, left = sum(r.joined for r in self.runs), sum(r.left for r in self.runs)
        diff = f"{fmt_number(joined)} eingetreten, {fmt_number(left)} ausgetreten"
        if self.touched is None:
            line = f"{fmt_number(len(self.runs))} Segment(e) neu berechnet ({diff})"
        else:
            line = (
                f"Inkrementell: {fmt_number(self.touched)} berührte Kontakte, "
                f"{fmt_number(len(self.runs))} Segment(e) geändert ({diff})"
            )
        if self.failures:
            failed = "; ".join(f"Segment {f.segment_id} „{f.segment_name}“: {f.message}" for f in self.failures)
            return f"{line}; fehlgeschlagen: {failed}"
        return line + "."


def start_run(uow: UnitOfWork, segment: Segment, reason: str) -> SegmentRun:
    run = SegmentRun(segment_id=segment.id, started_at=uow.now, reason=reason, size=0, joined=0, left=0)
    uow.session.add(run)
    uow.session.flush()
    return run


def apply_diff(uow: UnitOfWork, run: SegmentRun, joined: Sequence[int], left: Sequence[int]) -> None:
    """Write a diff known in Python (static members, incremental refresh): changes, then the members."""
    session = uow.session
    rows = [(contact_id, "joined") for contact_id in sorted(joined)] + [(c, "left") for c in sorted(left)]
    for chunk in _chunks(rows):
        values = [dict(zip(CHANGE_COLUMNS, (run.segment_id, c, change, uow.now, run.id))) for c, change in chunk]
        session.execute(insert(SegmentChange), values)
    for ids in _chunks(sorted(left)):
        session.execute(
            delete(SegmentMember).where(SegmentMember.segment_id == run.segment_id, SegmentMember.contact_id.in_(ids))
        )
    for ids in _chunks(sorted(joined)):
        session.execute(
            insert(SegmentMember),
            [{"segment_id": run.segment_id, "contact_id": c, "joined_at": uow.now} for c in ids],
        )


def close_run(
    uow: UnitOfWork, segment: Segment, run: SegmentRun, *, joined: int, left: int, action: str = "recalculated"
) -> RunView:
    """Store size and counts, mark the segment refreshed, announce the joins and leaves, audit the change."""
    before = segment.member_count
    recount(uow, [segment.id])
    size = int(uow.session.scalar(select(Segment.member_count).where(Segment.id == segment.id)) or 0)
    uow.session.execute(
        update(SegmentRun)
        .where(SegmentRun.id == run.id)
        .values(size=size, joined=joined, left=left, finished_at=uow.clock())
    )
    uow.session.execute(
        update(Segment).where(Segment.id == segment.id).values(last_refreshed_at=uow.now, refresh_error=None)
    )
    view = RunView(segment.id, segment.name, run.id, run.reason, uow.now, size, joined, left)
    for change, count in (("joined", joined), ("left", left)):
        if count:
            _announce(uow, view, change)
    uow.audit(
        entity="segment",
        entity_id=segment.id,
        action=action,
        changes=[audit.FieldChange("member_count", before, size)] if size != before else [],
        reason=f"Lauf {run.id}: {joined} eingetreten, {left} ausgetreten",
    )
    return view


def _announce(uow: UnitOfWork, view: RunView, change: str) -> None:
    """crm.segment.member_added / member_removed, one event per 1,000 contact ids of the run's diff."""
    name = "crm.segment.member_added" if change == "joined" else "crm.segment.member_removed"
    ids = uow.session.scalars(
        select(SegmentChange.contact_id)
        .where(SegmentChange.run_id == view.run_id, SegmentChange.change == change)
        .order_by(SegmentChange.id)
    ).all()
    for chunk in _chunks(ids):
        payload = {
            "segment_id": view.segment_id,
            "run_id": view.run_id,
            "reason": view.reason,
            "count": len(chunk),
            "contact_ids": list(chunk),
        }
        uow.emit(name, entity="segment", entity_id=view.segment_id, payload=payload)


def _recalculated(uow: UnitOfWork, view: RunView) -> None:
    payload = {
        "run_id": view.run_id,
        "reason": view.reason,
        "size": view.size,
        "joined": view.joined,
        "left": view.left,
    }
    uow.emit("crm.segment.recalculated", entity="segment", entity_id=view.segment_id, payload=payload)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


# --- full recalculation --------------------------------------------------------------------------------------------


def _matches_table() -> Table:
    return Table("segment_matches", MetaData(), Column("contact_id", Integer, primary_key=True), prefixes=["TEMPORARY"])


def _recompute(uow: UnitOfWork, run: SegmentRun, rules: Group, at: dt.datetime) -> tuple[int, int]:
    """The new membership by set operations in the database; returns (joined, left)."""
    session, segment_id = uow.session, run.segment_id
    found = _matches_table()
    found.create(session.connection())
    session.execute(insert(found).from_select(["contact_id"], compile_rules(session, rules, at=at)))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE segment_matches"))  # a temporary table has no statistics otherwise
    now = literal(uow.now, SegmentChange.at.type)
    was_member = exists().where(SegmentMember.segment_id == segment_id, SegmentMember.contact_id == found.c.contact_id)
    session.execute(
        insert(SegmentChange).from_select(
            CHANGE_COLUMNS,
            select(literal(segment_id), found.c.contact_id, literal("joined"), now, literal(run.id))
            .where(~was_member)
            .order_by(found.c.contact_id),
        )
    )
    still_matches = exists().where(found.c.contact_id == SegmentMember.contact_id)
    session.execute(
        insert(SegmentChange).from_select(
            CHANGE_COLUMNS,
            select(literal(segment_id), SegmentMember.contact_id, literal("left"), now, literal(run.id))
            .where(SegmentMember.segment_id == segment_id, ~still_matches)
            .order_by(SegmentMember.contact_id),
        )
    )
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id, ~still_matches))
    session.execute(
        insert(SegmentMember).from_select(
            ["segment_id", "contact_id", "joined_at"],
            select(SegmentChange.segment_id, SegmentChange.contact_id, SegmentChange.at).where(
                SegmentChange.run_id == run.id, SegmentChange.change == "joined"
            ),
        )
    )
    found.drop(session.connection())  # on failure the rollback removes it
    counts = dict(
        session.execute(
            select(SegmentChange.change, func.count())
            .where(SegmentChange.run_id == run.id)
            .group_by(SegmentChange.change)
        )
        .tuples()
        .all()
    )
    return counts.get("joined", 0), counts.get("left", 0)


def recalculate(uow: UnitOfWork, segment_id: int, *, reason: str = "manual", at: dt.datetime | None = None) -> RunView:
    """Recompute a segment's membership (rules evaluated at `at`, default now) and record the diff as one run.

    Static segments keep their manual members; the run records their size. On failure nothing changes except
    `refresh_error`, and the error is raised again.
    """
    try:
        return _recalculate(uow, segment_id, reason=reason, at=at)
    except (NotFound, PermissionDenied):
        raise
    except (DomainError, SQLAlchemyError) as exc:
        _store_error(uow, segment_id, error_text(exc))
        raise


def _recalculate(uow: UnitOfWork, segment_id: int, *, reason: str, at: dt.datetime | None) -> RunView:
    with uow:
        uow.authorize("segments.write")
        segment = load_segment(uow, segment_id, lock=True)
        run = start_run(uow, segment, reason)
        joined = left = 0
        if segment.kind == "dynamic":
            joined, left = _recompute(uow, run, parse_rules(segment.rules or {}), at or uow.now)
        view = close_run(uow, segment, run, joined=joined, left=left)
        _recalculated(uow, view)
        uow.commit()
        return view


def error_text(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    original = getattr(exc, "orig", None) or exc
    return f"Datenbank: {str(original).splitlines()[0] if str(original) else type(original).__name__}"


def _store_error(uow: UnitOfWork, segment_id: int, message: str) -> None:
    with uow:
        uow.session.execute(update(Segment).where(Segment.id == segment_id).values(refresh_error=message[:2000]))
        uow.commit()


Heartbeat = Callable[[], None]


def recalc_all(
    uow: UnitOfWork, *, reason: str = "schedule", at: dt.datetime | None = None, heartbeat: Heartbeat | None = None
) -> RecalcReport:
    """Every segment in dependency order, one transaction each; a failing segment is reported, the others run.

    Without failures the incremental cursor moves to the newest event seen at the start (all of it is reflected).
    `heartbeat` runs before each segment (the job renews its lease there).
    """
    with uow:
        uow.authorize("segments.write")
        order = topological_order(dependency_graph(uow.session))
        names = dict(uow.session.execute(select(Segment.id, Segment.name)).tuples().all())
        newest = _newest_event(uow.session)
    runs: list[RunView] = []
    failures: list[Failure] = []
    for segment_id in order:
        if heartbeat is not None:
            heartbeat()
        try:
            runs.append(recalculate(uow, segment_id, reason=reason, at=at))
        except NotFound:
            continue  # deleted meanwhile
        except (DomainError, SQLAlchemyError) as exc:
            failures.append(Failure(segment_id, names.get(segment_id, ""), error_text(exc)))
    if not failures:
        _store_cursor(uow, newest)
    return RecalcReport(tuple(runs), tuple(failures))


# --- incremental refresh -------------------------------------------------------------------------------------------


def _newest_event(session: Session) -> int:
    return int(session.scalar(select(func.max(OutboxEvent.id))) or 0)


def _store_cursor(uow: UnitOfWork, event_id: int) -> None:
    with uow:
        current = read_setting(uow.session, CURSOR_KEY)
        if current is None or event_id > int(current):
            store_setting(
                uow, CURSOR_KEY, event_id, description="Letztes Ereignis, das die Segment-Aktualisierung gelesen hat"
            )
            uow.commit()


def _entity_ids(session: Session, entity: str, low: int, high: int) -> set[int]:
    rows = session.scalars(
        select(OutboxEvent.entity_id).where(OutboxEvent.id > low, OutboxEvent.id <= high, OutboxEvent.entity == entity)
    )
    return {int(value) for value in rows if value.isdigit()}


def _payloads(session: Session, entity: str, low: int, high: int) -> Iterator[tuple[str, dict[str, Any]]]:
    stmt = select(OutboxEvent.entity_id, OutboxEvent.payload).where(
        OutboxEvent.id > low, OutboxEvent.id <= high, OutboxEvent.entity == entity
    )
    for entity_id, payload in session.execute(stmt):
        yield entity_id, payload or {}


def _role_contacts(payload: Mapping[str, Any]) -> set[int]:
    """The contact of a contact-role event (after a deletion only `before` names it)."""
    found = set()
    for side in ("before", "after"):
        values = payload.get(side) or {}
        if isinstance(values.get("contact_id"), int):
            found.add(values["contact_id"])
    return found


def touched_contacts(session: Session, low: int, high: int) -> set[int]:
    """Contacts whose data the events (low, high] may have changed."""
    touched = _entity_ids(session, "contact", low, high)
    for ids in _chunks(sorted(_entity_ids(session, "account", low, high))):
        touched.update(session.scalars(select(Contact.id).where(Contact.account_id.in_(ids))))
    for ids in _chunks(sorted(_entity_ids(session, "opportunity", low, high))):
        touched.update(
            session.scalars(select(OpportunityContact.contact_id).where(OpportunityContact.opportunity_id.in_(ids)))
        )
    for _, payload in _payloads(session, "opportunity_contact", low, high):
        touched.update(_role_contacts(payload))
    static = set(session.scalars(select(Segment.id).where(Segment.kind == "static")))
    for entity_id, payload in _payloads(session, "segment", low, high):
        if entity_id.isdigit() and int(entity_id) in static:
            touched.update(c for c in payload.get("contact_ids") or [] if isinstance(c, int))
    return touched


@dataclass(frozen=True)
class _Refresh:
    view: RunView | None
    changed: set[int] = field(default_factory=set)


def _refresh_contacts(uow: UnitOfWork, segment_id: int, ids: Iterable[int], at: dt.datetime | None) -> _Refresh:
    """Re-evaluate the rules for these contacts only and record what changed as an "incremental" run."""
    with uow:
        uow.authorize("segments.write")
        segment = load_segment(uow, segment_id, lock=True)
        tree = parse_rules(segment.rules or {})
        joined: set[int] = set()
        left: set[int] = set()
        for chunk in _chunks(sorted(ids)):
            members = set(
                uow.session.scalars(
                    select(SegmentMember.contact_id).where(
                        SegmentMember.segment_id == segment_id, SegmentMember.contact_id.in_(chunk)
                    )
                )
            )
            matched = set(
                uow.session.scalars(
                    select(Contact.id).where(matches(uow.session, tree, at=at or uow.now, scope=Contact.id.in_(chunk)))
                )
            )
            joined |= matched - members
            left |= members - matched
        if not joined and not left:
            return _Refresh(None)
        run = start_run(uow, segment, "incremental")
        apply_diff(uow, run, sorted(joined), sorted(left))
        view = close_run(uow, segment, run, joined=len(joined), left=len(left))
        _recalculated(uow, view)
        uow.commit()
        return _Refresh(view, joined | left)


def recalc_touched(
    uow: UnitOfWork, *, at: dt.datetime | None = None, limit: int = TOUCHED_LIMIT, heartbeat: Heartbeat | None = None
) -> RecalcReport:
    """Refresh the dynamic segments for the contacts touched by events since the cursor, in dependency order;
    a segment also re-checks the contacts that joined or left a segment it references in this pass. Without a
    cursor yet, or with more than `limit` touched contacts, every segment is recalculated in full instead."""
    with uow:
        uow.authorize("segments.write")
        cursor = read_setting(uow.session, CURSOR_KEY)
        newest = _newest_event(uow.session)
        if cursor is None:
            touched = None
        else:
            touched = touched_contacts(uow.session, int(cursor), newest)
        graph = dependency_graph(uow.session)
        dynamic = dict(
            uow.session.execute(select(Segment.id, Segment.name).where(Segment.kind == "dynamic")).tuples().all()
        )
    if touched is None or len(touched) > limit:
        return recalc_all(uow, at=at, heartbeat=heartbeat)
    runs: list[RunView] = []
    failures: list[Failure] = []
    changed: dict[int, set[int]] = {}
    for segment_id in topological_order(graph):
        ids = touched.union(*(changed.get(ref, set()) for ref in graph[segment_id]))
        if segment_id not in dynamic or not ids:
            continue
        if heartbeat is not None:
            heartbeat()
        try:
            refresh = _refresh_contacts(uow, segment_id, ids, at)
        except NotFound:
            continue
        except (DomainError, SQLAlchemyError) as exc:
            failures.append(Failure(segment_id, dynamic[segment_id], error_text(exc)))
            _store_error(uow, segment_id, error_text(exc))
            continue
        changed[segment_id] = refresh.changed
        if refresh.view is not None:
            runs.append(refresh.view)
    if not failures:
        _store_cursor(uow, newest)
    return RecalcReport(tuple(runs), tuple(failures), touched=len(touched))


# --- the lease: one recalculation job at a time --------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    holder: str | None
    until: dt.datetime | None

    def held_by_other(self, holder: str, now: dt.datetime) -> bool:
        return self.holder not in (None, holder) and self.until is not None and self.until > now


def _lock_lease_row(session: Session) -> None:
    """Serialise claims: PostgreSQL by an advisory lock, SQLite by taking the write lock first (an UPDATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": LEASE_KEY})
    else:
        session.execute(text("UPDATE app_settings SET key = key WHERE key = :key"), {"key": LEASE_KEY})


def current_lease(session: Session) -> Lease:
    value = read_setting(session, LEASE_KEY) or {}
    until = value.get("until")
    return Lease(value.get("holder"), dt.datetime.fromisoformat(until) if until else None)


def _write_lease(uow: UnitOfWork, holder: str | None, until: dt.datetime | None) -> None:
    value = {"holder": holder, "until": until.isoformat() if until else None}
    store_setting(uow, LEASE_KEY, value, description="Sperre: es läuft eine Neuberechnung der Segmente")


def claim_lease(uow: UnitOfWork, *, holder: str, duration: dt.timedelta = LEASE_TIME) -> Lease:
    """Take (or renew) the lease for `holder` and return it; while another holder's lease runs, return that one
    unchanged. A crashed job's lease runs out after `duration`."""
    with uow:
        _lock_lease_row(uow.session)
        current = current_lease(uow.session)
        if current.held_by_other(holder, uow.now):
            return current
        _write_lease(uow, holder, uow.now + duration)
        uow.commit()
        return Lease(holder, uow.now + duration)


def release_lease(uow: UnitOfWork, *, holder: str) -> None:
    with uow:
        _lock_lease_row(uow.session)
        if current_lease(uow.session).holder == holder:
            _write_lease(uow, None, None)
            uow.commit()
