"""Segments benchmark: counting, recalculating and reading segments over the whole demo audience.

`python -m bench.segments [--size large] [--backend sqlite|postgresql|all] [--reuse]` uses the databases of
bench.sales (the SQLite file `--sqlite-path`, the PostgreSQL database `--postgres-url`, default
`crm_bench_sales`): seeded afresh, or with `--reuse` kept as they are. A database seeded before consent or
segments existed gets the consent history (bench.consent.prepare) and the segment demo data
(`core.demo_segments.add_segment_demo`: `large` 5,000,000 activities, tags, the demo segments) once. Then, at
one evaluation moment, median of `--repeat` warm runs (as the system user):

- the count of a six-condition rule tree with nested groups (`SIX_CONDITIONS`: position, industry, deal in a
  stage, won revenue, e-mail opened in the last 90 days, newsletter consent) through the compiler (what the
  builder's live count runs), the same count as a hand-written SQL query (`HAND_WRITTEN`, text()) and the ratio of both
  (target ≤ 150 %); both must agree, or the run stops;
- the first full recalculation of a new segment and a second one without changes, for the six-condition
  segment (target < 3 s) and for a large one (`LARGE_SEGMENT`, about 14 % of the contacts: 140,000 at `large`);
- the incremental refresh (`recalc_touched`) after `--touched` contacts (1,000) changed their position through
  the audited record update;
- a page of 50 members after a contact id in the middle (keyset, `members_page`) and `why_member` for a member of
  the six-condition segment.

The benchmark segments are deleted at the end. `measure()` is the part `python -m bench` runs for every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Date, bindparam, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench import consent
from bench.sales import bench_database, bench_parser, run_backends
from bench.scenarios import Measurement, median_seconds
from core.consent.gate import load_purpose
from core.demo_segments import add_segment_demo, condition, group
from core.formatting import DISPLAY_TZ, fmt_number
from core.gdpr.deadlines import add_months
from core.permissions import SYSTEM
from core.records import update_record
from core.segments import compiler
from core.segments.recalc import recalc_touched, recalculate
from core.segments.service import create_segment, delete_segment, members_page, why_member
from core.uow import UnitOfWork, utc_now
from db.base import UTCDateTime
from db.models import Activity, Contact, ContactTag, PipelineStage, ProcessingRestriction, Segment, SegmentMember

T = TypeVar("T")
TARGET_COUNT_MS = 1_000
TARGET_RECALC_MS = 3_000
TARGET_RATIO = 150  # per cent of the hand-written query's time
TOUCHED = 1_000
PAGE_SIZE = 50
INDUSTRIES = ["Maschinenbau", "Automobilzulieferer", "Elektrotechnik", "Chemie", "IT-Dienstleistungen"]
STAGES = ("Angebot", "Verhandlung")
JOB_TITLE_PART = "leit"
ACTIVE_DAYS = 90
WON_MONTHS = 12
WON_AMOUNT = 10_000
PURPOSE = "newsletter"
SIX_NAME = "Benchmark: sechs Bedingungen"
LARGE_NAME = "Benchmark: großes Segment"
LARGE_SEGMENT = group(
    "and",
    condition("account.industry", "in", ["Maschinenbau", "Automobilzulieferer", "Elektrotechnik"]),
    group(
        "or",
        condition("activity.type", "within", "email_open", amount=90, unit="days"),
        condition("activity.type", "within", "web_visit", amount=90, unit="days"),
    ),
)


def six_conditions(stage_ids: Sequence[int]) -> dict[str, Any]:
    """Position contains „leit“ AND industry in five AND (a deal in Angebot/Verhandlung OR (more than 10,000 €
    won in 12 months AND an e-mail opened in the last 90 days)) AND e-mail newsletter allowed."""
    return group(
        "and",
        condition("contact.job_title", "contains", JOB_TITLE_PART),
        condition("account.industry", "in", INDUSTRIES),
        group(
            "or",
            condition("opportunity.stage", "any_in", list(stage_ids)),
            group(
                "and",
                condition("revenue.won", "gt", str(WON_AMOUNT), amount=WON_MONTHS, unit="months", currency="EUR"),
                condition("activity.type", "within", "email_open", amount=ACTIVE_DAYS, unit="days"),
            ),
        ),
        condition("consent", "allowed", "email", value2=PURPOSE),
    )


# The same segment as a person would write it: the consent gate's rules spelled out (an address, not suppressed,
# no restriction or objection, the latest ledger entry for e-mail × newsletter granted and not expired).
HAND_WRITTEN = """
SELECT count(*) FROM contacts c
WHERE c.job_title {like} :job_title
  AND c.account_id IN (SELECT a.id FROM accounts a WHERE a.industry IN :industries)
  AND (
    c.id IN (SELECT oc.contact_id FROM opportunity_contacts oc JOIN opportunities o ON o.id = oc.opportunity_id
             WHERE o.stage_id IN :stages)
    OR (
      c.account_id IN (SELECT o.account_id FROM opportunities o
                       WHERE o.status = 'won' AND o.currency = 'EUR' AND o.closed_date BETWEEN :won_since AND :today
                       GROUP BY o.account_id HAVING sum(o.amount) > :won_amount)
      AND c.id IN (SELECT ac.contact_id FROM activities ac
                   WHERE ac.type = 'email_open' AND ac.occurred_at BETWEEN :active_since AND :at)
    )
  )
  AND c.email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.digest = c.email_digest)
  AND c.id NOT IN (SELECT r.contact_id FROM processing_restrictions r
                   WHERE r.kind IN :blocking AND r.started_at <= :at AND (r.lifted_at IS NULL OR r.lifted_at > :at))
  AND EXISTS (
    SELECT 1 FROM consent_entries e
    WHERE e.contact_id = c.id AND e.channel = 'email' AND e.purpose_id = :purpose AND e.occurred_at <= :at
      AND e.status = 'granted' AND (e.valid_until IS NULL OR e.valid_until > :at)
      AND NOT EXISTS (SELECT 1 FROM consent_entries later
                      WHERE later.channel = e.channel AND later.purpose_id = e.purpose_id
                        AND later.contact_id = e.contact_id AND later.id > e.id AND later.occurred_at <= :at))
