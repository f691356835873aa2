"""Opportunities (deals) over REST: /api/v1/opportunities, /pipelines and /deal-reasons.

CRUD comes from `api.crud.resource_router` with cursor paging; stage moves, closing, reopening,
the stage history and contact roles are added here. Every endpoint calls one service of
`core.sales`, which checks the permission (API keys: their scopes, always for ALL records, since a
key acts for no user and so owns nothing), validates, audits and emits the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.crud import Resource, etag, expected_version, frame_items, resource_router
from api.deps import Uow
from api.errors import problem_responses
from core.errors import NotFound, ValidationFailed
from core.sales.contact_roles import ContactRoleInput, add_contact_role, contact_roles, remove_contact_role
from core.sales.history import stage_history
from core.sales.opportunities import (
    CURRENCIES,
    LEAD_SOURCES,
    OpportunityInput,
    OpportunityView,
    create_opportunity,
    delete_opportunity,
    get_opportunity,
    list_opportunities_after,
    lose_opportunity,
    move_stage,
    reopen_opportunity,
    update_opportunity,
    win_opportunity,
)
from core.sales.pipelines import list_pipelines, list_reasons
from core.uow import UnitOfWork
from core.validation import InputModel, parse

T = TypeVar("T")
CENT = Decimal("0.01")
Money = Annotated[Decimal, AfterValidator(lambda value: value.quantize(CENT))]  # always two decimals: "48000.00"
Status = Literal["open", "won", "lost"]
Currency = Literal[CURRENCIES]  # type: ignore[valid-type]
LeadSource = Literal[LEAD_SOURCES]  # type: ignore[valid-type]
IfMatch = Annotated[str | None, Header(description='ETag der letzten Antwort, z. B. "3" (ETag of the last response)')]
# The stage endpoints name the closing reason `reason_id`/`reason_text`; the service names the column.
REQUEST_FIELD = {"won_reason_id": "reason_id", "lost_reason_id": "reason_id", "close_reason_text": "reason_text"}


class Items(BaseModel, Generic[T]):
    items: list[T]


class Opportunity(BaseModel):
    """A deal with its effective probability and forecast category (stage default unless overridden)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4711,
                    "external_id": "ERP-2026-0815",
                    "name": "Fräsmaschinen Ersatzinvestition",
                    "account_id": 12,
                    "account_name": "Müller Maschinenbau GmbH",
                    "owner_id": 3,
                    "owner_name": "Jan Schröder",
                    "pipeline_id": 1,
                    "pipeline_name": "Neugeschäft",
                    "stage_id": 3,
                    "stage_name": "Angebot",
                    "stage_position": 3,
                    "status": "open",
                    "amount": "48000.00",
                    "currency": "EUR",
                    "probability": 60,
                    "probability_override": 60,
                    "probability_is_override": True,
                    "weighted_amount": "28800.00",
                    "forecast_category": "best_case",
                    "forecast_category_system": "best_case",
                    "forecast_category_override": None,
                    "expected_close_date": "2027-01-31",
                    "closed_date": None,
                    "lead_source": "Messe",
                    "campaign": None,
                    "competitor": "Schmidt Werkzeuge",
                    "next_step": "Angebot nachfassen",
                    "won_reason_id": None,
                    "lost_reason_id": None,
                    "close_reason": None,
                    "close_reason_text": None,
                    "description": None,
                    "stage_entered_at": "2026-11-20T08:15:00Z",
                    "days_in_stage": 5,
                    "is_stale": False,
                    "version": 4,
                    "created_at": "2026-10-02T10:00:00Z",
                    "updated_at": "2026-11-20T08:15:00Z",
                }
            ]
        }
    )

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
    status: Status
    amount: Money = Field(description="Betrag (amount), als Text mit zwei Nachkommastellen")
    currency: str
    probability: int = Field(description="Wirksame Wahrscheinlichkeit in % (effective probability)")
    probability_override: int | None
    probability_is_override: bool
    weighted_amount: Money = Field(description="Betrag × Wahrscheinlichkeit (amount × probability)")
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


class OpportunityRow(BaseModel):
    """One deal in the list (`core.sales.opportunities.list_opportunities_after`)."""

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
    status: Status
    amount: Money
    currency: str
    probability: int
    probability_override: int | None
    probability_is_override: bool
    weighted_amount: Money
    forecast_category: str
    expected_close_date: dt.date | None
    closed_date: dt.date | None
    lead_source: str | None
    stage_entered_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class Placement(InputModel):
    """Where a new deal starts and, when it starts won or lost, why."""

    pipeline_id: int | None = Field(default=None, description="Pipeline (Standard: die Standard-Pipeline)")
    stage_id: int | None = Field(default=None, description="Phase (Standard: erste offene Phase der Pipeline)")
    reason_id: int | None = Field(default=None, description="Gewinn-/Verlustgrund, wenn die Phase abschließt")
    reason_text: str | None = Field(default=None, max_length=500, description="Freitext, z. B. bei „Sonstiges“")


