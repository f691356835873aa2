"""The pipeline board (Kanban): one column per stage with count, sums and its first cards.

Counts and sums are computed in SQL with GROUP BY (stage, currency) — amounts in different
currencies are never added up. Open stages show every open deal; the won and lost stages show
only deals closed since `today - include_closed_days`. The weighted amount uses the effective
probability (`core.sales.pipelines.effective_probability`, here as a SQL CASE).

Queries are shaped for the indexes on opportunities: open deals are read by
(pipeline_id, stage_id), recently closed ones by closed_date, cards per stage with a LIMIT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select

from core.search import contains
from sqlalchemy.orm import aliased

from core.errors import NotFound, ValidationFailed
from core.sales.opportunities import local_today
from core.sales.pipelines import PipelineView, StageView, load_pipeline
from core.uow import UnitOfWork
from db.models import Account, Opportunity, PipelineStage, User

CENT = Decimal("0.01")
MAX_CLOSED_DAYS = 3650
MAX_CARDS_PER_STAGE = 500


@dataclass(frozen=True)
class MoneyTotal:
    """Count and sums of one column in one currency."""

    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class BoardCard:
    id: int
    name: str
    stage_id: int
    account_id: int
    account_name: str
    amount: Decimal
    currency: str
    probability: int
    owner_id: int | None
    owner_name: str | None
    expected_close_date: dt.date | None
    closed_date: dt.date | None
    days_in_stage: int
    days_unchanged: int
    is_stale: bool
    is_overdue: bool
    version: int

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(CENT, ROUND_HALF_UP)

    @property
    def owner_initials(self) -> str:
        """„Erika Mustermann“ → „EM“ (first letters of the first and the last word)."""
        words = (self.owner_name or "").split()
        return "".join(w[0] for w in (words[:1] + words[1:][-1:])).upper()


@dataclass(frozen=True)
class BoardColumn:
    stage: StageView
    count: int
    totals: tuple[MoneyTotal, ...]  # one per currency, EUR first
    cards: tuple[BoardCard, ...]

    @property
    def hidden(self) -> int:
        """Deals in this column that are not among the cards shown."""
        return self.count - len(self.cards)


@dataclass(frozen=True)
class BoardView:
    pipeline: PipelineView
    columns: tuple[BoardColumn, ...]
    today: dt.date
    closed_since: dt.date

    def column(self, stage_id: int) -> BoardColumn:
        for column in self.columns:
            if column.stage.id == stage_id:
                return column
        raise NotFound(f"Phase {stage_id} gehört nicht zur Pipeline „{self.pipeline.name}“.")

    def card(self, opportunity_id: int) -> BoardCard | None:
        return next((c for col in self.columns for c in col.cards if c.id == opportunity_id), None)

    @property
    def count(self) -> int:
        return sum(column.count for column in self.columns)


def board(
    uow: UnitOfWork,
    *,
    pipeline_id: int,
    owner_id: int | None = None,
    team_id: int | None = None,
    search: str | None = None,
    include_closed_days: int = 30,
    cards_per_stage: int = 50,
) -> BoardView:
    """The board of one pipeline, filtered by owner, team and a search over deal and company name.

    Won/lost columns hold the deals closed between `today - include_closed_days` and today.
    """
    _check_limits(include_closed_days, cards_per_stage)
    with uow:
        uow.authorize("opportunities.read")
        pipeline = load_pipeline(uow, pipeline_id)
        today = local_today(uow.now)
        scope = _Scope(
            filters=_filters(uow, owner_id, team_id, search),
            since=today - dt.timedelta(days=include_closed_days),
            today=today,
        )
        totals = _totals(uow, pipeline, scope)
        open_count = sum(t.count for s in pipeline.open_stages for t in totals.get(s.id, ()))
        columns = []
        for stage in _column_order(pipeline):
            count = sum(t.count for t in totals.get(stage.id, ()))
            cards = _cards(uow, stage, scope, cards_per_stage, count=count, open_count=open_count) if count else ()
            columns.append(BoardColumn(stage=stage, count=count, totals=totals.get(stage.id, ()), cards=cards))
        return BoardView(pipeline=pipeline, columns=tuple(columns), today=today, closed_since=scope.since)


@dataclass(frozen=True)
class _Scope:
    filters: list[ColumnElement[bool]]
    since: dt.date
    today: dt.date

    def restrict(self, stmt: Select[Any], stages: Sequence[StageView]) -> Select[Any]:
        """Deals matching the filters; in closed stages only those closed since `since` (the closed_date range
        with both bounds makes SQLite, too, read recently closed deals by that index)."""
        stmt = stmt.where(*self.filters)
        if all(s.is_open for s in stages):
            return stmt
        return stmt.where(
            Opportunity.status.in_(("won", "lost")), Opportunity.closed_date.between(self.since, self.today)
        )


def _check_limits(include_closed_days: int, cards_per_stage: int) -> None:
    errors: dict[str, str] = {}
    if not 0 <= include_closed_days <= MAX_CLOSED_DAYS:
        errors["include_closed_days"] = f"zwischen 0 und {MAX_CLOSED_DAYS} Tagen"
    if not 1 <= cards_per_stage <= MAX_CARDS_PER_STAGE:
        errors["cards_per_stage"] = f"zwischen 1 und {MAX_CARDS_PER_STAGE} Karten"
    if errors:
        raise ValidationFailed(errors)


def _column_order(pipeline: PipelineView) -> list[StageView]:
    """Open stages in their order, then Gewonnen, then Verloren."""
    rank = {"open": 0, "won": 1, "lost": 2}
    return sorted(pipeline.stages, key=lambda s: (rank[s.kind], s.position, s.id))


def _filters(
    uow: UnitOfWork, owner_id: int | None, team_id: int | None, search: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if owner_id is not None:
        conditions.append(Opportunity.owner_id == owner_id)
    if team_id is not None:
        conditions.append(Opportunity.owner_id.in_(select(User.id).where(User.team_id == team_id)))
    if search and search.strip():
        conditions.append(
            contains(uow.session, Opportunity, search, via=[(Opportunity.account_id, Account)], probe=True)
        )
    return conditions


def _totals(uow: UnitOfWork, pipeline: PipelineView, scope: _Scope) -> dict[int, tuple[MoneyTotal, ...]]:
    """Count, sum and weighted sum per (stage, currency): one query for the open, one for the closed stages."""
    probability = case(
        (PipelineStage.kind == "open", func.coalesce(Opportunity.probability_override, PipelineStage.probability)),
        else_=PipelineStage.probability,
    )
    stmt = (
        select(
            Opportunity.stage_id,
            Opportunity.currency,
            func.count().label("count"),
            func.sum(Opportunity.amount).label("amount"),
            func.sum(Opportunity.amount * probability).label("weighted_cents"),
        )
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(Opportunity.pipeline_id == pipeline.id)
        .group_by(Opportunity.stage_id, Opportunity.currency)
    )
    by_stage: dict[int, list[MoneyTotal]] = {}
    for group in (pipeline.open_stages, [s for s in pipeline.stages if not s.is_open]):
        if not group:
            continue
        restricted = scope.restrict(stmt, group).where(Opportunity.stage_id.in_([s.id for s in group]))
        for row in uow.session.execute(restricted):
            by_stage.setdefault(row.stage_id, []).append(
                MoneyTotal(
                    currency=row.currency,
                    count=int(row.count),
                    amount=_money(row.amount),
                    weighted=(_decimal(row.weighted_cents) / 100).quantize(CENT, ROUND_HALF_UP),
                )
            )
    return {
        stage_id: tuple(sorted(totals, key=lambda t: (t.currency != "EUR", t.currency)))
        for stage_id, totals in by_stage.items()
    }


def _cards(
    uow: UnitOfWork, stage: StageView, scope: _Scope, limit: int, *, count: int, open_count: int
) -> tuple[BoardCard, ...]:
    """The first `limit` cards of a stage: open ones by close date (soonest first, undated last), closed ones
    most recently closed first; then by amount, largest first."""
    owner = aliased(User)
    stmt = select(
        Opportunity.id,
        Opportunity.name,
        Opportunity.account_id,
        Account.name.label("account_name"),
        Opportunity.amount,
        Opportunity.currency,
        Opportunity.probability_override,
        Opportunity.owner_id,
        owner.display_name.label("owner_name"),
        Opportunity.expected_close_date,
        Opportunity.closed_date,
        Opportunity.stage_entered_at,
        Opportunity.updated_at,
        Opportunity.version,
    ).outerjoin(owner, owner.id == Opportunity.owner_id)
    stmt = stmt.join(Account, Account.id == Opportunity.account_id)
    stmt = scope.restrict(stmt, [stage])
    tie_break = (Opportunity.amount.desc(), Opportunity.id)
    if not stage.is_open:
        rows = list(
            uow.session.execute(
                stmt.where(Opportunity.stage_id == stage.id)
                .order_by(Opportunity.closed_date.desc(), *tie_break)
                .limit(limit)
            )
        )
    else:
        date = Opportunity.expected_close_date
        # `status` mirrors the stage kind; naming it lets (status, expected_close_date) or (owner_id, status) serve.
        open_deals = stmt.where(Opportunity.status == "open")
        in_stage = _in_stage(uow, stage, limit, count=count, open_count=open_count, filtered=bool(scope.filters))
        dated = open_deals.where(in_stage, date.is_not(None)).order_by(date, *tie_break)
        rows = list(uow.session.execute(dated.limit(limit)))
        if len(rows) < limit:
            undated = open_deals.where(Opportunity.stage_id == stage.id, date.is_(None)).order_by(*tie_break)
            rows += uow.session.execute(undated.limit(limit - len(rows)))
    return tuple(_card(row, stage, uow.now, scope.today) for row in rows)


def _in_stage(
    uow: UnitOfWork, stage: StageView, limit: int, *, count: int, open_count: int, filtered: bool
) -> ColumnElement[bool]:
    """The stage condition for reading a stage's first dated cards.

    PostgreSQL walks (status, expected_close_date) by itself when that is cheaper. SQLite, lacking histogram
    statistics, always takes the (pipeline_id, stage_id) index and sorts every deal of the stage, while the walk
    reads about limit × open_count / count rows and stops: for a stage holding a large share of the open deals,
    stage_id is hidden from its planner (`stage_id + 0`). With filters (owner, team, search) matches are rarer than
    the counts suggest, and the stage or owner index is the safe plan.
    """
    walk = not filtered and uow.session.get_bind().dialect.name == "sqlite" and count * count > limit * open_count
    return Opportunity.stage_id + 0 == stage.id if walk else Opportunity.stage_id == stage.id


def _card(row: Any, stage: StageView, now: dt.datetime, today: dt.date) -> BoardCard:
    unchanged = max(0, (now - row.updated_at).days)
    override = row.probability_override
    return BoardCard(
        id=row.id,
        name=row.name,
        stage_id=stage.id,
        account_id=row.account_id,
        account_name=row.account_name,
        amount=_money(row.amount),
        currency=row.currency,
        probability=override if stage.is_open and override is not None else stage.probability,
        owner_id=row.owner_id,
        owner_name=row.owner_name,
        expected_close_date=row.expected_close_date,
        closed_date=row.closed_date,
        days_in_stage=max(0, (now - row.stage_entered_at).days),
        days_unchanged=unchanged,
        is_stale=stage.is_open and stage.stale_after_days is not None and unchanged >= stage.stale_after_days,
        is_overdue=stage.is_open and row.expected_close_date is not None and row.expected_close_date < today,
        version=row.version,
    )


def _decimal(value: Any) -> Decimal:
    """SQLite returns sums of NUMERIC columns as floats; PostgreSQL as exact decimals."""
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(value: Any) -> Decimal:
    return _decimal(value).quantize(CENT, ROUND_HALF_UP)