"""


@dataclass(frozen=True)
class Setting:
    """What the measured queries refer to in this database, at one evaluation moment."""

    at: dt.datetime
    stage_ids: list[int]
    purpose_id: int
    blocking: list[str]  # restriction kinds that exclude a contact from this purpose

    @property
    def rules(self) -> dict[str, Any]:
        return six_conditions(self.stage_ids)


def setting(session: Session, at: dt.datetime) -> Setting:
    stage_ids = sorted(session.scalars(select(PipelineStage.id).where(PipelineStage.name.in_(STAGES))))
    purpose = load_purpose(session, PURPOSE)
    if not purpose.active:
        raise SystemExit(f"Zweck „{PURPOSE}“ ist nicht aktiv: die Segmentmessung braucht ihn.")
    blocking = ["restriction", "objection"] if purpose.marketing else ["restriction"]
    return Setting(at, stage_ids, purpose.id, blocking)


def hand_written_count(session: Session, setting: Setting) -> int:
    dialect = session.get_bind().dialect.name
    like = "LIKE" if dialect == "sqlite" else "ILIKE"  # SQLite's LIKE ignores the case of A–Z already
    today = setting.at.astimezone(DISPLAY_TZ).date()  # the compiler's calendar day
    stmt = text(HAND_WRITTEN.format(like=like)).bindparams(
        bindparam("industries", expanding=True),
        bindparam("stages", expanding=True),
        bindparam("blocking", expanding=True),
        bindparam("at", type_=UTCDateTime()),
        bindparam("active_since", type_=UTCDateTime()),
        bindparam("won_since", type_=Date()),
        bindparam("today", type_=Date()),
    )
    values = {
        "job_title": f"%{JOB_TITLE_PART}%",
        "industries": INDUSTRIES,
        "stages": setting.stage_ids,
        "blocking": setting.blocking,
        "at": setting.at,
        "active_since": setting.at - dt.timedelta(days=ACTIVE_DAYS),
        "won_since": add_months(today, -WON_MONTHS),
        "today": today,
        "won_amount": WON_AMOUNT,
        "purpose": setting.purpose_id,
    }
    compiler.prepare_transaction(session)  # the same settings as the compiler's transaction gets
    return int(session.scalar(stmt, values) or 0)


# ---------------------------------------------------------------------------------------- timing helpers


def _system(factory: sessionmaker[Session]) -> UnitOfWork:
    return UnitOfWork(factory, actor=SYSTEM)


def _timed(action: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median seconds of `repeat` runs after one warm run, whose result is returned."""
    result = action()
    return median_seconds(action, repeat), result


def _session_call(factory: sessionmaker[Session], query: Callable[[Session], T]) -> Callable[[], T]:
    def once() -> T:
        with factory() as session:
            return query(session)

    return once


def _ms(backend: str, size: str, name: str, seconds: float, target_ms: int | None = None) -> Measurement:
    label = f"{name} (Ziel < {fmt_number(target_ms)} ms)" if target_ms else name
    return Measurement(backend, size, label, seconds * 1000, "ms")


# ---------------------------------------------------------------------------------------- measurements


