"""What the segment pages show beyond membership: the rules in plain German, the reachable audience (members ∩
consent gate) kept as a snapshot, where a segment is used, and what its members brought in.

- **Reach** (`refresh_reach`, `reach`, `reach_by_channel`): per channel × active purpose the members counted by gate
  reason (`core.consent.gate.summary` with the membership as audience), and per channel the members reachable for at
  least one active purpose (one SQL statement per channel: the union of the gate's allowed sets, counted in the
  database). Over a large segment this costs seconds, so it is stored in `segment_reach` with `computed_at`; the
  scheduled full recalculation refreshes the snapshots of changed segments and of those older than a day
  (`refresh_due_reach`), the segment page on request; a segment of at most REACH_AT_ONCE members gets its snapshot
  right after the app saved or recalculated it (`refresh_reach_if_small`).
- **Usage** (`register_usage`, `usages`): modules that use segments (campaigns, journeys, other segments' rules)
  register a provider `(session, segment_id) -> [SegmentUsage]`.
- **Performance** (`performance`): deals won from members since they joined — a deal counts when a member holds a
  contact role on it and it was closed on or after the member's join day (Europe/Berlin) — and the members' open
  pipeline, both per currency (EUR first, currencies never added); campaign results come from registered providers
  (`register_campaign_results`) once campaigns exist.

Every read is authorised with `segments.read`. `refresh_reach` only stores what `reach` would otherwise compute
(counts, no personal data), so it needs no more than that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Date, and_, case, cast, delete, func, insert, literal, select, union
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.consent.gate import ALLOWED, reachable, summary
from core.consent.vocabulary import CHANNELS
from core.errors import DomainError, NotFound
from core.formatting import DISPLAY_TZ
from core.segments.recalc import Failure, Heartbeat, RecalcReport, dependency_graph, error_text, load_segment
from core.segments.rules import Condition, Group, Node, parse_rules
from core.segments.service import describe_condition
from core.segments.wording import EMPTY_GROUP, GROUP_HEADINGS, Lang, language, phrases
from core.uow import UnitOfWork
from db.models import ConsentPurpose, Opportunity, OpportunityContact, Segment, SegmentMember
from db.models.segments import SegmentReach

REACH_MAX_AGE = dt.timedelta(hours=24)
# A nightly run starts a little earlier or later each day: a snapshot from the previous night counts as due.
SCHEDULE_SLACK = dt.timedelta(hours=1)
CENT = Decimal("0.01")
HOME_CURRENCY = "EUR"
SEGMENT_PAGE = "pages/segment_detail.py"


# --- the rules in plain German -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleLine:
    """One line of a rule summary; `depth` is its nesting level (0 = top)."""

    depth: int
    text: str


def outline_rules(session: Session, rules: Mapping[str, Any] | Group, *, lang: Lang = "de") -> list[RuleLine]:
    """A rule tree as indented lines in `lang` with its AND / OR / NOT nesting, each condition worded by
    `describe_condition`. A group with one child is that child („Nicht: …“ when negated). The builder's
    `service.describe_rules` says the same in one sentence."""
    tree = rules if isinstance(rules, Group) else parse_rules(rules)
    return _describe(session, tree, 0, language(lang))


def _describe(session: Session, node: Node, depth: int, lang: Lang) -> list[RuleLine]:
    if isinstance(node, Condition):
        return [RuleLine(depth, describe_condition(session, node, lang=lang))]
    key = (node.op, node.negate)
    if not node.children:
        return [RuleLine(depth, EMPTY_GROUP[lang][key])]
    if len(node.children) == 1:
        inner = _describe(session, node.children[0], depth, lang)
        if not node.negate:
            return inner
        first, *rest = inner
        return [RuleLine(depth, phrases(lang)["negated_line"].format(text=first.text)), *rest]
    lines = [RuleLine(depth, GROUP_HEADINGS[lang][key])]
    for child in node.children:
        lines.extend(_describe(session, child, depth + 1, lang))
    return lines


def definition(uow: UnitOfWork, segment_id: int, *, lang: Lang = "de") -> list[RuleLine]:
    """The segment's rules in plain words; empty for a static segment (its members come by hand or upload)."""
    with uow:
        uow.authorize("segments.read")
        segment = load_segment(uow, segment_id)
        if segment.rules is None:
            return []
        return outline_rules(uow.session, segment.rules, lang=lang)


# --- reachable audience --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeReach:
    """Members of the segment on one channel for one purpose: how many the gate allows, and why the others not."""

    purpose_id: int
    purpose_key: str
    purpose_de: str
    purpose_en: str
    members: int
    reachable: int
    reasons: Mapping[str, int]


