"""Revenue forecast from the current state of the deals, aggregated by period × owner × stage × currency.

- Open deals count in the period of their expected close date: `open_amount` is their amount,
  `weighted_amount` the amount × effective probability (the user's override on an open stage, else
  the stage default — `core.sales.pipelines.effective_probability`, here as a SQL CASE).
  Open deals without an expected close date have no period and are left out.
- Won deals count in the period of their closed date with `won_amount` (their weighted amount is 0:
  the expected revenue of a period is won + weighted open).
- Lost deals are excluded. Currencies are never added up: every row and every total has one currency.
- `forecast_category` is the effective one (override on an open stage, else the stage's; won: closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from pydantic import model_validator
from sqlalchemy import ColumnElement, Integer, Select, case, cast, extract, func, literal, select

from core.uow import UnitOfWork
from core.validation import InputModel, field_error, parse
from db.models import Opportunity, PipelineStage, User

Period = Literal["month", "quarter"]
COLUMNS = [
    "period",
    "owner_id",
    "owner_name",
    "stage_id",
    "stage_name",
    "stage_position",
    "forecast_category",
    "currency",
    "count",
    "open_amount",
    "weighted_amount",
    "won_amount",
]
AMOUNTS = ["open_amount", "weighted_amount", "won_amount"]
STATUSES: tuple[Literal["open", "won"], ...] = ("open", "won")  # lost deals are not forecast
MAX_DAYS = 3 * 366 + 365  # four years of periods at most
CENT = Decimal("0.01")


class ForecastQuery(InputModel):
    period: Period
    date_from: dt.date
    date_to: dt.date
    pipeline_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None

    @model_validator(mode="after")
    def _range(self) -> ForecastQuery:
        if self.date_to < self.date_from:
            raise field_error("date_to", "darf nicht vor dem Beginn des Zeitraums liegen")
        if (self.date_to - self.date_from).days > MAX_DAYS:
            raise field_error("date_to", "der Zeitraum darf höchstens vier Jahre umfassen")
        return self


def _bucket(day: ColumnElement[Any], period: Period) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """(year, month or quarter) of a date column, portable between SQLite and PostgreSQL."""
    year = cast(extract("year", day), Integer)
    month = cast(extract("month", day), Integer)
    if period == "month":
        return year, month
    return year, case((month <= 3, 1), (month <= 6, 2), (month <= 9, 3), else_=4)


def _statement(query: ForecastQuery, status: Literal["open", "won"]) -> Select[Any]:
    """One aggregate per group; the grouped values are computed per deal in a subquery first
    (PostgreSQL does not accept GROUP BY on an expression with bound parameters)."""
    day = Opportunity.expected_close_date if status == "open" else Opportunity.closed_date
    year, part = _bucket(day, query.period)
    is_open = PipelineStage.kind == "open"
    probability = case(
        (is_open, func.coalesce(Opportunity.probability_override, PipelineStage.probability)),
        else_=PipelineStage.probability,
    )
    category = case(
        (is_open, func.coalesce(Opportunity.forecast_category_override, PipelineStage.forecast_category)),
        else_=PipelineStage.forecast_category,
    )
    conditions: list[ColumnElement[bool]] = [
        Opportunity.status == status,
        day >= query.date_from,
        day <= query.date_to,
    ]
    if query.pipeline_id is not None:
        conditions.append(Opportunity.pipeline_id == query.pipeline_id)
    if query.owner_id is not None:
        conditions.append(Opportunity.owner_id == query.owner_id)
    if query.team_id is not None:
        conditions.append(Opportunity.owner_id.in_(select(User.id).where(User.team_id == query.team_id)))
    deals = (
        select(
            year.label("year"),
            part.label("part"),
            Opportunity.owner_id,
            User.display_name.label("owner_name"),
            PipelineStage.id.label("stage_id"),
            PipelineStage.name.label("stage_name"),
            PipelineStage.position.label("stage_position"),
            category.label("forecast_category"),
            Opportunity.currency,
            Opportunity.amount,
            (Opportunity.amount * probability).label("amount_percent"),  # amount × probability in %
        )
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .outerjoin(User, User.id == Opportunity.owner_id)
        .where(*conditions)
        .subquery("deals")
    )
    groups = [deals.c[name] for name in ("year", "part", *COLUMNS[1:8])]
    zero = literal(0)
    amount = func.sum(deals.c.amount)
    return select(
        *groups,
        func.count().label("count"),
        (amount if status == "open" else zero).label("open_amount"),
        (func.sum(deals.c.amount_percent) if status == "open" else zero).label("amount_percent"),
        (amount if status == "won" else zero).label("won_amount"),
    ).group_by(*groups)


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _label(year: int, part: int, period: Period) -> str:
    return f"{year}-{part:02d}" if period == "month" else f"{year}-Q{part}"


def forecast(
    uow: UnitOfWork,
    *,
    period: Period,
    date_from: dt.date,
    date_to: dt.date,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> pd.DataFrame:
    """Open, weighted and won amounts per period ("2026-11" / "2026-Q4") × owner × stage × currency.

    Columns: see COLUMNS; amounts are Decimal, sorted by period, currency, owner and stage.
    """
    query = parse(
        ForecastQuery,
        dict(
            period=period,
            date_from=date_from,
            date_to=date_to,
            pipeline_id=pipeline_id,
            owner_id=owner_id,
            team_id=team_id,
        ),
    )
    with uow:
        uow.authorize("reports.read")
        rows = [row for status in STATUSES for row in uow.session.execute(_statement(query, status)).mappings()]
    frame = pd.DataFrame(
        [
            {
                "period": _label(int(r["year"]), int(r["part"]), query.period),
                "owner_id": r["owner_id"],
                "owner_name": r["owner_name"],
                "stage_id": int(r["stage_id"]),
                "stage_name": r["stage_name"],
                "stage_position": int(r["stage_position"]),
                "forecast_category": r["forecast_category"],
                "currency": r["currency"],
                "count": int(r["count"]),
                "open_amount": _money(r["open_amount"]),
                "weighted_amount": (_money(r["amount_percent"]) / 100).quantize(CENT),
                "won_amount": _money(r["won_amount"]),
            }
            for r in rows
        ],
        columns=COLUMNS,
    )
    frame = frame.astype({"count": "int64", "stage_id": "int64", "stage_position": "int64"})
    frame["owner_id"] = frame["owner_id"].astype("Int64")
    order = ["period", "currency", "owner_name", "stage_position", "stage_id", "forecast_category"]
    return frame.sort_values(order, na_position="last", ignore_index=True)


def forecast_totals(frame: pd.DataFrame, by: Sequence[str] = ("period",)) -> pd.DataFrame:
    """Sums of count and amounts per `by` (e.g. period, owner_name or stage_name) and currency."""
    keys = [*by, "currency"]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "count", *AMOUNTS])
    grouped = frame.groupby(keys, dropna=False, sort=True)[["count", *AMOUNTS]].sum()
    return grouped.reset_index()