def count_measurements(
    factory: sessionmaker[Session], backend: str, size: str, setting: Setting, repeat: int
) -> list[Measurement]:
    """The six-condition count through the compiler (the query of the builder's live count) and by hand, each in a
    session of its own; both must agree."""
    compiled_s, compiled = _timed(
        _session_call(factory, lambda s: compiler.count(s, setting.rules, at=setting.at)), repeat
    )
    hand_s, by_hand = _timed(_session_call(factory, lambda s: hand_written_count(s, setting)), repeat)
    if compiled != by_hand:
        raise SystemExit(f"Compiler zählt {compiled}, handgeschriebenes SQL {by_hand}: die Abfragen weichen ab.")
    print(f"  sechs Bedingungen: {fmt_number(compiled)} Kontakte", flush=True)
    ratio = 100 * compiled_s / hand_s if hand_s else 0.0
    return [
        _ms(backend, size, "Segment zählen: sechs Bedingungen, verschachtelt (Compiler)", compiled_s, TARGET_COUNT_MS),
        _ms(backend, size, "Segment zählen: dieselbe Regel als handgeschriebenes SQL", hand_s),
        Measurement(backend, size, f"Verhältnis Compiler / handgeschrieben (Ziel ≤ {TARGET_RATIO} %)", ratio, "%"),
    ]


@dataclass
class Recalculated:
    """A benchmark segment measured from its creation: its id and the seconds of each first/second run."""

    segment_id: int
    size: int
    first: list[float]
    second: list[float]


def _drop_benchmark_segment(factory: sessionmaker[Session], name: str) -> None:
    with factory() as session:
        segment_id = session.scalar(select(Segment.id).where(Segment.name == name))
    if segment_id is not None:
        delete_segment(_system(factory), segment_id)


def recalculations(
    factory: sessionmaker[Session], name: str, rules: dict[str, Any], at: dt.datetime, repeat: int
) -> Recalculated:
    """`repeat` times: a new segment, its first recalculation and a second one with nothing changed. The last
    segment stays (members page, why_member, incremental refresh)."""
    first: list[float] = []
    second: list[float] = []
    segment_id, size = 0, 0
    for _ in range(max(1, repeat)):
        _drop_benchmark_segment(factory, name)
        segment_id = create_segment(_system(factory), name=name, rules=rules).id
        for timings in (first, second):
            started = time.perf_counter()
            run = recalculate(_system(factory), segment_id, reason="benchmark", at=at)
            timings.append(time.perf_counter() - started)
            size = run.size
        if run.joined or run.left:
            raise SystemExit(f"{name}: die zweite Neuberechnung hat {run.joined} + {run.left} Änderungen")
    return Recalculated(segment_id, size, first, second)


def _contact_ids(factory: sessionmaker[Session]) -> list[int]:
    """Every contact without a restriction, by id."""
    with factory() as session:
        restricted = select(ProcessingRestriction.contact_id)
        return list(session.scalars(select(Contact.id).where(Contact.id.not_in(restricted)).order_by(Contact.id)))


def touch_contacts(factory: sessionmaker[Session], contact_ids: Sequence[int]) -> None:
    """A batch edit: these contacts get another position (with or without „leit“), each change audited and
    announced as `crm.contact.updated`, in one transaction."""
    uow = _system(factory)
    with uow:
        for start in range(0, len(contact_ids), 500):
            chunk = contact_ids[start : start + 500]
            for contact in uow.session.scalars(select(Contact).where(Contact.id.in_(chunk))):
                leading = JOB_TITLE_PART in (contact.job_title or "").lower()
                title = "Vertrieb" if leading else "Vertriebsleiter"
                update_record(
                    uow,
                    contact,
                    {"job_title": title},
                    entity="contact",
                    expected_version=None,
                    subject_type="contact",
                    reason="Benchmark: Position geändert",
                )
        uow.commit()