@dataclass(frozen=True)
class ChannelReach:
    """One channel: members, those reachable for at least one active purpose, and the figures per purpose."""

    channel: str
    members: int
    reachable: int
    purposes: tuple[PurposeReach, ...]


@dataclass(frozen=True)
class ReachSnapshot:
    """The stored reach of a segment (`computed_at` None: never computed)."""

    segment_id: int
    computed_at: dt.datetime | None
    channels: tuple[ChannelReach, ...]

    def channel(self, key: str) -> ChannelReach | None:
        return next((c for c in self.channels if c.channel == key), None)

    def is_stale(self, now: dt.datetime, max_age: dt.timedelta = REACH_MAX_AGE) -> bool:
        return self.computed_at is None or self.computed_at < now - max_age


def _audience(segment_id: int) -> Any:
    return select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)


def _active_purposes(session: Session) -> list[ConsentPurpose]:
    stmt = select(ConsentPurpose).where(ConsentPurpose.active.is_(True))
    return list(session.scalars(stmt.order_by(ConsentPurpose.position, ConsentPurpose.id)))


def _reachable_any(
    session: Session, segment_id: int, channel: str, purposes: list[ConsentPurpose], at: dt.datetime
) -> int:
    """Members the gate allows on `channel` for at least one of `purposes`: one statement, counted in the database."""
    allowed = [
        reachable(session, channel=channel, purpose=p.id, at=at, audience=_audience(segment_id)) for p in purposes
    ]
    if not allowed:
        return 0
    contacts = (allowed[0] if len(allowed) == 1 else union(*allowed)).subquery()
    return int(session.scalar(select(func.count()).select_from(contacts)) or 0)


def _reach_rows(session: Session, segment_id: int, at: dt.datetime) -> list[dict[str, Any]]:
    size = int(session.scalar(select(func.count()).select_from(_audience(segment_id).subquery())) or 0)
    purposes = _active_purposes(session)
    rows: list[dict[str, Any]] = []
    for channel in CHANNELS:
        base = {"segment_id": segment_id, "channel": channel, "computed_at": at}
        for purpose in purposes:
            counts = dict(summary(session, channel=channel, purpose=purpose.id, at=at, audience=_audience(segment_id)))
            rows.append(
                base
                | {
                    "purpose_id": purpose.id,
                    "members": sum(counts.values()),
                    "reachable": counts.get(ALLOWED, 0),
                    "reasons": dict(sorted(counts.items())),
                }
            )
        any_purpose = _reachable_any(session, segment_id, channel, purposes, at)
        rows.append(base | {"purpose_id": None, "members": size, "reachable": any_purpose, "reasons": {}})
    return rows


def refresh_reach(uow: UnitOfWork, segment_id: int) -> ReachSnapshot:
    """Count the segment's reachable audience now and store it as the segment's snapshot (replacing the last)."""
    with uow:
        uow.authorize("segments.read")
        load_segment(uow, segment_id)
        session = uow.session
        rows = _reach_rows(session, segment_id, uow.now)
        session.execute(delete(SegmentReach).where(SegmentReach.segment_id == segment_id))
        session.execute(insert(SegmentReach), rows)
        snapshot = _snapshot(session, segment_id)
        uow.commit()
        return snapshot


REACH_AT_ONCE = 5_000
"""Up to this many members the app counts a segment's reach right after saving or recalculating it. The gate decides
per member × channel × active purpose: 4,286 members cost 0.7–0.9 s on SQLite and 1.1–1.35 s on PostgreSQL, 9,570
members 1.5 s and 2.2 s (large bench data). Larger segments get theirs from the scheduled run or the button on the
segment page instead of keeping the user waiting."""


def refresh_reach_if_small(
    uow: UnitOfWork, segment_id: int, size: int, *, limit: int = REACH_AT_ONCE
) -> ReachSnapshot | None:
    """`refresh_reach` for a segment of at most `limit` members (`size`, as its recalculation just counted), else
    None: the snapshot is left to the scheduled run."""
    return refresh_reach(uow, segment_id) if size <= limit else None


def reach(uow: UnitOfWork, segment_id: int) -> ReachSnapshot:
    """The stored snapshot (empty, `computed_at` None, when it was never computed)."""
    with uow:
        uow.authorize("segments.read")
        load_segment(uow, segment_id)
        return _snapshot(uow.session, segment_id)


