"""Demo segment data: two years of behavioural activities, contact tags and the segments a marketing team builds.

Bulk step after the consent history (`segment_data`), for the run's demo contacts:

- exactly `ACTIVITIES_PER_CONTACT` activities per contact on average (small 10,000, medium 250,000, large
  5,000,000): e-mail opens and clicks of the monthly newsletter and the quarterly product mailing, website visits,
  calls, meetings, forms, event registrations and attendances. They are shared out by a log-normal engagement
  (many contacts do little, a few a lot) times how long the contact has been known; each lies between the
  contact's creation (at most two years back) and the seed day, to the minute, a little denser recently; calls,
  meetings and events in office hours on weekdays. Calls, meetings and forms carry a short German subject (never
  a name), mails and events their campaign's or event's key („newsletter-2026-03“, „kundentag-2026“);
- German tags (`TAGS`) on a fixed share of the contacts each; newsletter readers and webinar participants are
  drawn among the more engaged contacts.

Rows are generated with numpy (one generator seeded from the run's stream) in chunks of contacts, ordered by
contact and time, and written in bulk (core.imports.bulk: PostgreSQL COPY, SQLite the driver's executemany) in the
seed's bulk transaction; a large load into a (nearly) empty table builds the indexes afterwards.

History step after the consent restrictions and data-subject requests (`segments`): the marketing user creates
the demo segments (`DEMO_SEGMENTS`: nested AND/OR groups, a NOT group, a segment built on another one, a static
list with members) through core.segments.service and recalculates every segment once
(core.segments.recalc.recalc_all, in dependency order). Segments whose name exists already are kept as they are.

`add_segment_demo` runs both steps on a database seeded before segments existed (the benchmark databases).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import demo
from core.demo import (
    MARKETING,
    BulkImport,
    DemoReport,
    DemoRun,
    Phase,
    register_demo_step,
)
from core.demo_consent import contact_range
from core.imports.bulk import insert_columns, larger_page_cache
from core.segments.insights import refresh_due_reach
from core.segments.recalc import recalc_all
from core.segments.service import add_static_members, create_segment
from core.uow import Clock, UnitOfWork, utc_now
from db.base import Base
from db.models import Activity, Contact, ContactTag, Opportunity, PipelineStage, Segment

ACTIVITIES_PER_CONTACT = 5
WINDOW_DAYS = 730
CONTACT_CHUNK = 50_000  # about 250,000 activities per chunk
REBUILD_FROM_ROWS = 100_000
ENGAGEMENT_SIGMA = 1.1
RECENCY = 1.2  # activity grows a little towards the seed day: back-offset = span * u**RECENCY
DAY_S = 86_400
HOUR_S = 3_600
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

ACTIVITY_WEIGHTS: dict[str, float] = {
    "email_open": 34,
    "web_visit": 22,
    "email_click": 11,
    "call": 10,
    "meeting": 6,
    "form": 5,
    "event_registration": 7,
    "event_attendance": 5,
}
OFFICE_TYPES = ("call", "meeting", "event_attendance")
MAIL_TYPES = ("email_open", "email_click")
EVENT_TYPES = ("event_registration", "event_attendance")
PRODUCT_MAILING_SHARE = 0.25
# Event series: (key prefix, per quarter (True) or once a year)
EVENT_SERIES: tuple[tuple[str, bool], ...] = (
    ("webinar-digitale-fertigung", True),
    ("praxisforum-erp", True),
    ("kundentag", False),
    ("hannover-messe", False),
)
SUBJECTS: dict[str, tuple[str, ...]] = {
    "call": (
        "Rückruf zum Angebot",
        "Terminvereinbarung Vor-Ort-Besuch",
        "Nachfassen nach Messekontakt",
        "Rückfrage zur Rechnung",
        "Bedarf für das nächste Quartal abgefragt",
        "Supportanfrage weitergeleitet",
    ),
    "meeting": (
        "Bedarfsanalyse vor Ort",
        "Jahresgespräch",
        "Produktdemo per Videokonferenz",
        "Angebotsbesprechung",
        "Projekt-Kick-off",
        "Workshop Anforderungen",
    ),
    "form": (
        "Kontaktformular: Anfrage Produktdemo",
        "Whitepaper „Digitale Fertigung“ heruntergeladen",
        "Rückrufwunsch über die Website",
        "Preisanfrage über das Angebotsformular",
    ),
}


@dataclass(frozen=True)
class TagPlan:
    """A tag on `share` of the contacts; `engaged` draws them among the more active contacts."""

    tag: str
    share: float
    engaged: bool = False


TAGS: tuple[TagPlan, ...] = (
    TagPlan("VIP", 0.02),
    TagPlan("Messe 2026", 0.06),
    TagPlan("Newsletter-Leser", 0.12, engaged=True),
    TagPlan("Entscheider", 0.08),
    TagPlan("Webinar-Teilnehmer", 0.05, engaged=True),
    TagPlan("Partner", 0.015),
)

LABEL_ACTIVITIES = "Aktivitäten"
LABEL_TAGS = "Schlagworte an Kontakten"
LABEL_SEGMENTS = "Segmente"


# ---------------------------------------------------------------------------------------- the run's contacts


@dataclass(frozen=True)
class ContactArrays:
    """The run's demo contacts in id order: ids, creation (epoch seconds) and engagement weight."""

    ids: np.ndarray
    created: np.ndarray
    engagement: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def _contacts(run: DemoRun, rng: np.random.Generator) -> ContactArrays:
    ids = run.created["contact"]
    stmt = (
        select(Contact.id, Contact.created_at)
        .where(Contact.id.between(ids[0], ids[-1]), Contact.external_id.like("CON-%"))
        .order_by(Contact.id)
    )
    contact_ids: list[int] = []
    created: list[int] = []
    for contact_id, created_at in run.session.execute(stmt.execution_options(yield_per=CONTACT_CHUNK)):
        contact_ids.append(contact_id)
        created.append(int(created_at.timestamp()))
    engagement = rng.lognormal(0.0, ENGAGEMENT_SIGMA, size=len(contact_ids))
    return ContactArrays(np.array(contact_ids, dtype=np.int64), np.array(created, dtype=np.int64), engagement)


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


