"""Segments over REST: /api/v1/segments — CRUD, a live count for a rule tree, the members (cursor pages),
recalculation and the members of static segments.

CRUD comes from `api.crud.resource_router` (ETag = version, If-Match on every change, cursor paging); the
other endpoints call one `core.segments` service each, which checks the permission (`segments.read`,
`segments.write`; API keys by their scopes, always for all segments), validates the rules, audits and emits the
`crm.segment.*` events. A rule problem keeps its German message with the place in the tree („Bedingung 2.1:
…“); its key in the problem's `errors` is the request field plus that place (`rules.2.1`, `rules` for the
whole tree).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.crud import (
    MAX_PAGE_SIZE,
    CursorPageOut,
    Resource,
    decode_cursor,
    encode_cursor,
    json_response,
    next_link,
    resource_router,
)
from api.deps import Uow
from api.errors import problem_responses
from core.errors import ValidationFailed
from core.segments.recalc import recalculate
from core.segments.service import (
    MemberChange,
    SegmentInput,
    SegmentView,
    add_static_members,
    count_preview,
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    members_page,
    remove_static_members,
    sample_preview,
    update_segment,
)
from core.uow import UnitOfWork
from core.validation import InputModel, parse

Kind = Literal["dynamic", "static"]
RULE_PLACE = re.compile(r"\d+(\.\d+)*")
RULE_ROOT = "regel"
MAX_SAMPLE = 100
MAX_IDS = 10_000
RULES_DESCRIPTION = (
    "Regelbaum aus UND/ODER-Gruppen und Bedingungen des Katalogs (docs/segments.md; JSON Schema: "
    "`python manage.py segments schema`). Rule tree of AND/OR groups and catalogue conditions."
)
EXAMPLE_RULES: dict[str, Any] = {
    "type": "group",
    "op": "and",
    "negate": False,
    "children": [
        {"type": "condition", "field": "account.industry", "operator": "in", "value": ["Maschinenbau", "Chemie"]},
        {
            "type": "group",
            "op": "or",
            "negate": False,
            "children": [
                {
                    "type": "condition",
                    "field": "activity.type",
                    "operator": "within",
                    "value": "email_open",
                    "amount": 30,
                    "unit": "days",
                },
                {"type": "condition", "field": "contact.tags", "operator": "any_of", "value": ["VIP"]},
            ],
        },
        {"type": "condition", "field": "consent", "operator": "allowed", "value": "email", "value2": "newsletter"},
        {
            "type": "group",
            "op": "and",
            "negate": True,
            "children": [{"type": "condition", "field": "contact.city", "operator": "eq", "value": "Köln"}],
        },
    ],
}


class SegmentRef(BaseModel):
    id: int
    name: str


class Segment(BaseModel):
    """A segment with its rules (null for a static one), stored size and the segments it names or is named by."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "name": "Warme Kontakte Maschinenbau",
                    "description": "Newsletter-Empfänger mit Interesse in den letzten 30 Tagen",
                    "kind": "dynamic",
                    "rules": EXAMPLE_RULES,
                    "member_count": 1250,
                    "last_refreshed_at": "2026-11-25T02:15:04Z",
                    "refresh_error": None,
                    "created_by": 3,
                    "created_at": "2026-10-02T10:00:00Z",
                    "updated_at": "2026-11-20T08:15:00Z",
                    "version": 2,
                    "references": [],
                    "used_by": [{"id": 9, "name": "Einladung Hausmesse"}],
                }
            ]
        }
    )

    id: int
    name: str
    description: str | None
    kind: Kind
    rules: dict[str, Any] | None = Field(description=RULES_DESCRIPTION)
    member_count: int = Field(description="Mitglieder nach der letzten Berechnung (size after the last run)")
    last_refreshed_at: dt.datetime | None
    refresh_error: str | None = Field(description="Fehler der letzten Berechnung (last recalculation's error)")
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    references: list[SegmentRef] = Field(description="Segmente, die die Regel nennt (segments the rules name)")
    used_by: list[SegmentRef] = Field(description="Segmente, deren Regeln dieses nennen (segments naming this one)")

    @field_validator("references", "used_by", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        """The service's `{id: name}` as a list of `{id, name}` (JSON object keys would be strings)."""
        if isinstance(value, Mapping):
            return [{"id": segment_id, "name": name} for segment_id, name in value.items()]
        return value


class SegmentRow(BaseModel):
    """One segment in the list (`core.segments.service.list_segments`)."""

    id: int
    name: str
    kind: Kind
    description: str | None
    size: int
    last_refreshed_at: dt.datetime | None
    refresh_error: str | None
    trend: list[int] = Field(description="Größe nach den letzten 10 Läufen, älteste zuerst (sizes of the last runs)")


class SegmentCreate(SegmentInput):
    """POST body (documentation): a dynamic segment needs `rules`, a static one has none."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Warme Kontakte Maschinenbau", "kind": "dynamic", "rules": EXAMPLE_RULES},
                {"name": "Messe 2026", "kind": "static", "description": "Besucher unseres Messestands"},
            ]
        }
    )


class SegmentUpdate(InputModel):
    """PATCH body (documentation): any of name, description and rules; the kind stays."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Warme Kontakte", "description": None}, {"rules": EXAMPLE_RULES}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    rules: dict[str, Any] | None = Field(default=None, description=RULES_DESCRIPTION)


class PreviewRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rules": EXAMPLE_RULES, "sample_size": 5}]}
    )

    rules: dict[str, Any] = Field(description=RULES_DESCRIPTION, examples=[EXAMPLE_RULES])
    sample_size: int = Field(
        default=10, ge=0, le=MAX_SAMPLE, description="Wie viele Beispielkontakte (how many sample members)"
    )


class SampleContact(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str | None
    account_name: str | None


class Preview(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 1250,
                    "sample": [
                        {
                            "id": 4711,
                            "first_name": "Eva",
                            "last_name": "Schmidt",
                            "email": "eva.schmidt@mueller-maschinenbau.de",
                            "account_name": "Müller Maschinenbau GmbH",
                        }
                    ],
                }
            ]
        }
    )

    count: int = Field(description="Passende Kontakte jetzt (contacts the rules match now)")
    sample: list[SampleContact] = Field(description="Die ersten passenden Kontakte nach id (first matches by id)")


class Member(BaseModel):
    contact_id: int
    name: str
    email: str | None
    company: str | None
    joined_at: dt.datetime


class Run(BaseModel):
    """One recalculation: size afterwards, contacts that joined and left."""

    segment_id: int
    segment_name: str
    run_id: int
    reason: str
    at: dt.datetime
    size: int
    joined: int
    left: int


class MemberIds(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"contact_ids": [4711, 4712]}]})

    contact_ids: list[int] = Field(min_length=1, max_length=MAX_IDS, description="Kontakt-IDs (contact ids)")


class MembershipChange(BaseModel):
    """What adding or removing did: `changed` joined (or left), `unchanged` already were (or were not) members,
    `unknown` ids are no contacts; `size` afterwards."""

    changed: int
    unchanged: int
    unknown: list[int]
    size: int


async def segment_filters(
    kind: Annotated[Kind | None, Query(description="dynamic oder static (dynamic or static)")] = None,
) -> dict[str, Any]:
    return {"kind": kind} if kind is not None else {}


@contextmanager
def rule_field_names() -> Iterator[None]:
    """Name a rule problem as the request does: place "2.1" → `rules.2.1`, the whole tree → `rules`."""
    try:
        yield
    except ValidationFailed as exc:
        renamed = {_request_field(field): message for field, message in exc.fields.items()}
        raise ValidationFailed(renamed, exc.message) from exc


def _request_field(field: str) -> str:
    if field == RULE_ROOT:
        return "rules"
    return f"rules.{field}" if RULE_PLACE.fullmatch(field) else field


def _segments_after(
    uow: UnitOfWork, /, *, after_id: int | None, limit: int, filters: Mapping[str, Any], search: str | None
) -> tuple[pd.DataFrame, int | None]:
    """A page of segments by id. Segments are few (people define them), so the service lists them all with
    their trends and the page is cut here."""
    frame = list_segments(uow).sort_values("id")
    keep = pd.Series(True, index=frame.index)
    if after_id is not None:
        keep &= frame["id"] > after_id
    if "kind" in filters:
        keep &= frame["kind"] == filters["kind"]
    if search:
        keep &= frame["name"].str.casefold().str.contains(search.strip().casefold(), regex=False)
    page = frame[keep].head(limit + 1)
    next_after = int(page["id"].iloc[limit - 1]) if len(page) > limit else None
    return page.head(limit), next_after


def _create(uow: UnitOfWork, values: Mapping[str, Any]) -> SegmentView:
    with rule_field_names():
        data = parse(SegmentInput, values)  # unknown fields and every field's error at once
        return create_segment(uow, name=data.name, kind=data.kind, rules=data.rules, description=data.description)