def _snapshot(session: Session, segment_id: int) -> ReachSnapshot:
    stmt = (
        select(SegmentReach, ConsentPurpose)
        .outerjoin(ConsentPurpose, ConsentPurpose.id == SegmentReach.purpose_id)
        .where(SegmentReach.segment_id == segment_id)
        .order_by(ConsentPurpose.position, ConsentPurpose.id)
    )
    totals: dict[str, SegmentReach] = {}
    per_channel: dict[str, list[PurposeReach]] = {}
    computed_at: dt.datetime | None = None
    for row, purpose in session.execute(stmt).tuples():
        computed_at = row.computed_at
        if purpose is None:
            totals[row.channel] = row
            continue
        per_channel.setdefault(row.channel, []).append(
            PurposeReach(
                purpose.id, purpose.key, purpose.name_de, purpose.name_en, row.members, row.reachable, dict(row.reasons)
            )
        )
    channels = tuple(
        ChannelReach(key, totals[key].members, totals[key].reachable, tuple(per_channel.get(key, [])))
        for key in CHANNELS
        if key in totals
    )
    return ReachSnapshot(segment_id, computed_at, channels)


REACH_COLUMNS = ["segment_id", "computed_at", *CHANNELS]


def reach_by_channel(uow: UnitOfWork) -> pd.DataFrame:
    """Per segment with a snapshot: when it was computed and the members reachable on each channel (for at least
    one active purpose). Columns: segment_id, computed_at, email, sms, phone, post."""
    with uow:
        uow.authorize("segments.read")
        stmt = (
            select(SegmentReach.segment_id, SegmentReach.computed_at, SegmentReach.channel, SegmentReach.reachable)
            .where(SegmentReach.purpose_id.is_(None))
            .order_by(SegmentReach.segment_id)
        )
        by_segment: dict[int, dict[str, Any]] = {}
        for segment_id, computed_at, channel, count in uow.session.execute(stmt).tuples():
            by_segment.setdefault(segment_id, {"segment_id": segment_id, "computed_at": computed_at})[channel] = count
        return pd.DataFrame(list(by_segment.values()), columns=REACH_COLUMNS)