# ---------------------------------------------------------------------------------------- activities


@dataclass(frozen=True)
class ActivityPlan:
    """What the activity generator draws from: the period, the types with their weights, the subjects."""

    reference: int  # epoch seconds of the seed day's midnight (UTC): no activity after it
    types: tuple[str, ...]
    weights: np.ndarray
    office: np.ndarray  # type codes in office hours
    mail: np.ndarray
    event: np.ndarray
    subject_table: np.ndarray  # every subject of every type, `None` for types without subjects
    subject_offset: np.ndarray  # per type code: first index in subject_table
    subject_count: np.ndarray  # per type code: number of subjects (1 for the `None` entry)

    @classmethod
    def build(cls, reference: dt.datetime) -> ActivityPlan:
        types = tuple(ACTIVITY_WEIGHTS)
        weights = np.array([ACTIVITY_WEIGHTS[t] for t in types], dtype=float)
        table: list[str | None] = []
        offsets, counts = [], []
        for activity_type in types:
            subjects = SUBJECTS.get(activity_type, (None,))
            offsets.append(len(table))
            counts.append(len(subjects))
            table.extend(subjects)
        return cls(
            reference=_seconds(reference),
            types=types,
            weights=weights / weights.sum(),
            office=np.array([types.index(t) for t in OFFICE_TYPES]),
            mail=np.array([types.index(t) for t in MAIL_TYPES]),
            event=np.array([types.index(t) for t in EVENT_TYPES]),
            subject_table=np.array(table, dtype=object),
            subject_offset=np.array(offsets),
            subject_count=np.array(counts),
        )


def activity_counts(rng: np.random.Generator, contacts: ContactArrays, total: int, reference: int) -> np.ndarray:
    """Activities per contact: exactly `total`, shared out by engagement × how long the contact has been known
    (at most the two years of the window, at least a day)."""
    if total == 0 or len(contacts) == 0:
        return np.zeros(len(contacts), dtype=np.int64)
    known = np.clip(reference - contacts.created, DAY_S, WINDOW_DAYS * DAY_S)
    weights = contacts.engagement * known
    return rng.multinomial(total, weights / weights.sum())