class OpportunityCreate(OpportunityInput, Placement):
    """POST body (documentation): the deal's fields plus its placement."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Fräsmaschinen Ersatzinvestition",
                    "account_id": 12,
                    "amount": "48000.00",
                    "currency": "EUR",
                    "expected_close_date": "2027-01-31",
                    "lead_source": "Messe",
                    "pipeline_id": 1,
                }
            ]
        }
    )


class EditStage(InputModel):
    """The stage fields a PATCH may carry besides the deal's own fields (a move in the same transaction)."""

    stage_id: int | None = Field(default=None, description="Neue Phase; verschiebt die Verkaufschance")
    won_reason_id: int | None = None
    lost_reason_id: int | None = None
    close_reason_text: str | None = Field(default=None, max_length=500)


class OpportunityUpdate(OpportunityInput, EditStage):
    """PATCH body (documentation): any subset of the fields."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"amount": "52000.00", "next_step": "Demo vor Ort"}]})


class StageMove(BaseModel):
    """Target stage; won, lost or reopened follows from its kind. A lost deal needs `reason_id`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"stage_id": 3}, {"stage_id": 6, "reason_id": 9, "closed_date": "2026-11-24"}]},
    )

    stage_id: int
    reason_id: int | None = None
    reason_text: str | None = Field(default=None, max_length=500)
    closed_date: dt.date | None = Field(default=None, description="Abschlussdatum (Standard: heute)")


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason_id": 2}]})

    reason_id: int | None = Field(default=None, description="Gewinn-/Verlustgrund (GET /deal-reasons)")
    reason_text: str | None = Field(default=None, max_length=500)
    closed_date: dt.date | None = Field(default=None, description="Abschlussdatum (Standard: heute)")