def incremental_refresh(
    factory: sessionmaker[Session], at: dt.datetime, repeat: int, touched: int
) -> tuple[list[float], int]:
    """Seconds of `recalc_touched` after each batch of `touched` changed contacts (another batch each time), and
    the contacts that joined or left in the last one. One refresh before catches up with earlier events."""
    recalc_touched(_system(factory), at=at)
    ids = _contact_ids(factory)
    step = max(1, len(ids) // max(1, touched))
    timings: list[float] = []
    changed = 0
    for offset in range(max(1, repeat)):
        batch = ids[offset % step :: step][:touched]
        touch_contacts(factory, batch)
        started = time.perf_counter()
        report = recalc_touched(_system(factory), at=at)
        timings.append(time.perf_counter() - started)
        if not report.ok:
            raise SystemExit(report.describe())
        changed = sum(run.joined + run.left for run in report.runs)
    return timings, changed


def member_reads(
    factory: sessionmaker[Session], segment_id: int, member_segment_id: int, repeat: int
) -> tuple[float, float]:
    """Seconds of a members page after the middle member (keyset) and of why_member for a member of
    `member_segment_id`."""
    with factory() as session:
        members = select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)
        middle = session.scalar(
            members.order_by(SegmentMember.contact_id).offset(max(0, _size(session, segment_id) // 2)).limit(1)
        )
        member = session.scalar(
            select(SegmentMember.contact_id)
            .where(SegmentMember.segment_id == member_segment_id)
            .order_by(SegmentMember.contact_id)
            .limit(1)
        )
    page_s, _ = _timed(
        lambda: members_page(_system(factory), segment_id, after_contact_id=middle, limit=PAGE_SIZE), repeat
    )
    why_s = 0.0
    if member is not None:
        why_s, reasons = _timed(lambda: why_member(_system(factory), member_segment_id, member), repeat)
        print(f"  Warum Mitglied (Kontakt {member}): {' '.join(reasons)}", flush=True)
    return page_s, why_s


def _size(session: Session, segment_id: int) -> int:
    return int(session.scalar(select(Segment.member_count).where(Segment.id == segment_id)) or 0)


def data_size(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
        activities = session.scalar(select(func.count()).select_from(Activity)) or 0
        tags = session.scalar(select(func.count()).select_from(ContactTag)) or 0
        segments = session.scalar(select(func.count()).select_from(Segment)) or 0
    return (
        f"{fmt_number(contacts)} Kontakte, {fmt_number(activities)} Aktivitäten, {fmt_number(tags)} Schlagworte, "
        f"{fmt_number(segments)} Segmente"
    )


def measure(
    factory: sessionmaker[Session], backend: str, size: str, repeat: int = 3, touched: int = TOUCHED
) -> list[Measurement]:
    """Every measurement of the module docstring at one evaluation moment (the benchmark segments are removed
    afterwards)."""
    at = utc_now()
    with factory() as session:
        current = setting(session, at)
    results = count_measurements(factory, backend, size, current, repeat)
    try:
        six = recalculations(factory, SIX_NAME, current.rules, at, repeat)
        large = recalculations(factory, LARGE_NAME, LARGE_SEGMENT, at, repeat)
        print(
            f"  Segmente: sechs Bedingungen {fmt_number(six.size)}, groß {fmt_number(large.size)} Mitglieder",
            flush=True,
        )
        page_s, why_s = member_reads(factory, large.segment_id, six.segment_id, repeat)
        refresh, changed = incremental_refresh(factory, at, repeat, touched)
        print(f"  inkrementell: {fmt_number(changed)} Ein-/Austritte nach {fmt_number(touched)} Änderungen", flush=True)
    finally:
        for name in (SIX_NAME, LARGE_NAME):
            _drop_benchmark_segment(factory, name)
    median = statistics.median
    return results + [
        _ms(backend, size, "Sechs-Bedingungen-Segment: erste Neuberechnung", median(six.first), TARGET_RECALC_MS),
        _ms(backend, size, "Sechs-Bedingungen-Segment: zweite Neuberechnung ohne Änderung", median(six.second)),
        _ms(backend, size, "Großes Segment: erste Neuberechnung", median(large.first), TARGET_RECALC_MS),
        _ms(backend, size, "Großes Segment: zweite Neuberechnung ohne Änderung", median(large.second)),
        _ms(backend, size, f"Inkrementell nach {fmt_number(touched)} geänderten Kontakten", median(refresh)),
        _ms(backend, size, f"Mitgliederseite ({PAGE_SIZE} Zeilen nach Kontakt-ID, Keyset)", page_s),
        _ms(backend, size, "Warum Mitglied? (why_member)", why_s),
    ]


# ---------------------------------------------------------------------------------------- preparing the database


def prepare(factory: sessionmaker[Session], backend: str, size: str, seed: int) -> list[Measurement]:
    """The segment demo data for a database seeded before segments existed (only once)."""
    started = time.perf_counter()
    report = add_segment_demo(factory, seed=seed)
    if report.skipped_reason:
        return []
    print(f"  {report.describe()}", flush=True)
    return [Measurement(backend, size, "Segment-Demodaten ergänzen", time.perf_counter() - started, "s")]


def run(backend: str, size: str, args: argparse.Namespace) -> list[Measurement]:
    with bench_database(backend, size, args) as db:
        results = db.results + consent.prepare(db.engine, db.factory, backend, size, args.seed)
        results += prepare(db.factory, backend, size, args.seed)
        print(f"{backend} / {size}: {data_size(db.factory)}", flush=True)
        return results + measure(db.factory, backend, size, args.repeat, args.touched)


def main() -> None:
    parser = bench_parser("python -m bench.segments", __doc__, repeat=3)
    parser.add_argument("--touched", type=int, default=TOUCHED, help="geänderte Kontakte vor der Aktualisierung")
    run_backends(parser.parse_args(), run)


if __name__ == "__main__":
    main()