def _moments(rng: np.random.Generator, plan: ActivityPlan, start: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Epoch seconds in [start, reference], denser towards the reference; office types moved to 08–17 Berlin
    (07–16 UTC) on a weekday when that stays inside the period."""
    span = np.maximum(plan.reference - start, 0)
    moments = plan.reference - (span * rng.random(len(start)) ** RECENCY).astype(np.int64)
    office = np.isin(codes, plan.office)
    days = moments // DAY_S
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    days = days - np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
    snapped = days * DAY_S + rng.integers(7 * HOUR_S, 16 * HOUR_S, size=len(start))
    inside = office & (snapped >= start) & (snapped <= plan.reference)
    return np.where(inside, snapped, moments)


def _campaign_keys(rng: np.random.Generator, plan: ActivityPlan, codes: np.ndarray, moments: np.ndarray) -> list[Any]:
    """Mails: the monthly newsletter („newsletter-2026-03“) or the quarterly product mailing
    („produktneuheiten-2026-q1“) of their month; events: an event series of their quarter or year."""
    months = moments.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    years, month_numbers = 1970 + months // 12, months % 12 + 1
    quarters = (month_numbers - 1) // 3 + 1
    mail, event = np.isin(codes, plan.mail), np.isin(codes, plan.event)
    series = np.where(
        mail,
        (rng.random(len(codes)) < PRODUCT_MAILING_SHARE).astype(np.int64),
        2 + rng.integers(0, len(EVENT_SERIES), size=len(codes)),
    )
    series = np.where(mail | event, series, -1)
    combined = series * 1_000_000 + years * 100 + np.where(series == 0, month_numbers, quarters)
    unique, inverse = np.unique(combined, return_inverse=True)
    names = np.array([_campaign_key(int(code)) for code in unique], dtype=object)
    return names[inverse].tolist()


def _campaign_key(code: int) -> str | None:
    series, rest = divmod(code, 1_000_000)
    if series < 0:
        return None
    year, period = divmod(rest, 100)
    if series == 0:
        return f"newsletter-{year}-{period:02d}"
    if series == 1:
        return f"produktneuheiten-{year}-q{period}"
    prefix, quarterly = EVENT_SERIES[series - 2]
    return f"{prefix}-{year}-q{period}" if quarterly else f"{prefix}-{year}"


def _timestamps(moments: np.ndarray) -> list[dt.datetime]:
    """UTC datetimes for epoch seconds; each distinct moment is one object (the bulk writer converts each distinct
    value once: to the minute, two years have about a million)."""
    unique, inverse = np.unique(moments, return_inverse=True)
    moments_as_objects = np.array([EPOCH + dt.timedelta(seconds=s) for s in unique.tolist()], dtype=object)
    return moments_as_objects[inverse].tolist()


def activity_columns(
    rng: np.random.Generator, plan: ActivityPlan, ids: np.ndarray, created: np.ndarray, counts: np.ndarray
) -> dict[str, list[Any]]:
    """The activity rows of some contacts, column by column, ordered by contact and time."""
    window_start = plan.reference - WINDOW_DAYS * DAY_S
    contact_ids = np.repeat(ids, counts)
    start = np.repeat(np.maximum(created + HOUR_S, window_start), counts)
    codes = rng.choice(len(plan.types), size=len(contact_ids), p=plan.weights)
    moments = _moments(rng, plan, start, codes) // 60 * 60  # to the minute
    order = np.lexsort((moments, contact_ids))
    contact_ids, codes, moments = contact_ids[order], codes[order], moments[order]
    pick = (rng.random(len(codes)) * plan.subject_count[codes]).astype(np.int64)
    subjects = plan.subject_table[plan.subject_offset[codes] + pick]
    return {
        "contact_id": contact_ids.tolist(),
        "type": np.array(plan.types, dtype=object)[codes].tolist(),
        "occurred_at": _timestamps(moments),
        "subject": subjects.tolist(),
        "campaign_key": _campaign_keys(rng, plan, codes, moments),
    }


@contextmanager
def indexes_rebuilt(session: Session, model: type[Base], *, rows: int) -> Iterator[None]:
    """For a large load into a table holding fewer rows than are coming: drop the table's indexes, load, and build
    them again — sorting once is faster than updating every B-tree row by row (SQLite, 2,000,000 activities:
    24 s instead of 43 s). All in the caller's transaction, so a failure brings the indexes back."""
    table = model.__table__
    existing = session.scalar(select(func.count()).select_from(table)) or 0
    if rows < REBUILD_FROM_ROWS or existing >= rows:
        yield
        return
    connection = session.connection()
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


def write_activities(run: DemoRun, rng: np.random.Generator, contacts: ContactArrays) -> int:
    """`ACTIVITIES_PER_CONTACT` per contact on average, written chunk by chunk of contacts."""
    plan = ActivityPlan.build(run.reference)
    total = ACTIVITIES_PER_CONTACT * len(contacts)
    counts = activity_counts(rng, contacts, total, plan.reference)
    written = 0
    with indexes_rebuilt(run.session, Activity, rows=total):
        for low in range(0, len(contacts), CONTACT_CHUNK):
            high = low + CONTACT_CHUNK
            columns = activity_columns(rng, plan, contacts.ids[low:high], contacts.created[low:high], counts[low:high])
            rows = len(columns["contact_id"])
            insert_columns(run.session, Activity, columns, rows)
            written += rows
    return written


# ---------------------------------------------------------------------------------------- tags


def tagged_contacts(rng: np.random.Generator, contacts: ContactArrays, plan: TagPlan) -> np.ndarray:
    """round(share × contacts) distinct contacts, sorted; engaged tags favour active contacts (weighted
    sampling without replacement: the largest log(u) / weight)."""
    wanted = min(len(contacts), round(plan.share * len(contacts)))
    if wanted == 0:
        return np.array([], dtype=np.int64)
    if plan.engaged:
        keys = np.log(rng.random(len(contacts))) / contacts.engagement
        chosen = np.argpartition(-keys, wanted - 1)[:wanted]
    else:
        chosen = rng.choice(len(contacts), size=wanted, replace=False)
    return np.sort(contacts.ids[chosen])


def write_tags(run: DemoRun, rng: np.random.Generator, contacts: ContactArrays) -> int:
    """Every tag of `TAGS` on its share of the contacts (a contact that has the tag already keeps it once)."""
    written = 0
    for plan in TAGS:
        ids = tagged_contacts(rng, contacts, plan)
        if len(ids) == 0:
            continue
        taken = set(
            run.session.scalars(
                select(ContactTag.contact_id).where(
                    ContactTag.tag == plan.tag, ContactTag.contact_id.between(int(ids[0]), int(ids[-1]))
                )
            )
        )
        new = [contact_id for contact_id in ids.tolist() if contact_id not in taken]
        insert_columns(run.session, ContactTag, {"contact_id": new}, len(new), constants={"tag": plan.tag})
        written += len(new)
    return written


# ---------------------------------------------------------------------------------------- the bulk step


def _generator(run: DemoRun, first: str) -> np.random.Generator:
    """numpy's generator seeded from the run's stream for this step (same seed and contacts, same rows)."""
    return np.random.default_rng(run.rng(f"segments:{first}").getrandbits(64))


@register_demo_step("segment_data", Phase.BULK)
def load_segment_data(run: DemoRun) -> None:
    if not run.created.get("contact"):
        return
    first, last = contact_range(run)
    rng = _generator(run, first)
    contacts = _contacts(run, rng)
    if len(contacts) == 0:
        return
    with larger_page_cache(run.session):
        activities = write_activities(run, rng, contacts)
        tags = write_tags(run, rng, contacts)
    run.counts[LABEL_ACTIVITIES] = activities
    run.counts[LABEL_TAGS] = tags
    run.bulk_imports += [
        BulkImport("activity", "activities", LABEL_ACTIVITIES, activities, first, last),
        BulkImport("contact_tag", "contact_tags", LABEL_TAGS, tags, first, last),
    ]


# ---------------------------------------------------------------------------------------- the demo segments

Rules = dict[str, Any]


@dataclass(frozen=True)
class SegmentContext:
    """What the rules of the demo segments refer to: stage ids and the ids of segments created before."""

    stages: Mapping[str, list[int]]  # stage name → ids in every pipeline
    segments: Mapping[str, int]

    def stage_ids(self, *names: str) -> list[int]:
        return sorted(stage_id for name in names for stage_id in self.stages.get(name, []))


def condition(field: str, operator: str, value: Any = None, **extra: Any) -> Rules:
    node: Rules = {"type": "condition", "field": field, "operator": operator}
    if value is not None:
        node["value"] = value
    return node | extra


def group(op: str, *children: Rules, negate: bool = False) -> Rules:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def _active_newsletter(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        condition("consent", "allowed", "email", value2="newsletter"),
        group(
            "or",
            condition("activity.type", "within", "email_open", amount=90, unit="days"),
            condition("activity.type", "within", "email_click", amount=90, unit="days"),
            condition("contact.tags", "any_of", ["Newsletter-Leser"]),
        ),
    )


def _decision_makers_south(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        condition("account.industry", "in", ["Maschinenbau", "Automobilzulieferer", "Elektrotechnik", "Chemie"]),
        group(
            "or",
            condition("contact.job_title", "contains", "leit"),
            condition("contact.job_title", "contains", "Geschäftsführ"),
            condition("contact.tags", "any_of", ["Entscheider"]),
        ),
        group(
            "or",
            condition("contact.postcode", "starts_with", "7"),
            condition("contact.postcode", "starts_with", "8"),
            condition("contact.postcode", "starts_with", "9"),
        ),
    )


def _hot_deals(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        condition("opportunity.stage", "any_in", ctx.stage_ids("Bedarfsanalyse", "Angebot", "Verhandlung")),
        group(
            "or",
            condition("activity.type", "within", "meeting", amount=60, unit="days"),
            condition("activity.type", "within", "call", amount=60, unit="days"),
            condition("activity.type", "within", "web_visit", amount=30, unit="days"),
            condition("activity.type", "within", "email_click", amount=30, unit="days"),
        ),
    )


def _key_customers(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        condition("revenue.won", "gt", "50000", amount=12, unit="months", currency="EUR"),
        condition("account.employees", "gt", 50),
    )


def _event_invitation(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        group(
            "or",
            condition("contact.tags", "any_of", ["Messe 2026", "Webinar-Teilnehmer"]),
            condition("activity.type", "within", "event_attendance", amount=12, unit="months"),
        ),
        condition("consent", "allowed", "email", value2="veranstaltungen"),
        group(
            "or",
            condition("contact.tags", "any_of", ["Partner"]),
            condition("account.industry", "in", ["Finanzdienstleistungen"]),
            negate=True,
        ),
    )


def _reactivation(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        condition("contact.has_account", "is_true"),
        condition("activity.type", "ever", "email_open"),
        group(
            "or",
            condition("activity.type", "within", "email_open", amount=6, unit="months"),
            condition("activity.type", "within", "web_visit", amount=6, unit="months"),
            condition("activity.type", "within", "meeting", amount=6, unit="months"),
            negate=True,
        ),
    )


def _vip_newsletter(ctx: SegmentContext) -> Rules:
    return group(
        "and",
        condition("segment", "member", ctx.segments[ACTIVE_NEWSLETTER]),
        condition("contact.tags", "any_of", ["VIP", "Entscheider"]),
    )


@dataclass(frozen=True)
class SegmentPlan:
    """A demo segment: dynamic with `rules`, or static with the members `members` picks."""

    name: str
    description: str
    rules: Callable[[SegmentContext], Rules] | None = None
    members: Callable[[Session], list[int]] | None = None


def advisory_board(session: Session, size: int = 24) -> list[int]:
    """One contact (the lowest id) of each of the `size` companies with the most won revenue."""
    top = (
        select(Opportunity.account_id)
        .where(Opportunity.status == "won", Opportunity.account_id.is_not(None))
        .group_by(Opportunity.account_id)
        .order_by(func.sum(Opportunity.amount).desc(), Opportunity.account_id)
        .limit(size)
    )
    stmt = select(func.min(Contact.id)).where(Contact.account_id.in_(top)).group_by(Contact.account_id)
    return sorted(session.scalars(stmt))


ACTIVE_NEWSLETTER = "Newsletter aktiv"
DEMO_SEGMENTS: tuple[SegmentPlan, ...] = (
    SegmentPlan(
        ACTIVE_NEWSLETTER,
        "Newsletter per E-Mail erlaubt und in den letzten 90 Tagen eine Mail geöffnet oder geklickt "
        "(oder als Newsletter-Leser markiert).",
        _active_newsletter,
    ),
    SegmentPlan(
        "Entscheider Industrie Süd",
        "Leitungsfunktionen und Geschäftsführung in Maschinenbau, Automobilzulieferern, Elektrotechnik und Chemie "
        "im PLZ-Gebiet 7–9.",
        _decision_makers_south,
    ),
    SegmentPlan(
        "Heiße Verkaufschancen",
        "Kontakte mit einer Verkaufschance in Bedarfsanalyse, Angebot oder Verhandlung und einem Termin oder Anruf "
        "in den letzten 60 Tagen bzw. einem Website-Besuch oder Klick in einer Mail in den letzten 30 Tagen.",
        _hot_deals,
    ),
    SegmentPlan(
        "Schlüsselkunden",
        "Kontakte von Firmen mit mehr als 50 Mitarbeitenden und über 50.000 € gewonnenem Umsatz in den letzten "
        "12 Monaten.",
        _key_customers,
    ),
    SegmentPlan(
        "Einladung Kundentag",
        "Messe- und Webinar-Kontakte oder Veranstaltungsbesuch im letzten Jahr, mit Einwilligung für Einladungen "
        "per E-Mail – ohne Partner und Finanzdienstleister.",
        _event_invitation,
    ),
    SegmentPlan(
        "Reaktivierung",
        "Firmenkontakte, die früher Mails geöffnet haben, aber seit 6 Monaten weder Mails geöffnet noch die Website "
        "besucht noch einen Termin hatten.",
        _reactivation,
    ),
    SegmentPlan(
        "VIP-Newsletter",
        "Aus dem Segment „Newsletter aktiv“ die VIPs und Entscheider.",
        _vip_newsletter,
    ),
    SegmentPlan(
        "Kundenbeirat",
        "Statische Liste: je ein Ansprechpartner der umsatzstärksten Kunden, von Hand zusammengestellt.",
        members=advisory_board,
    ),
)


def _stages(session: Session) -> dict[str, list[int]]:
    stages: dict[str, list[int]] = {}
    for name, stage_id in session.execute(select(PipelineStage.name, PipelineStage.id).order_by(PipelineStage.id)):
        stages.setdefault(name, []).append(stage_id)
    return stages


def create_demo_segments(factory: sessionmaker[Session], new_uow: Callable[[], UnitOfWork]) -> list[int]:
    """The demo segments that do not exist yet (by name), in `DEMO_SEGMENTS` order; returns the new ids."""
    with factory() as session:
        existing = dict(session.execute(select(Segment.name, Segment.id)).tuples().all())
        stages = _stages(session)
    created: list[int] = []
    for plan in DEMO_SEGMENTS:
        if plan.name in existing:
            continue
        ctx = SegmentContext(stages=stages, segments=existing)
        kind = "dynamic" if plan.rules else "static"
        rules = plan.rules(ctx) if plan.rules else None
        view = create_segment(new_uow(), name=plan.name, kind=kind, rules=rules, description=plan.description)
        existing[plan.name] = view.id
        created.append(view.id)
        if plan.members is not None:
            with factory() as session:
                members = plan.members(session)
            if members:
                add_static_members(new_uow(), view.id, members)
    return created


@register_demo_step("segments", Phase.HISTORY)
def build_segments(run: DemoRun) -> None:
    """The marketing user creates the missing demo segments; then every segment is recalculated once and its reach
    counted (a segment that fails keeps its error in `refresh_error` and is named in the report's notes)."""
    if MARKETING not in run.users:
        return
    actor = run.actor(MARKETING)
    created = create_demo_segments(run.factory, lambda: UnitOfWork(run.factory, actor=actor, clock=run.clock))
    report = recalc_all(UnitOfWork(run.factory, actor=actor, clock=run.clock), reason="demo")
    if not report.ok:
        run.notes.append(report.describe())
    # as the nightly job does after a full run: the list shows each segment's reach per channel
    reach = refresh_due_reach(UnitOfWork(run.factory, actor=actor, clock=run.clock), report)
    if not reach.ok:
        run.notes.append(reach.describe())
    if created:
        run.counts[LABEL_SEGMENTS] = len(created)


# ---------------------------------------------------------------------------------------- an existing database


def add_segment_demo(factory: sessionmaker[Session], *, seed: int = 42, clock: Clock = utc_now) -> DemoReport:
    """Activities, tags and the demo segments for demo data seeded before segments existed (an upgraded
    installation, the benchmark databases): every demo contact is a candidate. Nothing happens when there are
    activities already."""
    return demo.supplement_demo(
        factory,
        name="segments",
        present=Activity,
        skipped="Es gibt bereits {count} Aktivitäten.",
        bulk=load_segment_data,
        history=build_segments,
        seed=seed,
        clock=clock,
    )
