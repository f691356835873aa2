"""Opportunities (deals): create, edit, move between stages, win, lose, reopen, delete — audited and evented.

Every stage change writes one row to the append-only stage history (`core.sales.history`) in the
same transaction, emits `crm.opportunity.stage_changed|won|lost|reopened` with before/after values,
and writes field-level audit entries. Plain edits emit `crm.opportunity.updated`; when they change
amount, probability or close date, a `revised` history row keeps the value at that moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import ColumnElement, Integer, Select, bindparam, case, func, select

from core.search import contains
from sqlalchemy.orm import aliased

from core import audit
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import change_payload
from core.formatting import DISPLAY_TZ
from core.listing import MAX_PAGE_SIZE, ListQuery, Page, fetch_page
from core.records import create_record, delete_record, values_of
from core.sales.history import last_open_stage_id, record_stage_event
from core.sales.pricing import to_decimal
from core.sales.pipelines import (
    StageView,
    default_pipeline,
    effective_forecast_category,
    effective_probability,
    load_pipeline,
    load_reasons,
)
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import Account, DealReason, Opportunity, Pipeline, PipelineStage, Quote, SalesOrder, User
from db.models.sales import FORECAST_CATEGORIES

ENTITY = "opportunity"
CURRENCIES = ("EUR", "CHF", "USD", "GBP")
LEAD_SOURCES = (
    "Website",
    "Empfehlung",
    "Messe",
    "Kaltakquise",
    "Partner",
    "Kampagne",
    "Bestandskunde",
    "Sonstiges",
)
CLOSE_REASON_FIELD = {"won": "won_reason_id", "lost": "lost_reason_id"}


class OpportunityInput(InputModel):
    name: str = Field(min_length=2, max_length=200)
    account_id: int
    owner_id: int | None = None
    amount: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    currency: Literal[CURRENCIES] = "EUR"  # type: ignore[valid-type]
    probability_override: int | None = Field(default=None, ge=0, le=100)
    forecast_category_override: Literal[FORECAST_CATEGORIES] | None = None  # type: ignore[valid-type]
    expected_close_date: dt.date | None = None
    lead_source: Literal[LEAD_SOURCES] | None = None  # type: ignore[valid-type]
    campaign: str | None = Field(default=None, max_length=200)
    competitor: str | None = Field(default=None, max_length=200)
    next_step: str | None = Field(default=None, max_length=500)
    description: str | None = None
    external_id: str | None = Field(default=None, max_length=64)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_from_text(cls, value: Any) -> Any:
        """Accept German input such as "12.500,50" or "12.500" as well as 12500.5 (core.sales.pricing rules)."""
        return to_decimal(value)


EDITABLE = tuple(OpportunityInput.model_fields)
STAGE_FIELDS = ("pipeline_id", "stage_id", "status", "closed_date", "won_reason_id", "lost_reason_id", "close_reason_text")
HISTORY_VALUES = ("amount", "currency", "probability_override", "expected_close_date")
ALL_FIELDS = EDITABLE + STAGE_FIELDS


@dataclass(frozen=True)
class OpportunityView:
    id: int
    external_id: str | None
    name: str
    account_id: int
    account_name: str
    owner_id: int | None
    owner_name: str | None
    pipeline_id: int
    pipeline_name: str
    stage_id: int
    stage_name: str
    stage_position: int
    status: str
    amount: Decimal
    currency: str
    probability: int
    probability_override: int | None
    forecast_category: str
    forecast_category_system: str
    forecast_category_override: str | None
    expected_close_date: dt.date | None
    closed_date: dt.date | None
    lead_source: str | None
    campaign: str | None
    competitor: str | None
    next_step: str | None
    won_reason_id: int | None
    lost_reason_id: int | None
    close_reason: str | None
    close_reason_text: str | None
    description: str | None
    stage_entered_at: dt.datetime
    days_in_stage: int
    is_stale: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))

    @property
    def probability_is_override(self) -> bool:
        return self.status == "open" and self.probability_override is not None

    def form_values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in EDITABLE}


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(DISPLAY_TZ).date()


def _is_stale(stage: StageView, updated_at: dt.datetime, now: dt.datetime) -> bool:
    return stage.is_open and stage.stale_after_days is not None and (now - updated_at).days >= stage.stale_after_days


STAGE_VIEW_FIELDS = tuple(f.name for f in fields(StageView))


@cache
def _view_statement() -> Select[Any]:
    """The deal row with its stage, pipeline, company, owner and closing-reason names: one query per view.

    Built once (constructing it costs more than running it); the id is the bound parameter `opportunity_id`.
    """
    owner = aliased(User)
    reason = aliased(DealReason)
    columns = [getattr(Opportunity, f) for f in ALL_FIELDS]
    return (
        select(
            *columns,
            Opportunity.id,
            Opportunity.stage_entered_at,
            Opportunity.version,
            Opportunity.created_at,
            Opportunity.updated_at,
            Account.name.label("account_name"),
            owner.display_name.label("owner_name"),
            Pipeline.name.label("pipeline_name"),
            reason.label.label("close_reason"),
            *(getattr(PipelineStage, f).label(f"stage__{f}") for f in STAGE_VIEW_FIELDS),
        )
        .join(Account, Account.id == Opportunity.account_id)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
        .outerjoin(owner, owner.id == Opportunity.owner_id)
        .outerjoin(reason, reason.id == func.coalesce(Opportunity.won_reason_id, Opportunity.lost_reason_id))
        .where(Opportunity.id == bindparam("opportunity_id"))
    )


def _view(uow: UnitOfWork, opportunity_id: int) -> OpportunityView:
    """The deal as services return it (after pending changes are flushed); NotFound when it does not exist.

    The API's GET runs this per request, so it is one query instead of an ORM load plus the names.
    """
    uow.session.flush()  # the connection does not autoflush; Core rows skip the ORM's result machinery
    row = uow.session.connection().execute(_view_statement(), {"opportunity_id": opportunity_id}).one_or_none()
    if row is None:
        raise NotFound(f"Verkaufschance {opportunity_id} gibt es nicht.")
    values = row._asdict()
    stage = StageView(**{f: values.pop(f"stage__{f}") for f in STAGE_VIEW_FIELDS})
    return OpportunityView(
        **values,
        stage_name=stage.name,
        stage_position=stage.position,
        probability=effective_probability(stage, row.probability_override),
        forecast_category=effective_forecast_category(stage, row.forecast_category_override),
        forecast_category_system=stage.forecast_category,
        days_in_stage=max(0, (uow.now - row.stage_entered_at).days),
        is_stale=_is_stale(stage, row.updated_at, uow.now),
    )


def load_opportunity(uow: UnitOfWork, opportunity_id: int) -> Opportunity:
    """The ORM row inside an open unit of work (for other sales services: quotes, orders)."""
    opp = uow.session.get(Opportunity, opportunity_id)
    if opp is None:
        raise NotFound(f"Verkaufschance {opportunity_id} gibt es nicht.")
    return opp


def _check_references(uow: UnitOfWork, data: OpportunityInput, opportunity_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    if uow.session.get(Account, data.account_id) is None:
        errors["account_id"] = f"Firma {data.account_id} gibt es nicht"
    if data.owner_id is not None and uow.session.get(User, data.owner_id) is None:
        errors["owner_id"] = f"Benutzer {data.owner_id} gibt es nicht"
    if data.external_id:
        clash = uow.session.scalar(
            select(Opportunity.id).where(
                Opportunity.external_id == data.external_id, Opportunity.id != (opportunity_id or 0)
            )
        )
        if clash:
            errors["external_id"] = f"schon vergeben (Verkaufschance {clash})"
    if errors:
        raise ValidationFailed(errors)


def _reason_values(
    uow: UnitOfWork, kind: str, reason_id: int | None, text: str | None
) -> dict[str, Any]:
    """Closing fields for a move into a stage of `kind`; a lost deal needs a reason, „Sonstiges“ needs text."""
    text = (text or "").strip() or None
    values: dict[str, Any] = {"won_reason_id": None, "lost_reason_id": None, "close_reason_text": None}
    if kind == "open":
        return values
    field = CLOSE_REASON_FIELD[kind]
    reasons = {r.id: r for r in load_reasons(uow, kind)}
    if reason_id is None:
        if kind == "lost":
            raise ValidationFailed({field: "Bitte einen Verlustgrund wählen."})
        return values | {"close_reason_text": text}
    reason = reasons.get(reason_id)
    if reason is None:
        raise ValidationFailed({field: f"Grund {reason_id} gibt es nicht (oder er ist nicht mehr aktiv)."})
    if reason.needs_text and not text:
        raise ValidationFailed({"close_reason_text": f"Bei „{reason.label}“ bitte den Grund beschreiben."})
    if text and len(text) > 500:
        raise ValidationFailed({"close_reason_text": "höchstens 500 Zeichen"})
    return values | {field: reason_id, "close_reason_text": text}


def _event_for(from_stage: StageView | None, to_stage: StageView) -> str:
    if from_stage is None:
        return "created"
    if to_stage.kind in ("won", "lost"):
        return to_stage.kind
    return "reopened" if not from_stage.is_open else "moved"


def apply_stage_change(
    uow: UnitOfWork,
    opp: Opportunity,
    to_stage: StageView,
    *,
    reason_id: int | None = None,
    reason_text: str | None = None,
    closed_date: dt.date | None = None,
    expected_version: int | None = None,
    note: str | None = None,
) -> str:
    """Move `opp` (inside an open unit of work) to `to_stage`; returns the history kind.

    Used by the stage services below and by orders (an order placed wins its deal).
    """
    uow.check_version(opp.version, expected_version)
    pipeline = load_pipeline(uow, to_stage.pipeline_id)
    from_stage = load_pipeline(uow, opp.pipeline_id).stage(opp.stage_id)
    if from_stage.id == to_stage.id:
        raise ValidationFailed({"stage_id": f"Die Verkaufschance steht schon in „{to_stage.name}“."})
    kind = _event_for(from_stage, to_stage)
    values: dict[str, Any] = {"pipeline_id": pipeline.id, "stage_id": to_stage.id, "status": to_stage.kind}
    values |= _reason_values(uow, to_stage.kind, reason_id, reason_text)
    values["closed_date"] = (closed_date or local_today(uow.now)) if to_stage.kind != "open" else None
    before = values_of(opp, tuple(values))
    changes = audit.apply_changes(opp, values)
    opp.stage_entered_at = uow.now
    opp.updated_at = uow.now
    uow.session.flush()
    uow.audit(entity=ENTITY, entity_id=opp.id, action=kind if kind != "moved" else "stage_changed", changes=changes, reason=note)
    record_stage_event(uow, opp, kind=kind, from_stage=from_stage, to_stage=to_stage)
    event = "stage_changed" if kind == "moved" else kind
    payload = change_payload(
        before | {"stage_name": from_stage.name}, values_of(opp, tuple(values)) | {"stage_name": to_stage.name}
    )
    uow.emit(f"crm.opportunity.{event}", entity=ENTITY, entity_id=opp.id, payload=payload | {"version": opp.version})
    return kind


def get_opportunity(uow: UnitOfWork, opportunity_id: int) -> OpportunityView:
    with uow:
        uow.begin_read()
        uow.authorize("opportunities.read")
        return _view(uow, opportunity_id)


def _target_stage(uow: UnitOfWork, values: Mapping[str, Any]) -> StageView:
    stage_id = values.get("stage_id")
    if stage_id not in (None, ""):
        stage = uow.session.get(PipelineStage, int(stage_id))
        if stage is None:
            raise ValidationFailed({"stage_id": f"Phase {stage_id} gibt es nicht"})
        return load_pipeline(uow, stage.pipeline_id).stage(stage.id)
    pipeline_id = values.get("pipeline_id")
    pipeline = load_pipeline(uow, int(pipeline_id)) if pipeline_id not in (None, "") else default_pipeline(uow)
    return pipeline.open_stages[0]


def create_opportunity(
    uow: UnitOfWork,
    values: Mapping[str, Any],
    *,
    reason_id: int | None = None,
    reason_text: str | None = None,
    reason: str | None = None,
) -> OpportunityView:
    """Create a deal in `stage_id` (or the first stage of `pipeline_id` / the default pipeline).

    A deal created directly as won or lost (e.g. history taken over from another system) needs the
    same reason as a move there.
    """
    # pipeline_id/stage_id place the deal (checked by _target_stage); they are not input-model fields.
    data = parse(OpportunityInput, {k: v for k, v in values.items() if k not in ("pipeline_id", "stage_id")})
    with uow:
        owner_id = data.owner_id if data.owner_id is not None else uow.actor.user_id
        data = data.model_copy(update={"owner_id": owner_id})
        uow.authorize("opportunities.write", owner_id=owner_id, check_owner=True)
        _check_references(uow, data)
        stage = _target_stage(uow, values)
        closing = _reason_values(uow, stage.kind, reason_id, reason_text)
        opp = Opportunity(
            **data.model_dump(),
            **closing,
            pipeline_id=stage.pipeline_id,
            stage_id=stage.id,
            status=stage.kind,
            closed_date=local_today(uow.now) if stage.kind != "open" else None,
            stage_entered_at=uow.now,
            version=1,
        )
        create_record(uow, opp, entity=ENTITY, fields=ALL_FIELDS, reason=reason)
        record_stage_event(uow, opp, kind="created", from_stage=None, to_stage=stage)
        view = _view(uow, opp.id)
        uow.commit()
        return view


def update_opportunity(
    uow: UnitOfWork,
    opportunity_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str | None = None,
) -> OpportunityView:
    """Edit the deal's fields. A changed `stage_id` is a stage move in the same transaction
    (with `won_reason_id`/`lost_reason_id`/`close_reason_text` when it closes the deal)."""
    with uow:
        opp = load_opportunity(uow, opportunity_id)
        uow.authorize("opportunities.write", owner_id=opp.owner_id, check_owner=True)
        uow.check_version(opp.version, expected_version)
        data = parse(OpportunityInput, {f: getattr(opp, f) for f in EDITABLE} | _editable(values))
        if data.owner_id != opp.owner_id:
            uow.authorize("opportunities.write", owner_id=data.owner_id, check_owner=True)
        _check_references(uow, data, opportunity_id)
        _apply_edit(uow, opp, data.model_dump(), reason=reason)
        stage_id = values.get("stage_id")
        if stage_id not in (None, "") and int(stage_id) != opp.stage_id:
            stage = _target_stage(uow, values)
            apply_stage_change(
                uow,
                opp,
                stage,
                reason_id=values.get(CLOSE_REASON_FIELD.get(stage.kind, "")),
                reason_text=values.get("close_reason_text"),
                note=reason,
            )
        view = _view(uow, opp.id)
        uow.commit()
        return view


def _editable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in EDITABLE}


def _apply_edit(uow: UnitOfWork, opp: Opportunity, values: Mapping[str, Any], *, reason: str | None) -> None:
    """Field edit: audit + `crm.opportunity.updated`; a `revised` history row when forecast values changed."""
    changes = audit.apply_changes(opp, values)
    if not changes:
        return
    opp.updated_at = uow.now
    uow.session.flush()
    uow.audit(entity=ENTITY, entity_id=opp.id, action="updated", changes=changes, reason=reason)
    uow.emit(
        "crm.opportunity.updated",
        entity=ENTITY,
        entity_id=opp.id,
        payload=change_payload({c.field: c.old for c in changes}, {c.field: c.new for c in changes})
        | {"version": opp.version},
    )
    if any(c.field in HISTORY_VALUES for c in changes):
        stage = load_pipeline(uow, opp.pipeline_id).stage(opp.stage_id)
        record_stage_event(uow, opp, kind="revised", from_stage=stage, to_stage=stage)


def set_amount(uow: UnitOfWork, opp: Opportunity, amount: Decimal, currency: str, *, reason: str) -> None:
    """Inside an open unit of work: the amount follows the primary quote (audited, evented, in the history)."""
    _apply_edit(uow, opp, {"amount": amount, "currency": currency}, reason=reason)


Target = Callable[[UnitOfWork, Opportunity], StageView]


def _move(
    uow: UnitOfWork,
    opportunity_id: int,
    target: Target,
    *,
    expected_version: int | None,
    reason_id: int | None = None,
    reason_text: str | None = None,
    closed_date: dt.date | None = None,
    note: str | None = None,
) -> OpportunityView:
    """One transaction: load, authorize, resolve the target stage for this deal, move, return the view."""
    with uow:
        opp = load_opportunity(uow, opportunity_id)
        uow.authorize("opportunities.write", owner_id=opp.owner_id, check_owner=True)
        apply_stage_change(
            uow,
            opp,
            target(uow, opp),
            reason_id=reason_id,
            reason_text=reason_text,
            closed_date=closed_date,
            expected_version=expected_version,
            note=note,
        )
        view = _view(uow, opp.id)
        uow.commit()
        return view


def move_stage(
    uow: UnitOfWork,
    opportunity_id: int,
    *,
    stage_id: int,
    expected_version: int | None,
    reason_id: int | None = None,
    reason_text: str | None = None,
    closed_date: dt.date | None = None,
    note: str | None = None,
) -> OpportunityView:
    """Move to any stage: forward, backward, another pipeline, won, lost, or out of a closed stage (reopen)."""
    return _move(
        uow,
        opportunity_id,
        lambda uow, _opp: _target_stage(uow, {"stage_id": stage_id}),
        expected_version=expected_version,
        reason_id=reason_id,
        reason_text=reason_text,
        closed_date=closed_date,
        note=note,
    )


def _closing_stage(kind: Literal["won", "lost"]) -> Target:
    return lambda uow, opp: load_pipeline(uow, opp.pipeline_id).closing_stage(kind)


def win_opportunity(
    uow: UnitOfWork,
    opportunity_id: int,
    *,
    expected_version: int | None,
    reason_id: int | None = None,
    reason_text: str | None = None,
    closed_date: dt.date | None = None,
) -> OpportunityView:
    return _move(
        uow,
        opportunity_id,
        _closing_stage("won"),
        expected_version=expected_version,
        reason_id=reason_id,
        reason_text=reason_text,
        closed_date=closed_date,
    )


def lose_opportunity(
    uow: UnitOfWork,
    opportunity_id: int,
    *,
    expected_version: int | None,
    reason_id: int | None,
    reason_text: str | None = None,
    closed_date: dt.date | None = None,
) -> OpportunityView:
    return _move(
        uow,
        opportunity_id,
        _closing_stage("lost"),
        expected_version=expected_version,
        reason_id=reason_id,
        reason_text=reason_text,
        closed_date=closed_date,
    )


def reopen_opportunity(
    uow: UnitOfWork,
    opportunity_id: int,
    *,
    expected_version: int | None,
    stage_id: int | None = None,
    note: str | None = None,
) -> OpportunityView:
    """Reopen a won or lost deal into `stage_id` (default: the open stage it was in before closing)."""

    def reopened_stage(uow: UnitOfWork, opp: Opportunity) -> StageView:
        if opp.status == "open":
            raise Conflict("Die Verkaufschance ist nicht abgeschlossen und kann nicht wiedereröffnet werden.")
        target = stage_id or last_open_stage_id(uow, opp.id) or load_pipeline(uow, opp.pipeline_id).open_stages[0].id
        return _target_stage(uow, {"stage_id": target})

    return _move(uow, opportunity_id, reopened_stage, expected_version=expected_version, note=note)


def delete_opportunity(
    uow: UnitOfWork, opportunity_id: int, *, expected_version: int | None, reason: str | None = None
) -> None:
    """Delete a deal without quotes or orders (those are business documents). Its stage history stays."""
    with uow:
        opp = load_opportunity(uow, opportunity_id)
        uow.authorize("opportunities.delete")
        quotes = uow.session.scalar(select(func.count()).where(Quote.opportunity_id == opp.id)) or 0
        orders = uow.session.scalar(select(func.count()).where(SalesOrder.opportunity_id == opp.id)) or 0
        if quotes or orders:
            raise Conflict(
                f"„{opp.name}“ hat {quotes} Angebot(e) und {orders} Auftrag/Aufträge und kann nicht gelöscht werden. "
                "Setzen Sie die Verkaufschance stattdessen auf Verloren."
            )
        delete_record(uow, opp, entity=ENTITY, fields=ALL_FIELDS, expected_version=expected_version, reason=reason)
        uow.commit()


EQUALITY_FILTERS = ("pipeline_id", "stage_id", "owner_id", "status", "account_id", "lead_source", "currency")
FilterShape = tuple[tuple[str, bool], ...]  # (filter name, given as a list) for each filter that has a value


def _filter_values(filters: Mapping[str, Any]) -> tuple[FilterShape, dict[str, Any]]:
    """The given filters (see LIST_FILTERS) as a shape and the values for its bound parameters (`f_<name>`)."""
    shape: list[tuple[str, bool]] = []
    values: dict[str, Any] = {}
    for name in LIST_FILTERS:
        value = filters.get(name)
        if value in (None, "", []):
            continue
        many = name in EQUALITY_FILTERS and isinstance(value, (list, tuple))
        if name in ("amount_min", "amount_max"):
            value = Decimal(str(value))
        shape.append((name, many))
        values[f"f_{name}"] = list(value) if many else value
    return tuple(shape), values


@lru_cache(maxsize=512)
def _filter_conditions(shape: FilterShape, literal: frozenset[str] = frozenset()) -> tuple[ColumnElement[bool], ...]:
    """The WHERE conditions of a filter shape with bound parameters instead of values (the filters named in
    `literal` are written into the SQL text at execution).

    Cached per shape, so a statement built from them is the same object again and SQLAlchemy
    does not walk it for its cache key on every API request.
    """
    conditions: list[ColumnElement[bool]] = []
    for name, many in shape:
        value = bindparam(f"f_{name}", expanding=many, literal_execute=name in literal)
        if name in EQUALITY_FILTERS:
            column = getattr(Opportunity, name)
            conditions.append(column.in_(value) if many else column == value)
        elif name == "team_id":
            conditions.append(Opportunity.owner_id.in_(select(User.id).where(User.team_id == value)))
        elif name in ("close_from", "close_to"):
            column = Opportunity.expected_close_date
            conditions.append(column >= value if name == "close_from" else column <= value)
        else:
            conditions.append(Opportunity.amount >= value if name == "amount_min" else Opportunity.amount <= value)
    return tuple(conditions)


def _search(uow: UnitOfWork, term: str) -> ColumnElement[bool]:
    """Deal name or company name contains `term` (trigram indexes, core/search.py)."""
    return contains(uow.session, Opportunity, term, via=[(Opportunity.account_id, Account)])


# Filters over a few values each (three statuses, the configured pipelines and stages) that decide the keyset
# page's plan on PostgreSQL: see _keyset_page_statement.
PLAN_DECIDING_FILTERS = frozenset({"status", "pipeline_id", "stage_id"})

LIST_FILTERS = (
    "pipeline_id",
    "stage_id",
    "owner_id",
    "team_id",
    "status",
    "account_id",
    "lead_source",
    "currency",
    "close_from",
    "close_to",
    "amount_min",
    "amount_max",
)


# The order the list opens with (page and service alike): the next close dates first, served by
# (expected_close_date, id) with every filter. Ordered by id instead, SQLite collected and sorted the 76,600 deals
# of a quarter for one page (300–350 ms at 500,000 deals) rather than walking the primary key.
DEFAULT_SORT = "expected_close_date"


def list_opportunities(uow: UnitOfWork, query: ListQuery) -> Page:
    """One page of deals, by DEFAULT_SORT unless the query sorts. Filters: see LIST_FILTERS; search over deal and
    company name."""
    with uow:
        uow.authorize("opportunities.read")
        owner = aliased(User)
        probability = case(
            (PipelineStage.kind == "open", func.coalesce(Opportunity.probability_override, PipelineStage.probability)),
            else_=PipelineStage.probability,
        )
        stmt = (
            select(
                Opportunity.id,
                Opportunity.name,
                Account.name.label("account_name"),
                PipelineStage.name.label("stage_name"),
                Opportunity.status,
                Opportunity.amount,
                Opportunity.currency,
                probability.label("probability"),
                Opportunity.expected_close_date,
                owner.display_name.label("owner_name"),
                Opportunity.lead_source,
                Opportunity.updated_at,
                Opportunity.account_id,
                Opportunity.pipeline_id,
                Opportunity.stage_id,
                Opportunity.owner_id,
                Opportunity.version,
            )
            .join(Account, Account.id == Opportunity.account_id)
            .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
            .outerjoin(owner, owner.id == Opportunity.owner_id)
        )
        shape, values = _filter_values(query.filters)
        conditions = list(_filter_conditions(shape))
        if query.search and query.search.strip():
            conditions.append(_search(uow, query.search))
        sortable = {
            "name": Opportunity.name,
            "account_name": Account.name,
            "stage_name": PipelineStage.position,
            "amount": Opportunity.amount,
            "expected_close_date": Opportunity.expected_close_date,
            "owner_name": owner.display_name,
            "updated_at": Opportunity.updated_at,
            "id": Opportunity.id,
        }
        return fetch_page(
            uow.session,
            stmt.where(*conditions).params(values),
            query if query.sort else replace(query, sort=DEFAULT_SORT),
            sortable=sortable,
            default_sort=Opportunity.id,
            count_stmt=select(Opportunity.id).where(*conditions).params(values),
        )



@dataclass(frozen=True)
class OpportunityRow:
    """One deal of a keyset page (the API's list item): names joined in, probability and category effective."""

    id: int
    external_id: str | None
    name: str
    account_id: int
    account_name: str
    owner_id: int | None
    owner_name: str | None
    pipeline_id: int
    stage_id: int
    stage_name: str
    status: str
    amount: Decimal
    currency: str
    probability: int
    probability_override: int | None
    forecast_category: str
    expected_close_date: dt.date | None
    closed_date: dt.date | None
    lead_source: str | None
    stage_entered_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))

    @property
    def probability_is_override(self) -> bool:
        return self.status == "open" and self.probability_override is not None


