"""Funnel analysis of a cohort of deals, computed from the stage history (and each deal's amount).

The cohort is every live deal whose `created` history row lies in the period (Europe/Berlin local
dates, both ends included) and in the chosen pipeline, optionally of one owner or team, in one
currency. Deleted deals drop out (the cohort joins live opportunities); apart from that filter and each
deal's amount (see *value*), only `opportunity_stage_events` and the pipeline's stages are read — the
history is the single source of reach, state and time.

Definitions (also in docs/architecture.md, "Sales reports"):

- **rank** of a stage: its position for open stages; the won stage ranks above every open stage.
- **reached** (open stage s): some history row of the deal (created/moved/reopened/won; revised rows
  stay where the deal is) entered a stage of this pipeline whose rank ≥ rank(s). Skipping a stage
  counts as passing it; a later backward move does not undo a reach; a deal created directly as lost
  reaches nothing.
- **won column**: deals whose CURRENT status is won (they entered the won stage once more than they
  left it), so a won deal that was reopened and is open again has not been won.
- **value**: each deal's amount at its most recent history row (the cohort has one currency). That is
  the live `opportunities.amount`: every change of amount or currency writes a history row (`revised`
  if the stage stays) in the same transaction (core/sales/opportunities.py `_apply_edit`), so it is read
  from the deal, and `revised` rows, about half of the history, are not read at all.
- **conversion i → i+1** = reached(i+1) / reached(i) (by count and by value); **drop-off** =
  reached(i) − reached(i+1): deals lost on the way or still open at or before stage i.
- **Ø days in stage**: per deal, the time from entering the stage to the next history row, summed
  over all its stays there (revised rows keep the stage, so they do not split a stay; the open end
  of the current stage runs to now); averaged over the deals that stayed in the stage.
- **win rate**: won / (won + lost) among the cohort's closed deals (count and value);
  **Ø days to close**: created → most recent won/lost row, over the deals currently won or lost.

Everything is aggregated in SQL in one statement: the cohort's `created` rows, then one row per deal
from a single pass over its non-revised history rows (plain aggregates, no window functions; the
partial index `ix_opportunity_stage_events_funnel` holds every column it needs), then a handful of
rows per (reach, state); Python only folds those few rows into stages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Subquery,
    and_,
    case,
    func,
    literal,
    literal_column,
    not_,
    select,
    text,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from core.errors import ValidationFailed
from core.formatting import DISPLAY_TZ
from core.sales.opportunities import CURRENCIES
from core.sales.pipelines import PipelineView, StageView, load_pipeline
from core.uow import UnitOfWork
from core.validation import InputModel, field_error, parse
from db.models import Account, Opportunity, OpportunityStageEvent, PipelineStage, User

WON_RANK = 1_000_000
CLOSED = ("won", "lost")
STATES = {0: "open", 1: "won", 2: "lost"}  # the `state` column of the per-deal rows
WON_STATE = 1
CENT = Decimal("0.01")
REVISED = literal_column("'revised'")  # a literal, not a parameter, so it matches the partial index
DEAL_COLUMNS = [
    "id",
    "name",
    "account_name",
    "owner_name",
    "stage_name",
    "status",
    "amount",
    "currency",
    "created_at",
]


class FunnelQuery(InputModel):
    pipeline_id: int
    created_from: dt.date
    created_to: dt.date
    owner_id: int | None = None
    team_id: int | None = None
    currency: Literal[CURRENCIES] = "EUR"  # type: ignore[valid-type]
    limit: int = Field(default=200, ge=1, le=1000)

    @model_validator(mode="after")
    def _period_in_order(self) -> FunnelQuery:
        if self.created_to < self.created_from:
            raise field_error("created_to", "darf nicht vor dem Beginn des Zeitraums liegen")
        return self


@dataclass(frozen=True)
class FunnelStage:
    stage_id: int
    name: str
    position: int
    kind: str  # "open" or "won"
    reached_count: int
    reached_value: Decimal
    conversion_to_next: float | None  # share 0..1; None for the won column or nothing reached
    conversion_to_next_value: float | None
    dropped_count: int
    dropped_value: Decimal
    avg_days_in_stage: float | None  # None for the won column or no stays


@dataclass(frozen=True)
class FunnelResult:
    pipeline_id: int
    pipeline_name: str
    created_from: dt.date
    created_to: dt.date
    currency: str
    stages: tuple[FunnelStage, ...]
    cohort_count: int
    cohort_value: Decimal
    open_count: int
    won_count: int
    won_value: Decimal
    lost_count: int
    lost_value: Decimal
    win_rate: float | None
    win_rate_value: float | None
    avg_days_to_close: float | None

    def stage(self, stage_id: int) -> FunnelStage:
        return next(s for s in self.stages if s.stage_id == stage_id)


@dataclass(frozen=True)
class _Scope:
    """The validated query with the pipeline, its funnel stages and the period in UTC."""

    query: FunnelQuery
    pipeline: PipelineView
    funnel_stages: tuple[StageView, ...]  # open stages in order, then the won stage
    start: dt.datetime
    end: dt.datetime

    def rank(self, stage: StageView) -> int:
        return WON_RANK if stage.kind == "won" else stage.position


def _dialect(uow: UnitOfWork) -> str:
    return uow.session.get_bind().dialect.name


def _prepare(uow: UnitOfWork) -> str:
    """The dialect; on PostgreSQL, settings for this report's transaction only (JIT is off for every connection,
    db/session.py): hash in memory, and no parallel workers: their
    partial aggregates per deal are as many as the deals, so gathering and merging them cost more than the
    workers save (1.5 s against 0.9 s for the serial merge join and group aggregate along the funnel index)."""
    dialect = _dialect(uow)
    if dialect == "postgresql":
        uow.session.execute(text("SET LOCAL work_mem = '64MB'"))
        uow.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return dialect


def local_day_start(day: dt.date) -> dt.datetime:
    """Midnight of `day` in Europe/Berlin, as UTC."""
    return dt.datetime.combine(day, dt.time(), DISPLAY_TZ).astimezone(dt.timezone.utc)


def _scope(uow: UnitOfWork, query: FunnelQuery) -> _Scope:
    pipeline = load_pipeline(uow, query.pipeline_id)
    stages = (*pipeline.open_stages, pipeline.closing_stage("won"))
    return _Scope(
        query,
        pipeline,
        stages,
        local_day_start(query.created_from),
        local_day_start(query.created_to + dt.timedelta(days=1)),
    )


def _day_number(value: Any, dialect: str) -> ColumnElement[float]:
    """A timestamp as a number of days (fractional), so durations are differences and can be summed.

    On PostgreSQL `date_part` (a double), not `extract` (a numeric since version 14: a third of the
    statement's time went into numeric arithmetic)."""
    if dialect == "sqlite":
        return func.julianday(value)
    return func.date_part("epoch", value, type_=Float) / 86400.0


def _day_number_of(moment: dt.datetime, dialect: str) -> float:
    days = moment.timestamp() / 86400.0
    return days + 2440587.5 if dialect == "sqlite" else days  # julian day of the Unix epoch


def _not_indexed(column: Any, dialect: str) -> Any:
    """SQLite would otherwise skip-scan the (to_stage_id, occurred_at) index and fetch most history rows
    one by one to check their kind; a unary + makes it read the rows in index order instead (measured
    five times less CPU at 2 million rows)."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type) if dialect == "sqlite" else column


def _of_deal(column: Any, dialect: str) -> Any:
    """A value that is the same on every row of a deal's group (of the deal or its `created` row): SQLite
    takes it as a bare column (two aggregates less per history row: 8 % of the statement), PostgreSQL
    wants an aggregate."""
    return column if dialect == "sqlite" else func.max(column)


def _deals(scope: _Scope, dialect: str, now: float) -> Subquery:
    """One row per cohort deal from one pass over its history rows (plain aggregates, no window).

    The cohort: live deals whose `created` row lies in the period and pipeline (owner, team and
    currency are the deal's). Columns: deal_id, created_at, amount (the deal's, see the module
    docstring), reach (highest rank entered), state (1 while the deal sits in this pipeline's won stage,
    2 in its lost stage, else 0: entries count +1/+2, exits −1/−2), days_to_close, and per open stage i
    days_i. A row's from_stage is the stage the previous change entered, so the time in stage s is
    Σ over rows of (t − now) when leaving s and (now − t) when entering it: the gaps between consecutive
    changes, with the open end running to now. days_i is NULL for a deal that never entered stage i (a
    row leaving it implies an earlier one entering it), so counting the non-NULL values counts the deals
    that stayed there. Revised rows (from = to) would count for nothing and are left out. Written flat
    (no CTE) so both databases group in the order of the funnel index.
    """
    created, event = aliased(OpportunityStageEvent), aliased(OpportunityStageEvent)
    q = scope.query
    since = _day_number(event.occurred_at, dialect)
    until_now = literal(now) - since
    created_at = _of_deal(created.occurred_at, dialect)
    ranks = {s.id: scope.rank(s) for s in scope.funnel_stages}
    won, lost = (scope.pipeline.closing_stage(kind).id for kind in CLOSED)
    state = case(
        (event.to_stage_id == won, 1),
        (event.from_stage_id == won, -1),
        (event.to_stage_id == lost, 2),
        (event.from_stage_id == lost, -2),
        else_=0,
    )
    closed = func.max(case((event.kind.in_(CLOSED), since)))
    columns: list[Any] = [
        created.opportunity_id.label("deal_id"),
        created_at.label("created_at"),
        _of_deal(Opportunity.amount, dialect).label("amount"),
        func.max(case(ranks, value=event.to_stage_id)).label("reach"),
        func.sum(state).label("state"),
        (closed - _day_number(created_at, dialect)).label("days_to_close"),
    ]
    for index, stage in enumerate(scope.pipeline.open_stages):
        spent = case(
            (event.from_stage_id == stage.id, -until_now),
            (event.to_stage_id == stage.id, until_now),
        )
        columns.append(func.sum(spent).label(f"days_{index}"))
    occurred_at = _not_indexed(created.occurred_at, dialect)
    conditions: list[ColumnElement[bool]] = [
        created.kind == "created",
        created.pipeline_id == scope.pipeline.id,
        occurred_at >= scope.start,
        occurred_at < scope.end,
        Opportunity.currency == q.currency,
    ]
    if dialect == "sqlite":
        # Implied, but SQLite reads the cohort from the partial index only with this term; PostgreSQL does
        # without it and would count the term twice in its estimate (then a nested loop: 1.3 s, not 1.0 s).
        conditions.append(created.kind != REVISED)
    if q.owner_id is not None:
        conditions.append(Opportunity.owner_id == q.owner_id)
    if q.team_id is not None:
        conditions.append(Opportunity.owner_id.in_(select(User.id).where(User.team_id == q.team_id)))
    stmt = (
        select(*columns)
        .select_from(created)
        .join(Opportunity, Opportunity.id == created.opportunity_id)
        .join(event, and_(event.opportunity_id == created.opportunity_id, event.kind != REVISED))
        .where(*conditions)
        .group_by(created.opportunity_id)
    )
    return stmt.subquery("deals")


def _outcomes(uow: UnitOfWork, scope: _Scope, deals: Subquery) -> pd.DataFrame:
    """Deals per (reach, state): count, value, days to close of the closed ones, days per open stage."""
    columns: list[Any] = [
        deals.c.reach,
        deals.c.state,
        func.count().label("deals"),
        func.sum(deals.c.amount).label("value"),
        func.sum(case((deals.c.state > 0, deals.c.days_to_close))).label("close_days"),
    ]
    for index in range(len(scope.pipeline.open_stages)):
        columns += [
            func.sum(deals.c[f"days_{index}"]).label(f"days_{index}"),
            func.count(deals.c[f"days_{index}"]).label(f"stayed_{index}"),
        ]
    stmt = select(*columns).group_by(deals.c.reach, deals.c.state)
    result = uow.session.execute(stmt)
    return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _share(part: Decimal | int, whole: Decimal | int) -> float | None:
    return float(part) / float(whole) if whole else None


def _stays(scope: _Scope, outcomes: pd.DataFrame) -> dict[int, float]:
    """Average days per open stage over the deals that stayed in it."""
    averages = {}
    for index, stage in enumerate(scope.pipeline.open_stages):
        stayed = float(outcomes[f"stayed_{index}"].fillna(0).sum())
        if stayed:
            averages[stage.id] = float(outcomes[f"days_{index}"].fillna(0).sum()) / stayed
    return averages


def _fold(scope: _Scope, outcomes: pd.DataFrame) -> FunnelResult:
    """Turn the per-(reach, state) rows into funnel stages and key figures."""
    stays = _stays(scope, outcomes)
    rows = [
        (
            None if pd.isna(r.reach) else int(r.reach),
            STATES.get(int(r.state), "open"),
            int(r.deals),
            _money(r.value),
            r.close_days,
        )
        for r in outcomes.itertuples()
    ]

    def totals(keep: Any) -> tuple[int, Decimal]:
        chosen = [(n, v) for reach, status, n, v, _ in rows if keep(reach, status)]
        return sum(n for n, _ in chosen), sum((v for _, v in chosen), Decimal("0.00"))

    reached: list[tuple[int, Decimal]] = []
    for stage in scope.funnel_stages:
        if stage.kind == "won":
            reached.append(totals(lambda reach, status: status == "won"))
        else:
            rank = scope.rank(stage)
            reached.append(totals(lambda reach, status, rank=rank: reach is not None and reach >= rank))
    stages = []
    for index, stage in enumerate(scope.funnel_stages):
        count, value = reached[index]
        nxt = reached[index + 1] if index + 1 < len(reached) else None
        stages.append(
            FunnelStage(
                stage_id=stage.id,
                name=stage.name,
                position=stage.position,
                kind=stage.kind,
                reached_count=count,
                reached_value=value,
                conversion_to_next=_share(nxt[0], count) if nxt else None,
                conversion_to_next_value=_share(nxt[1], value) if nxt else None,
                dropped_count=count - nxt[0] if nxt else 0,
                dropped_value=value - nxt[1] if nxt else Decimal("0.00"),
                avg_days_in_stage=stays.get(stage.id),
            )
        )
    cohort = totals(lambda reach, status: True)
    won = totals(lambda reach, status: status == "won")
    lost = totals(lambda reach, status: status == "lost")
    closed_days = sum(float(days) for _, status, _, _, days in rows if status in CLOSED and days is not None)
    q = scope.query
    return FunnelResult(
        pipeline_id=scope.pipeline.id,
        pipeline_name=scope.pipeline.name,
        created_from=q.created_from,
        created_to=q.created_to,
        currency=q.currency,
        stages=tuple(stages),
        cohort_count=cohort[0],
        cohort_value=cohort[1],
        open_count=totals(lambda reach, status: status == "open")[0],
        won_count=won[0],
        won_value=won[1],
        lost_count=lost[0],
        lost_value=lost[1],
        win_rate=_share(won[0], won[0] + lost[0]),
        win_rate_value=_share(won[1], won[1] + lost[1]),
        avg_days_to_close=closed_days / (won[0] + lost[0]) if won[0] + lost[0] else None,
    )


def funnel(
    uow: UnitOfWork,
    *,
    pipeline_id: int,
    created_from: dt.date,
    created_to: dt.date,
    owner_id: int | None = None,
    team_id: int | None = None,
    currency: str = "EUR",
) -> FunnelResult:
    """The funnel of the deals created in [created_from, created_to] (see the module docstring)."""
    query = parse(
        FunnelQuery,
        dict(
            pipeline_id=pipeline_id,
            created_from=created_from,
            created_to=created_to,
            owner_id=owner_id,
            team_id=team_id,
            currency=currency,
        ),
    )
    with uow:
        uow.authorize("reports.read")
        scope = _scope(uow, query)
        dialect = _prepare(uow)
        deals = _deals(scope, dialect, _day_number_of(uow.now, dialect))
        return _fold(scope, _outcomes(uow, scope, deals))


def _drill_condition(
    scope: _Scope, deals: Subquery, stage_id: int, which: Literal["reached", "dropped"]
) -> ColumnElement[bool]:
    stages = scope.funnel_stages
    index = next((i for i, s in enumerate(stages) if s.id == stage_id), None)
    if index is None:
        raise ValidationFailed(
            {"stage_id": f"Phase {stage_id} gehört nicht zu den offenen Phasen oder „Gewonnen“ der Pipeline"}
        )

    def reached(stage: StageView) -> ColumnElement[bool]:
        return deals.c.state == WON_STATE if stage.kind == "won" else deals.c.reach >= scope.rank(stage)

    if which == "reached":
        return reached(stages[index])
    if index + 1 == len(stages):
        raise ValidationFailed({"which": "Nach „Gewonnen“ gibt es keinen Abgang"})
    return and_(reached(stages[index]), not_(reached(stages[index + 1])))


def funnel_deals(
    uow: UnitOfWork,
    *,
    pipeline_id: int,
    created_from: dt.date,
    created_to: dt.date,
    stage_id: int,
    which: Literal["reached", "dropped"],
    owner_id: int | None = None,
    team_id: int | None = None,
    currency: str = "EUR",
    limit: int = 200,
) -> pd.DataFrame:
    """The deals behind one funnel bar: those that reached `stage_id`, or dropped off after it.

    Columns: id, name, account_name, owner_name, stage_name (current), status, amount (at the latest
    history row), currency, created_at; largest amount first, at most `limit` rows.
    """
    if which not in ("reached", "dropped"):
        raise ValidationFailed({"which": "erlaubt: reached, dropped"})
    query = parse(
        FunnelQuery,
        dict(
            pipeline_id=pipeline_id,
            created_from=created_from,
            created_to=created_to,
            owner_id=owner_id,
            team_id=team_id,
            currency=currency,
            limit=limit,
        ),
    )
    with uow:
        uow.authorize("reports.read")
        scope = _scope(uow, query)
        dialect = _prepare(uow)
        deals = _deals(scope, dialect, _day_number_of(uow.now, dialect))
        picked = (
            select(deals.c.deal_id, deals.c.created_at, deals.c.amount)
            .where(_drill_condition(scope, deals, stage_id, which))
            .order_by(deals.c.amount.desc(), deals.c.deal_id)
            .limit(query.limit)
            .subquery("picked")
        )
        latest, newest = aliased(OpportunityStageEvent), aliased(OpportunityStageEvent)
        current, owner = aliased(PipelineStage), aliased(User)
        latest_id = (
            select(func.max(newest.id)).where(newest.opportunity_id == picked.c.deal_id).correlate(picked).scalar_subquery()
        )
        stmt: Select[Any] = (
            select(
                Opportunity.id,
                Opportunity.name,
                Account.name.label("account_name"),
                owner.display_name.label("owner_name"),
                current.name.label("stage_name"),
                current.kind.label("status"),
                picked.c.amount,
                latest.currency,
                picked.c.created_at,
            )
            .select_from(picked)
            .join(latest, latest.id == latest_id)
            .join(current, current.id == latest.to_stage_id)
            .join(Opportunity, Opportunity.id == picked.c.deal_id)
            .join(Account, Account.id == Opportunity.account_id)
            .outerjoin(owner, owner.id == Opportunity.owner_id)
            .order_by(picked.c.amount.desc(), Opportunity.id)
        )
        result = uow.session.execute(stmt)
        return pd.DataFrame(result.mappings().all(), columns=DEAL_COLUMNS)