def _update(
    uow: UnitOfWork, item_id: int, values: Mapping[str, Any], /, *, expected_version: int | None
) -> SegmentView:
    with rule_field_names():
        return update_segment(uow, item_id, values, expected_version=expected_version)


router = resource_router(
    Resource(
        key="segments",
        singular="Segment",
        plural="Segmente",
        english=("segment", "segments"),
        item=Segment,
        list_item=SegmentRow,
        input_model=SegmentCreate,
        update_model=SegmentUpdate,
        get=get_segment,
        create=_create,
        update=_update,
        delete=delete_segment,
        filters=segment_filters,
        cursor_list=_segments_after,
    )
)


@router.post(
    "/preview",
    name="segments_preview",
    summary="Vorschau: Anzahl und Beispiele für eine Regel · Preview: count and sample for a rule tree",
    description="Zählt in der Datenbank, wie viele Kontakte der Regelbaum jetzt trifft, und nennt die ersten "
    "(nach id); nichts wird gespeichert. Counts the contacts the rule tree matches now and lists the first ones; "
    "nothing is stored. Ungültige Regeln: 422 mit `errors` je Stelle (`rules.2.1`).",
    response_model=Preview,
    responses=problem_responses(401, 403, 422),
)
def preview(body: PreviewRequest, uow: Uow) -> Response:
    with rule_field_names():
        count = count_preview(uow, body.rules)
        sample = sample_preview(uow, body.rules, limit=body.sample_size) if body.sample_size else []
    contacts = [SampleContact.model_validate(member, from_attributes=True) for member in sample]
    return json_response(Preview(count=count, sample=contacts))


@router.get(
    "/{item_id}/members",
    name="segments_members",
    summary="Mitglieder (Cursor-Paging) · Members (cursor paging)",
    description="Die gespeicherten Mitglieder nach Kontakt-ID (Stand der letzten Berechnung). Weiter mit `cursor` = "
    "`next_cursor` der vorigen Antwort (auch im `Link`-Header, rel=next). Stored members by contact id (as of the "
    "last recalculation); continue with `cursor` = the previous `next_cursor`.",
    response_model=CursorPageOut[Member],
    responses=problem_responses(401, 403, 404, 422),
)
def members(
    item_id: int,
    uow: Uow,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Einträge pro Seite (entries per page)")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` der vorigen Seite")] = None,
) -> Response:
    rows, after_id = members_page(uow, item_id, after_contact_id=decode_cursor(cursor), limit=limit)
    next_cursor = encode_cursor(after_id) if after_id is not None else None
    headers = {"Link": next_link(request, next_cursor)} if next_cursor is not None else None
    items = [Member.model_validate(row, from_attributes=True) for row in rows]
    return json_response(CursorPageOut[Member](items=items, next_cursor=next_cursor), headers)


@router.post(
    "/{item_id}/recalculate",
    name="segments_recalculate",
    summary="Neu berechnen · Recalculate",
    description="Berechnet die Mitglieder jetzt neu und speichert Eintritte und Austritte als Lauf; ein statisches "
    "Segment behält seine Mitglieder. Recomputes the membership now and records joins and leaves as a run.",
    response_model=Run,
    responses=problem_responses(401, 403, 404, 422),
)
def recalculate_segment(item_id: int, uow: Uow) -> Response:
    with rule_field_names():  # stored rules that no longer fit the catalogue
        view = recalculate(uow, item_id, reason="manual")
    return json_response(Run.model_validate(view, from_attributes=True))


def _member_change(result: MemberChange) -> Response:
    return json_response(MembershipChange.model_validate(result, from_attributes=True))


@router.post(
    "/{item_id}/members",
    name="segments_add_members",
    summary="Kontakte in statisches Segment aufnehmen · Add contacts to a static segment",
    description="Nur statische Segmente (dynamische: 409). Unbekannte IDs werden in `unknown` genannt. "
    "Static segments only (dynamic: 409); ids that are no contacts come back in `unknown`.",
    response_model=MembershipChange,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def add_members(item_id: int, body: MemberIds, uow: Uow) -> Response:
    return _member_change(add_static_members(uow, item_id, body.contact_ids))


@router.delete(
    "/{item_id}/members",
    name="segments_remove_members",
    summary="Kontakte aus statischem Segment entfernen · Remove contacts from a static segment",
    description="Die IDs im Body (`contact_ids`); nur statische Segmente. The ids in the body; static segments only.",
    response_model=MembershipChange,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def remove_members(item_id: int, body: MemberIds, uow: Uow) -> Response:
    return _member_change(remove_static_members(uow, item_id, body.contact_ids))