def list_opportunities_after(
    uow: UnitOfWork,
    *,
    after_id: int | None,
    limit: int,
    filters: Mapping[str, Any] | None = None,
    search: str | None = None,
) -> tuple[list[OpportunityRow], int | None]:
    """Keyset page (the REST API's cursor): deals with `id > after_id` in id order, and the id to continue after.

    A page boundary does not shift while deals are added or deleted, deep pages cost what the first
    one costs (`WHERE id > :last ORDER BY id LIMIT n`), and nothing is counted. The returned id is
    None on the last page. Filters: see LIST_FILTERS; `search` matches deal and company name.
    Rows are dataclasses, not a DataFrame: building and unpacking a frame cost more than the query.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    shape, values = _filter_values(filters or {})
    values |= {"limit": limit + 1, "after_id": after_id}
    with uow:
        uow.begin_read()
        uow.authorize("opportunities.read")
        stmt = _keyset_page_statement(shape, after_id is not None, uow.session.get_bind().dialect.name)
        if search and search.strip():
            stmt = stmt.where(_search(uow, search))
        result = uow.session.connection().execute(stmt, values)  # Core rows: no ORM
        rows = [OpportunityRow(*row) for row in result.all()]  # one fetchall: iterating fetched row by row
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_after


@lru_cache(maxsize=512)
def _keyset_page_statement(shape: FilterShape, after: bool, dialect: str) -> Select[Any]:
    """The keyset page for a filter shape, `limit` rows after `:after_id` (when `after`), as one reused object.

    On PostgreSQL the LIMIT is written into the SQL text: with it known, the prepared statement's generic
    plan (planned once per connection) walks the primary key like a custom plan would; with `LIMIT $n` the
    server planned every request anew (0.5 ms each). SQLite's planner picks worse indexes for some filters
    with a literal LIMIT (250 ms instead of 1 ms for won deals by close date and amount), so it gets a parameter.

    Status, pipeline and stage are written into the text on PostgreSQL as well. Their value decides the plan: the
    open deals are the newest, so with `status = $1` the generic plan walked the primary key past 3,800–12,000 closed
    deals for a first page of open ones (an owner's, a team's) or of one stage (1.0–1.5 ms of the server's CPU).
    With the value in the text, the partial index of the open deals and (pipeline_id, stage_id, id) serve those
    pages in id order (0.1–0.6 ms; migration 0014). They hold few values, so the prepared statements stay few.
    """
    literal = PLAN_DECIDING_FILTERS if dialect == "postgresql" else frozenset()
    conditions = list(_filter_conditions(shape, literal))
    if after:
        conditions.append(Opportunity.id > bindparam("after_id"))
    limit = bindparam("limit", type_=Integer(), literal_execute=dialect == "postgresql")
    return _keyset_statement().where(*conditions).order_by(Opportunity.id).limit(limit)


@cache
def _keyset_statement() -> Select[Any]:
    """The select behind OpportunityRow (built once: constructing it costs more than running it)."""
    owner = aliased(User)
    is_open = PipelineStage.kind == "open"
    return (
        select(
            Opportunity.id,
            Opportunity.external_id,
            Opportunity.name,
            Opportunity.account_id,
            Account.name.label("account_name"),
            Opportunity.owner_id,
            owner.display_name.label("owner_name"),
            Opportunity.pipeline_id,
            Opportunity.stage_id,
            PipelineStage.name.label("stage_name"),
            Opportunity.status,
            Opportunity.amount,
            Opportunity.currency,
            case(
                (is_open, func.coalesce(Opportunity.probability_override, PipelineStage.probability)),
                else_=PipelineStage.probability,
            ).label("probability"),
            Opportunity.probability_override,
            case(
                (is_open, func.coalesce(Opportunity.forecast_category_override, PipelineStage.forecast_category)),
                else_=PipelineStage.forecast_category,
            ).label("forecast_category"),
            Opportunity.expected_close_date,
            Opportunity.closed_date,
            Opportunity.lead_source,
            Opportunity.stage_entered_at,
            Opportunity.created_at,
            Opportunity.updated_at,
            Opportunity.version,
        )
        .join(Account, Account.id == Opportunity.account_id)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .outerjoin(owner, owner.id == Opportunity.owner_id)
    )
