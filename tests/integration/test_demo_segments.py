"""Demo segment data (core/demo_segments.py): activities and tags as configured and plausible, the demo segments
created through the services and recalculated once (a referencing segment after its source), a second seed that
adds without duplicating, the steps alone on demo data seeded without them, and the segment benchmark at the small
size (bench/segments.py).

The small seed runs once per backend (module fixture, rolled back at the end); the tests only read it.
Tests that write do so in a savepoint on the same connection and roll it back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bench import segments as bench_segments
from core import demo
from core.demo import DemoReport, DemoStep, seed_demo
from core.demo_segments import (
    ACTIVITIES_PER_CONTACT,
    ACTIVITY_WEIGHTS,
    DEMO_SEGMENTS,
    LABEL_ACTIVITIES,
    LABEL_SEGMENTS,
    LABEL_TAGS,
    SUBJECTS,
    TAGS,
    WINDOW_DAYS,
    ActivityPlan,
    ContactArrays,
    activity_columns,
    activity_counts,
    add_segment_demo,
)
from core.formatting import DISPLAY_TZ
from core.segments import compiler
from core.segments.conditions import ACTIVITY_TYPES
from core.segments.recalc import references
from core.segments.rules import Group, parse_rules, walk
from db.models import Activity, AuditEntry, Contact, ContactTag, Segment, SegmentMember, SegmentRun, User
from db.models.segments import SegmentReach
from tests.conftest import FrozenClock

SMALL_CONTACTS = 2_000  # the run's contacts; the 20 planted duplicates come after them
SEGMENT_STEPS = ("segment_data", "segments")
MAIL_KEY = re.compile(r"^(newsletter-\d{4}-\d{2}|produktneuheiten-\d{4}-q[1-4])$")
EVENT_KEY = re.compile(
    r"^(webinar-digitale-fertigung|praxisforum-erp)-\d{4}-q[1-4]$|^(kundentag|hannover-messe)-\d{4}$"
)


@dataclass(frozen=True)
class Seeded:
    connection: Connection
    factory: sessionmaker[Session]
    report: DemoReport
    now: dt.datetime

    @property
    def reference(self) -> dt.datetime:
        return self.now.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[Seeded]:
    """The small demo data with its segment data, once per backend."""
    connection = engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    clock = FrozenClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC))
    report = seed_demo(factory, size="small", seed=5, clock=clock)
    try:
        yield Seeded(connection, factory, report, clock.current)
    finally:
        transaction.rollback()
        connection.close()


def rows(factory: sessionmaker[Session], stmt: Any) -> list[Any]:
    with factory() as session:
        return list(session.execute(stmt).all())


def scalar(factory: sessionmaker[Session], stmt: Any) -> Any:
    with factory() as session:
        return session.scalar(stmt)


def segments_by_name(factory: sessionmaker[Session]) -> dict[str, Segment]:
    return {s.name: s for (s,) in rows(factory, select(Segment))}


def without_segment_steps() -> list[DemoStep]:
    return [step for step in demo.DEMO_STEPS if step.name not in SEGMENT_STEPS]


# First in the module: it writes through its own connection, which must happen before the module's seed holds the
# database until the module ends (see tests/integration/test_demo_consent.py).
def test_segment_data_can_be_added_to_demo_data_seeded_without_it(
    factory: sessionmaker[Session], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DEMO_STEPS", without_segment_steps())
    seed_demo(factory, size="tiny", contacts=300, seed=3, clock=clock, history=0)
    monkeypatch.undo()
    assert not scalar(factory, select(func.count()).select_from(Activity))
    assert not scalar(factory, select(func.count()).select_from(Segment))

    report = add_segment_demo(factory, seed=3, clock=clock)
    again = add_segment_demo(factory, seed=3, clock=clock)

    demo_contacts = scalar(factory, select(func.count()).where(Contact.external_id.like("CON-%")))
    assert report.count(LABEL_ACTIVITIES) == ACTIVITIES_PER_CONTACT * demo_contacts
    assert scalar(factory, select(func.count()).select_from(Activity)) == report.count(LABEL_ACTIVITIES)
    assert report.count(LABEL_TAGS) == scalar(factory, select(func.count()).select_from(ContactTag)) > 0
    assert report.count(LABEL_SEGMENTS) == len(DEMO_SEGMENTS) == len(segments_by_name(factory))
    assert all(s.last_refreshed_at is not None for s in segments_by_name(factory).values())
    assert again.skipped_reason and "bereits" in again.skipped_reason


def test_activities_are_as_configured_and_plausible(seeded: Seeded) -> None:
    factory, reference = seeded.factory, seeded.reference
    activities = [a for (a,) in rows(factory, select(Activity))]
    created = dict(rows(factory, select(Contact.id, Contact.created_at)))

    assert len(activities) == seeded.report.count(LABEL_ACTIVITIES) == ACTIVITIES_PER_CONTACT * SMALL_CONTACTS
    types = Counter(a.type for a in activities)
    assert set(types) == set(ACTIVITY_WEIGHTS) <= set(ACTIVITY_TYPES)
    assert types.most_common(1)[0][0] == "email_open"
    assert all(reference - dt.timedelta(days=WINDOW_DAYS) <= a.occurred_at <= reference for a in activities)
    assert all(a.occurred_at >= created[a.contact_id] for a in activities), "nothing before the contact existed"
    last_year = sum(a.occurred_at > reference - dt.timedelta(days=365) for a in activities)
    assert last_year > len(activities) / 2, "more activity recently"
    per_contact = Counter(a.contact_id for a in activities)
    assert 0.4 < len(per_contact) / SMALL_CONTACTS < 0.95 and max(per_contact.values()) > 4 * ACTIVITIES_PER_CONTACT

    for activity in activities:
        if activity.type in ("email_open", "email_click"):
            assert MAIL_KEY.match(activity.campaign_key or ""), activity.campaign_key
        elif activity.type in ("event_registration", "event_attendance"):
            assert EVENT_KEY.match(activity.campaign_key or ""), activity.campaign_key
        else:
            assert activity.campaign_key is None
        assert (activity.subject is not None) == (activity.type in SUBJECTS)
        assert activity.subject is None or activity.subject in SUBJECTS[activity.type]
    office = [a.occurred_at.astimezone(DISPLAY_TZ) for a in activities if a.type in ("call", "meeting")]
    in_hours = sum(8 <= moment.hour < 18 and moment.weekday() < 5 for moment in office)
    assert in_hours / len(office) > 0.9, "calls and meetings on weekdays in office hours"


def test_tags_are_on_their_share_of_the_contacts_and_readers_are_active(seeded: Seeded) -> None:
    factory = seeded.factory
    counts = dict(rows(factory, select(ContactTag.tag, func.count()).group_by(ContactTag.tag)))
    activity = Counter(contact_id for (contact_id,) in rows(factory, select(Activity.contact_id)))
    readers = [c for (c,) in rows(factory, select(ContactTag.contact_id).where(ContactTag.tag == "Newsletter-Leser"))]

    assert counts == {plan.tag: round(plan.share * SMALL_CONTACTS) for plan in TAGS}
    assert sum(counts.values()) == seeded.report.count(LABEL_TAGS)
    assert {"VIP", "Messe 2026", "Newsletter-Leser"} <= set(counts)
    reader_mean = sum(activity[c] for c in readers) / len(readers)
    assert reader_mean > 1.5 * ACTIVITIES_PER_CONTACT, "newsletter readers are drawn among the active contacts"


def test_the_demo_segments_exist_built_by_marketing_and_recalculated(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    segments = segments_by_name(factory)
    sizes = dict(rows(factory, select(SegmentMember.segment_id, func.count()).group_by(SegmentMember.segment_id)))
    marketing = scalar(factory, select(User.id).where(User.username == demo.MARKETING))
    audited = rows(factory, select(AuditEntry.actor_name).where(AuditEntry.entity == "segment"))

    assert list(segments) and set(segments) == {plan.name for plan in DEMO_SEGMENTS}
    assert seeded.report.count(LABEL_SEGMENTS) == len(DEMO_SEGMENTS)
    assert 6 <= len(segments) <= 8
    assert {s.kind for s in segments.values()} == {"dynamic", "static"}
    assert all(s.created_by == marketing and s.refresh_error is None for s in segments.values())
    assert {name for (name,) in audited} == {demo.MARKETING}
    with factory() as session:
        for segment in segments.values():
            assert segment.last_refreshed_at == now, segment.name
            assert segment.member_count == sizes.get(segment.id, 0) > 0, segment.name
            if segment.kind == "dynamic":
                assert compiler.count(session, segment.rules, at=now) == segment.member_count, segment.name
    recalculated = {s for (s,) in rows(factory, select(SegmentRun.segment_id).where(SegmentRun.reason == "demo"))}
    assert recalculated == {s.id for s in segments.values()}
    with_reach = {s for (s,) in rows(factory, select(SegmentReach.segment_id).where(SegmentReach.computed_at == now))}
    assert with_reach == {s.id for s in segments.values()}, "the list shows reach per channel from the start"


def test_the_segments_use_nesting_negation_references_and_a_static_list(seeded: Seeded) -> None:
    segments = segments_by_name(seeded.factory).values()
    trees = [parse_rules(s.rules) for s in segments if s.rules]
    nodes = [node for tree in trees for _, node in walk(tree)]

    assert any(isinstance(node, Group) and not node.negate for node in nodes), "a nested group"
    assert any(isinstance(node, Group) and node.negate for node in nodes), "a NOT group"
    assert {tree.op for tree in trees} | {n.op for n in nodes if isinstance(n, Group)} == {"and", "or"}
    fields = {node.field for node in nodes if not isinstance(node, Group)}
    assert {"consent", "activity.type", "contact.tags", "opportunity.stage", "revenue.won", "segment"} <= fields
    assert sum(bool(references(s.rules)) for s in segments) == 1
    assert [s.kind for s in segments].count("static") == 1


def test_the_referencing_segment_is_recalculated_after_its_source(seeded: Seeded) -> None:
    factory = seeded.factory
    segments = segments_by_name(factory)
    referencing = next(s for s in segments.values() if references(s.rules))
    (source_id,) = references(referencing.rules)
    runs = dict(rows(factory, select(SegmentRun.segment_id, SegmentRun.id).where(SegmentRun.reason == "demo")))
    members = {
        segment_id: {
            c for (c,) in rows(factory, select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id))
        }
        for segment_id in (source_id, referencing.id)
    }

    assert runs[source_id] < runs[referencing.id]
    assert members[referencing.id] and members[referencing.id] <= members[source_id]


def test_a_second_seed_adds_without_duplicating(seeded: Seeded) -> None:
    factory = seeded.factory
    savepoint = seeded.connection.begin_nested()
    try:
        before = {
            "activities": dict(rows(factory, select(Activity.contact_id, func.count()).group_by(Activity.contact_id))),
            "tags": scalar(factory, select(func.count()).select_from(ContactTag)),
            "segments": segments_by_name(factory),
        }
        report = seed_demo(factory, size="tiny", seed=8, clock=FrozenClock(seeded.now), history=0, duplicates=False)
        after = dict(rows(factory, select(Activity.contact_id, func.count()).group_by(Activity.contact_id)))
        tags = scalar(factory, select(func.count()).select_from(ContactTag))
        segments = segments_by_name(factory)
        demo_runs = scalar(factory, select(func.count()).where(SegmentRun.reason == "demo"))
        skipped = add_segment_demo(factory, seed=8, clock=FrozenClock(seeded.now))
    finally:
        savepoint.rollback()

    new = {c: n for c, n in after.items() if c not in before["activities"]}
    assert all(after[c] == n for c, n in before["activities"].items()), "old contacts get no second set"
    assert sum(new.values()) == report.count(LABEL_ACTIVITIES) == ACTIVITIES_PER_CONTACT * 60
    assert tags == before["tags"] + report.count(LABEL_TAGS)
    assert {name: s.id for name, s in segments.items()} == {name: s.id for name, s in before["segments"].items()}
    assert report.count(LABEL_SEGMENTS) == 0 and demo_runs == 2 * len(segments), "each recalculated once more"
    assert skipped.skipped_reason and "Aktivitäten" in skipped.skipped_reason


def test_activity_generation_is_deterministic_and_exact() -> None:
    reference = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    plan = ActivityPlan.build(reference)

    def generate(seed: int) -> dict[str, list[Any]]:
        rng = np.random.default_rng(seed)
        created = plan.reference - rng.integers(0, 3 * 365 * 86_400, size=500)
        contacts = ContactArrays(np.arange(1, 501), created, rng.lognormal(0.0, 1.1, size=500))
        counts = activity_counts(rng, contacts, 2_500, plan.reference)
        return activity_columns(rng, plan, contacts.ids, contacts.created, counts)

    first, again, other = generate(11), generate(11), generate(12)
    assert first == again and first != other
    assert len(first["contact_id"]) == 2_500
    pairs = list(zip(first["contact_id"], first["occurred_at"], strict=True))
    assert pairs == sorted(pairs), "ordered by contact and time (index-friendly)"
    assert all(moment.second == 0 and moment <= reference for moment in first["occurred_at"])


def test_the_segment_benchmark_runs_at_the_small_size(seeded: Seeded) -> None:
    factory = seeded.factory
    savepoint = seeded.connection.begin_nested()
    try:
        with factory() as session:
            moments = (seeded.now, seeded.now - dt.timedelta(days=75))
            settings = [bench_segments.setting(session, at) for at in moments]
            compiled = [compiler.count(session, s.rules, at=s.at) for s in settings]
            by_hand = [bench_segments.hand_written_count(session, s) for s in settings]
        results = bench_segments.measure(factory, "sqlite", "small", repeat=1, touched=40)
        left_over = scalar(factory, select(func.count()).where(Segment.name.like("Benchmark:%")))
    finally:
        savepoint.rollback()

    assert compiled == by_hand and all(compiled), "the hand-written query is the same segment"
    names = [m.scenario for m in results]
    assert len(names) == 10 and all(m.size == "small" and m.value > 0 for m in results)
    assert any(name.startswith("Verhältnis Compiler / handgeschrieben") for name in names)
    assert any("erste Neuberechnung" in name for name in names) and any("why_member" in name for name in names)
    assert any(name.startswith("Inkrementell nach 40 geänderten Kontakten") for name in names)
    assert left_over == 0, "the benchmark segments are removed"