@dataclass(frozen=True)
class ReachReport:
    """Which snapshots the scheduled run refreshed, and which failed."""

    refreshed: tuple[int, ...] = ()
    failures: tuple[Failure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        failed = "; ".join(f"Segment {f.segment_id} „{f.segment_name}“: {f.message}" for f in self.failures)
        return f"Erreichbarkeit nicht berechnet: {failed}" if failed else ""


def refresh_due_reach(
    uow: UnitOfWork,
    report: RecalcReport,
    *,
    max_age: dt.timedelta = REACH_MAX_AGE,
    heartbeat: Heartbeat | None = None,
) -> ReachReport:
    """After a full recalculation: refresh the snapshots of the segments whose membership changed in `report` and
    of those without a snapshot or with one older than `max_age`, one transaction each."""
    changed = {run.segment_id for run in report.runs if run.joined or run.left}
    with uow:
        uow.authorize("segments.read")
        limit = uow.now - max_age + SCHEDULE_SLACK
        stmt = (
            select(Segment.id, Segment.name, func.max(SegmentReach.computed_at))
            .outerjoin(SegmentReach, SegmentReach.segment_id == Segment.id)
            .group_by(Segment.id, Segment.name)
            .order_by(Segment.id)
        )
        names: dict[int, str] = {}
        due: list[int] = []
        for segment_id, name, computed_at in uow.session.execute(stmt).tuples():
            names[segment_id] = name
            if segment_id in changed or computed_at is None or computed_at <= limit:
                due.append(segment_id)
    refreshed: list[int] = []
    failures: list[Failure] = []
    for segment_id in due:
        if heartbeat is not None:
            heartbeat()
        try:
            refresh_reach(uow, segment_id)
        except NotFound:
            continue  # deleted meanwhile
        except (DomainError, SQLAlchemyError) as exc:
            failures.append(Failure(segment_id, names[segment_id], error_text(exc)))
            continue
        refreshed.append(segment_id)
    return ReachReport(tuple(refreshed), tuple(failures))


# --- where a segment is used ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentUsage:
    """Something that uses the segment: its kind („Segment“, „Kampagne“, „Journey“), name, and the page (script
    path under app/) with the record id that opens it."""

    kind_label: str
    name: str
    page: str | None = None
    id: int | None = None


UsageProvider = Callable[[Session, int], list[SegmentUsage]]
_USAGE_PROVIDERS: list[UsageProvider] = []


def register_usage(provider: UsageProvider) -> None:
    """A module says where segments are used: `provider(session, segment_id)` lists its uses of that segment."""
    if provider not in _USAGE_PROVIDERS:
        _USAGE_PROVIDERS.append(provider)


def usages(uow: UnitOfWork, segment_id: int) -> list[SegmentUsage]:
    """Every registered use of the segment, in registration order."""
    with uow:
        uow.authorize("segments.read")
        load_segment(uow, segment_id)
        return [use for provider in _USAGE_PROVIDERS for use in provider(uow.session, segment_id)]


def segments_using(session: Session, segment_id: int) -> list[SegmentUsage]:
    """The segments whose rules name this one („ist (nicht) Mitglied im Segment …“), by name."""
    users = sorted(other for other, targets in dependency_graph(session).items() if segment_id in targets)
    if not users:
        return []
    rows = session.execute(select(Segment.id, Segment.name).where(Segment.id.in_(users)).order_by(Segment.name))
    return [SegmentUsage("Segment", name, SEGMENT_PAGE, other) for other, name in rows.tuples()]


register_usage(segments_using)


# --- performance ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignResult:
    """A campaign sent to the segment, as the campaign module reports it."""

    name: str
    sent_at: dt.datetime | None
    recipients: int
    opened: int
    clicked: int
    converted: int
    page: str | None = None
    id: int | None = None

    def rate(self, count: int) -> float | None:
        return count / self.recipients if self.recipients else None


CampaignProvider = Callable[[Session, int], list[CampaignResult]]
_CAMPAIGN_PROVIDERS: list[CampaignProvider] = []


def register_campaign_results(provider: CampaignProvider) -> None:
    """The campaign module lists the campaigns sent to a segment with their opens, clicks and conversions."""
    if provider not in _CAMPAIGN_PROVIDERS:
        _CAMPAIGN_PROVIDERS.append(provider)


@dataclass(frozen=True)
class DealFigures:
    """Deals of the members in one currency: won since joining (count, revenue) and open now (count, amount)."""

    currency: str
    won_count: int
    won_amount: Decimal
    open_count: int
    open_amount: Decimal


@dataclass(frozen=True)
class Performance:
    segment_id: int
    deals: tuple[DealFigures, ...]  # one per currency, EUR first
    campaigns: tuple[CampaignResult, ...]


def berlin_date(session: Session, timestamp: Any) -> ColumnElement[Any]:
    """The Europe/Berlin calendar day of a UTC timestamp column, in SQL — the day a deal's `closed_date` is dated
    by. PostgreSQL converts with its time zone data; SQLite (no time zones) applies the EU rule: summer time
    (UTC+2) from the last Sunday in March to the last Sunday in October, 01:00 UTC each, else UTC+1."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(str(DISPLAY_TZ), timestamp), Date)
    year = func.strftime("%Y", timestamp)
    starts = func.datetime(year.concat("-04-01"), "weekday 0", "-7 days", "+1 hour")
    ends = func.datetime(year.concat("-11-01"), "weekday 0", "-7 days", "+1 hour")
    summer = and_(timestamp >= starts, timestamp < ends)
    return func.date(timestamp, case((summer, literal("+2 hours")), else_=literal("+1 hour")))


def _member_deals(session: Session, segment_id: int, *, won: bool) -> Any:
    """Ids of the deals where a member holds a contact role: won ones closed on/after that member's join day, or
    open ones."""
    stmt = (
        select(OpportunityContact.opportunity_id)
        .join(SegmentMember, SegmentMember.contact_id == OpportunityContact.contact_id)
        .join(Opportunity, Opportunity.id == OpportunityContact.opportunity_id)
        .where(SegmentMember.segment_id == segment_id)
    )
    if won:
        joined_day = berlin_date(session, SegmentMember.joined_at)
        return stmt.where(Opportunity.status == "won", Opportunity.closed_date >= joined_day)
    return stmt.where(Opportunity.status == "open")


def _sums(session: Session, segment_id: int, *, won: bool) -> dict[str, tuple[int, Decimal]]:
    stmt = (
        select(Opportunity.currency, func.count(Opportunity.id), func.sum(Opportunity.amount))
        .where(Opportunity.id.in_(_member_deals(session, segment_id, won=won)))
        .group_by(Opportunity.currency)
    )
    return {
        currency: (int(count), Decimal(str(amount or 0)).quantize(CENT))
        for currency, count, amount in session.execute(stmt).tuples()
    }


def _currency_order(currencies: Iterable[str]) -> list[str]:
    return sorted(set(currencies), key=lambda c: (c != HOME_CURRENCY, c))


def performance(uow: UnitOfWork, segment_id: int) -> Performance:
    """Deals won from members since they joined and the members' open pipeline (per currency), and the campaigns
    sent to the segment."""
    with uow:
        uow.authorize("segments.read")
        load_segment(uow, segment_id)
        session = uow.session
        won = _sums(session, segment_id, won=True)
        pipeline = _sums(session, segment_id, won=False)
        zero = (0, Decimal("0.00"))
        deals = tuple(
            DealFigures(c, *won.get(c, zero), *pipeline.get(c, zero)) for c in _currency_order([*won, *pipeline])
        )
        campaigns = tuple(result for provider in _CAMPAIGN_PROVIDERS for result in provider(session, segment_id))
        return Performance(segment_id, deals, campaigns)