class Reopening(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stage_id": 4}]})

    stage_id: int | None = Field(default=None, description="Offene Phase (Standard: die vor dem Abschluss)")


class StageHistoryEntry(BaseModel):
    id: int
    kind: Literal["created", "moved", "won", "lost", "reopened", "revised"]
    kind_label: str
    from_stage: str | None
    to_stage: str
    to_kind: str
    occurred_at: dt.datetime
    left_at: dt.datetime | None = Field(description="Ende der Phase (end of the stage); null: aktuelle Phase")
    days: int | None = Field(description="Tage in der Phase (days in stage); null bei `revised`")
    amount: Money | None
    currency: str | None
    probability: int | None
    expected_close_date: dt.date | None
    actor_name: str
    backward: bool
    slipped: bool = Field(description="Abschlussdatum nach hinten verschoben (close date slipped)")


class ContactRole(BaseModel):
    id: int
    contact_id: int
    contact_name: str
    email: str | None
    role: str
    is_primary: bool


class Stage(BaseModel):
    id: int
    name: str
    position: int
    kind: Literal["open", "won", "lost"]
    probability: int
    forecast_category: str
    stale_after_days: int | None


class Pipeline(BaseModel):
    id: int
    name: str
    is_default: bool
    stages: list[Stage]


class DealReason(BaseModel):
    id: int
    kind: Literal["won", "lost"]
    label: str
    needs_text: bool


async def opportunity_filters(
    pipeline_id: Annotated[list[int] | None, Query(description="Pipeline-ID (mehrfach möglich)")] = None,
    stage_id: Annotated[list[int] | None, Query(description="Phasen-ID (mehrfach möglich)")] = None,
    owner_id: Annotated[list[int] | None, Query(description="Verantwortlicher (mehrfach möglich)")] = None,
    team_id: Annotated[int | None, Query(description="Team des Verantwortlichen")] = None,
    status: Annotated[list[Status] | None, Query(description="open, won, lost (mehrfach möglich)")] = None,
    account_id: Annotated[list[int] | None, Query(description="Firmen-ID (mehrfach möglich)")] = None,
    lead_source: Annotated[list[LeadSource] | None, Query(description="Lead-Quelle (mehrfach möglich)")] = None,
    currency: Annotated[list[Currency] | None, Query(description="Währung (mehrfach möglich)")] = None,
    close_from: Annotated[dt.date | None, Query(description="Erwarteter Abschluss ab (JJJJ-MM-TT)")] = None,
    close_to: Annotated[dt.date | None, Query(description="Erwarteter Abschluss bis (JJJJ-MM-TT)")] = None,
    amount_min: Annotated[Decimal | None, Query(ge=0, description="Betrag ab")] = None,
    amount_max: Annotated[Decimal | None, Query(ge=0, description="Betrag bis")] = None,
) -> dict[str, Any]:
    given = {
        "pipeline_id": pipeline_id,
        "stage_id": stage_id,
        "owner_id": owner_id,
        "team_id": team_id,
        "status": status,
        "account_id": account_id,
        "lead_source": lead_source,
        "currency": currency,
        "close_from": close_from,
        "close_to": close_to,
        "amount_min": amount_min,
        "amount_max": amount_max,
    }
    return {name: value for name, value in given.items() if value not in (None, [])}


@contextmanager
def request_field_names() -> Iterator[None]:
    """Name invalid fields as the request did (`reason_id`), not as the service's columns (`lost_reason_id`)."""
    try:
        yield
    except ValidationFailed as exc:
        raise ValidationFailed({REQUEST_FIELD.get(f, f): m for f, m in exc.fields.items()}) from exc


def _create(uow: UnitOfWork, values: Mapping[str, Any]) -> OpportunityView:
    """POST: the deal's fields, where it starts and, when it starts won or lost, why."""
    data = parse(OpportunityCreate, values)  # every field's error at once, the placement's included
    deal = {k: v for k, v in values.items() if k not in ("reason_id", "reason_text")}
    deal |= data.model_dump(include={"pipeline_id", "stage_id"})
    with request_field_names():
        return create_opportunity(uow, deal, reason_id=data.reason_id, reason_text=data.reason_text)


def _update(
    uow: UnitOfWork, item_id: int, values: Mapping[str, Any], /, *, expected_version: int | None
) -> OpportunityView:
    """PATCH: the deal's fields and optionally a stage move; unknown fields are refused, not ignored."""
    unknown = {k: "unbekanntes Feld" for k in values if k not in OpportunityUpdate.model_fields}
    if unknown:
        raise ValidationFailed(unknown)
    stage = parse(EditStage, {k: v for k, v in values.items() if k in EditStage.model_fields})
    changes = dict(values) | stage.model_dump(exclude_unset=True)
    return update_opportunity(uow, item_id, changes, expected_version=expected_version)


router = resource_router(
    Resource(
        key="opportunities",
        singular="Verkaufschance",
        plural="Verkaufschancen",
        english=("opportunity", "opportunities"),
        item=Opportunity,
        list_item=OpportunityRow,
        input_model=OpportunityCreate,
        update_model=OpportunityUpdate,
        get=get_opportunity,
        create=_create,
        update=_update,
        delete=delete_opportunity,
        filters=opportunity_filters,
        cursor_list=list_opportunities_after,
    )
)
CHANGE_PROBLEMS = problem_responses(401, 403, 404, 409, 422, 428)


def _answer(view: OpportunityView, response: Response) -> Opportunity:
    response.headers["ETag"] = etag(view.version)
    return Opportunity.model_validate(view, from_attributes=True)


@router.post(
    "/{item_id}/stage",
    name="opportunities_move",
    summary="Phase wechseln · Move to a stage",
    description="Vorwärts, rückwärts, in eine andere Pipeline, nach Gewonnen/Verloren oder aus einer "
    "abgeschlossenen Phase heraus (Wiedereröffnung). Verloren braucht `reason_id`. "
    "Won, lost or reopened follows from the target stage's kind; lost needs `reason_id`.",
    response_model=Opportunity,
    responses=CHANGE_PROBLEMS,
)
def move(item_id: int, body: StageMove, uow: Uow, response: Response, if_match: IfMatch = None) -> Opportunity:
    version = expected_version(if_match)
    with request_field_names():
        view = move_stage(
            uow,
            item_id,
            stage_id=body.stage_id,
            expected_version=version,
            reason_id=body.reason_id,
            reason_text=body.reason_text,
            closed_date=body.closed_date,
        )
    return _answer(view, response)


def _close(
    close: Callable[..., OpportunityView],
    item_id: int,
    uow: UnitOfWork,
    response: Response,
    body: Closing | None,
    if_match: str | None,
) -> Opportunity:
    version = expected_version(if_match)
    with request_field_names():
        view = close(uow, item_id, expected_version=version, **(body or Closing()).model_dump())
    return _answer(view, response)


@router.post(
    "/{item_id}/win",
    name="opportunities_win",
    summary="Als gewonnen abschließen · Mark as won",
    response_model=Opportunity,
    responses=CHANGE_PROBLEMS,
)
def win(
    item_id: int, uow: Uow, response: Response, body: Annotated[Closing | None, Body()] = None, if_match: IfMatch = None
) -> Opportunity:
    return _close(win_opportunity, item_id, uow, response, body, if_match)


@router.post(
    "/{item_id}/lose",
    name="opportunities_lose",
    summary="Als verloren abschließen (mit Grund) · Mark as lost (with reason)",
    response_model=Opportunity,
    responses=CHANGE_PROBLEMS,
)
def lose(
    item_id: int, uow: Uow, response: Response, body: Annotated[Closing | None, Body()] = None, if_match: IfMatch = None
) -> Opportunity:
    return _close(lose_opportunity, item_id, uow, response, body, if_match)


@router.post(
    "/{item_id}/reopen",
    name="opportunities_reopen",
    summary="Wiedereröffnen · Reopen",
    response_model=Opportunity,
    responses=CHANGE_PROBLEMS,
)
def reopen(
    item_id: int,
    uow: Uow,
    response: Response,
    body: Annotated[Reopening | None, Body()] = None,
    if_match: IfMatch = None,
) -> Opportunity:
    version = expected_version(if_match)
    view = reopen_opportunity(uow, item_id, expected_version=version, stage_id=(body or Reopening()).stage_id)
    return _answer(view, response)


@router.get(
    "/{item_id}/history",
    name="opportunities_history",
    summary="Phasenverlauf · Stage history",
    description="Jede Phasenänderung, älteste zuerst (every stage change, oldest first).",
    response_model=Items[StageHistoryEntry],
    responses=problem_responses(401, 403, 404),
)
def history(item_id: int, uow: Uow) -> Items[StageHistoryEntry]:
    rows = stage_history(uow, item_id)
    if rows.empty:
        get_opportunity(uow, item_id)  # unknown deal: 404
    return Items[StageHistoryEntry](items=frame_items(rows, StageHistoryEntry))  # type: ignore[arg-type]


@router.get(
    "/{item_id}/contacts",
    name="opportunities_contacts",
    summary="Kontaktrollen · Contact roles",
    response_model=Items[ContactRole],
    responses=problem_responses(401, 403, 404),
)
def contacts(item_id: int, uow: Uow) -> Items[ContactRole]:
    roles = contact_roles(uow, item_id)
    if not roles:
        get_opportunity(uow, item_id)  # unknown deal: 404
    return Items[ContactRole](items=[ContactRole.model_validate(r, from_attributes=True) for r in roles])


@router.post(
    "/{item_id}/contacts",
    name="opportunities_add_contact",
    summary="Kontakt mit Rolle hinzufügen · Add a contact role",
    status_code=201,
    response_model=ContactRole,
    responses=problem_responses(401, 403, 404, 422),
)
def add_contact(item_id: int, body: ContactRoleInput, uow: Uow) -> ContactRole:
    roles = add_contact_role(uow, item_id, contact_id=body.contact_id, role=body.role, is_primary=body.is_primary)
    added = next(r for r in roles if r.contact_id == body.contact_id)
    return ContactRole.model_validate(added, from_attributes=True)


@router.delete(
    "/{item_id}/contacts/{role_id}",
    name="opportunities_remove_contact",
    summary="Kontaktrolle entfernen · Remove a contact role",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
def remove_contact(item_id: int, role_id: int, uow: Uow) -> Response:
    if role_id not in {r.id for r in contact_roles(uow, item_id)}:
        get_opportunity(uow, item_id)  # unknown deal: 404 for the deal
        raise NotFound(f"Kontaktrolle {role_id} gehört nicht zur Verkaufschance {item_id}.")
    remove_contact_role(uow, role_id)
    return Response(status_code=204)


pipelines_router = APIRouter(tags=["Vertrieb: Einstellungen"])


@pipelines_router.get(
    "/pipelines",
    name="pipelines_list",
    summary="Pipelines mit Phasen · Pipelines with stages",
    response_model=Items[Pipeline],
    responses=problem_responses(401, 403),
)
def pipelines(uow: Uow) -> Items[Pipeline]:
    return Items[Pipeline](items=[Pipeline.model_validate(p, from_attributes=True) for p in list_pipelines(uow)])


@pipelines_router.get(
    "/deal-reasons",
    name="deal_reasons_list",
    summary="Gewinn- und Verlustgründe · Won and lost reasons",
    response_model=Items[DealReason],
    responses=problem_responses(401, 403, 422),
)
def deal_reasons(
    uow: Uow, kind: Annotated[Literal["won", "lost"] | None, Query(description="won oder lost; ohne: beide")] = None
) -> Items[DealReason]:
    kinds: tuple[Literal["won", "lost"], ...] = (kind,) if kind else ("won", "lost")
    reasons = [r for k in kinds for r in list_reasons(uow, k)]
    return Items[DealReason](items=[DealReason.model_validate(r, from_attributes=True) for r in reasons])
