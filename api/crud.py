"""The generic REST resource: list, read, create, update and delete over a core service module.

A capability describes itself once as a `Resource` (its service functions, response models,
filters and sort keys); `resource_router` turns that into the five endpoints with the shared
HTTP rules: page envelope, ETag = version, If-Match for optimistic locking, Location on create.

The list is either offset-paged (`list`: page/page_size, sort, total) or cursor-paged
(`cursor_list`: keyset `WHERE id > :last ORDER BY id`, `limit` and an opaque `cursor`, answered
with `next_cursor` and a `Link: <…>; rel="next"` header), which stays stable while rows are added.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint annotations at runtime and
# they refer to this resource's models and sort keys, which only exist inside resource_router.

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

import pandas as pd
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import Uow
from api.errors import PreconditionRequired, problem_responses
from core.errors import ValidationFailed
from core.listing import ListQuery, Page
from core.uow import UnitOfWork

MAX_PAGE_SIZE = 200
IF_MATCH = re.compile(r'^"?(\d+)"?$')
CURSOR = re.compile(r"id:(\d{1,18})")
T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class CursorPageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Für die nächste Seite als `cursor` mitsenden; null auf der letzten Seite "
        "(pass as `cursor` for the next page; null on the last page)"
    )


# Parametrised once: pydantic keeps `Model[Any]` only weakly and rebuilt the class on every request.
AnyPageOut = PageOut[Any]
AnyCursorPageOut = CursorPageOut[Any]


class Getter(Protocol):
    def __call__(self, uow: UnitOfWork, item_id: int, /) -> Any: ...


class Creator(Protocol):
    def __call__(self, uow: UnitOfWork, values: Mapping[str, Any], /) -> Any: ...


class Updater(Protocol):
    def __call__(
        self, uow: UnitOfWork, item_id: int, values: Mapping[str, Any], /, *, expected_version: int | None
    ) -> Any: ...


class Deleter(Protocol):
    def __call__(self, uow: UnitOfWork, item_id: int, /, *, expected_version: int | None) -> None: ...


class Lister(Protocol):
    def __call__(self, uow: UnitOfWork, query: ListQuery, /) -> Page: ...


class CursorLister(Protocol):
    """A keyset page: rows with id > after_id in id order, and the id to continue after (None: last page).

    Rows are objects with the list item's fields as attributes (e.g. frozen dataclasses) or a DataFrame.
    """

    def __call__(
        self, uow: UnitOfWork, /, *, after_id: int | None, limit: int, filters: Mapping[str, Any], search: str | None
    ) -> tuple[Sequence[Any] | pd.DataFrame, int | None]: ...


@dataclass(frozen=True, kw_only=True)
class Resource:
    key: str  # URL segment and route-name prefix, e.g. "accounts"
    singular: str  # German noun for the docs, e.g. "Firma"
    plural: str
    item: type[BaseModel]  # full representation (GET/POST/PATCH responses)
    list_item: type[BaseModel]  # one row of the list
    input_model: type[BaseModel]  # the core input model; documents the request body
    get: Getter
    create: Creator
    update: Updater
    delete: Deleter
    # A dependency reading the resource's filter query parameters; `async def` (it does no I/O), so FastAPI
    # calls it on the event loop instead of handing it to a worker thread.
    filters: Callable[..., Awaitable[dict[str, Any]]]
    list: Lister | None = None  # offset paging ...
    sort_keys: tuple[str, ...] = ()
    cursor_list: CursorLister | None = None  # ... or cursor paging: exactly one of the two
    update_model: type[BaseModel] | None = None  # documents the PATCH body when it differs from input_model
    english: tuple[str, str] | None = None  # (singular, plural) for English summaries next to the German ones

    def __post_init__(self) -> None:
        if (self.list is None) == (self.cursor_list is None):
            raise ValueError(f"resource {self.key!r}: give exactly one of list and cursor_list")

    def summary(self, german: str, english: str) -> str:
        """`Firma lesen`, or `Verkaufschance lesen · Read opportunity` when English names are given."""
        if self.english is None:
            return german.format(singular=self.singular, plural=self.plural)
        singular, plural = self.english
        in_german = german.format(singular=self.singular, plural=self.plural)
        return f"{in_german} · {english.format(singular=singular, plural=plural)}"


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, body_version: Any = None) -> int:
    """The version the client last saw: from `If-Match` (an ETag of ours) or a `version` body field."""
    from_header: int | None = None
    if if_match is not None:
        match = IF_MATCH.match(if_match.strip())
        if match is None:
            raise ValidationFailed({"If-Match": 'erwartet die Version als ETag, z. B. "3"'})
        from_header = int(match.group(1))
    from_body: int | None = None
    if body_version is not None:
        if isinstance(body_version, bool) or not isinstance(body_version, int):
            raise ValidationFailed({"version": "keine ganze Zahl"})
        from_body = body_version
    if from_header is not None and from_body is not None and from_header != from_body:
        raise ValidationFailed({"version": f"widerspricht dem If-Match-Header ({from_header})"})
    version = from_header if from_header is not None else from_body
    if version is None:
        raise PreconditionRequired(
            'Version fehlt: Header „If-Match: "<version>"“ (ETag der letzten Antwort) oder "version" im Body mitsenden.'
        )
    return version


def json_response(model: BaseModel, headers: Mapping[str, str] | None = None) -> Response:
    """The model as JSON, sent as is: FastAPI would validate a returned model against `response_model`
    once more before serialising it (the decorator's `response_model` still documents the schema)."""
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)


def frame_items(frame: pd.DataFrame, item: type[BaseModel]) -> list[BaseModel]:
    """DataFrame rows as response models (NaN/NaT become null)."""
    rows = frame.astype(object).where(frame.notna(), None)
    return [item.model_validate(row) for row in rows.to_dict("records")]


def page_envelope(page: Page, item: type[BaseModel]) -> PageOut[Any]:
    return AnyPageOut(items=frame_items(page.rows, item), total=page.total, page=page.page, page_size=page.page_size)


def encode_cursor(after_id: int) -> str:
    """Opaque to clients (they pass `next_cursor` back unchanged); inside it is the last id of the page."""
    return base64.urlsafe_b64encode(f"id:{after_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    match = CURSOR.fullmatch(decoded)
    if match is None:
        raise ValidationFailed({"cursor": "ungültig: bitte next_cursor der vorigen Antwort unverändert senden"})
    return int(match.group(1))


def next_link(request: Request, next_cursor: str) -> str:
    """RFC 8288 `Link` to the next page: the same request (filters, limit) with the new cursor."""
    return f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'


def _body_schema(model: type[BaseModel], *, partial: bool) -> dict[str, Any]:
    """OpenAPI request body from the core input model (the service validates; FastAPI only documents)."""
    schema = model.model_json_schema()
    if partial:
        schema = {k: v for k, v in schema.items() if k != "required"}
        schema["properties"] = schema["properties"] | {
            "version": {"type": "integer", "description": "Alternativ zu If-Match: die zuletzt gelesene Version"}
        }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _add_page_list(router: APIRouter, resource: Resource, lister: Lister) -> None:
    SortKey = Literal[resource.sort_keys]  # type: ignore[valid-type]
    Filters = Annotated[dict[str, Any], Depends(resource.filters)]

    @router.get(
        "",
        name=f"{resource.key}_list",
        summary=resource.summary("{plural} auflisten", "List {plural}"),
        response_model=PageOut[resource.list_item],  # type: ignore[valid-type]
        responses=problem_responses(401, 403, 422),
    )
    def list_items(
        uow: Uow,
        filters: Filters,
        q: Annotated[str | None, Query(description="Suchbegriff")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
        sort: SortKey | None = None,
        desc: bool = False,
    ) -> Any:
        query = ListQuery(search=q, filters=filters, sort=sort, descending=desc, page=page, page_size=page_size)
        return page_envelope(lister(uow, query), resource.list_item)


def _add_cursor_list(router: APIRouter, resource: Resource, lister: CursorLister) -> None:
    Filters = Annotated[dict[str, Any], Depends(resource.filters)]

    @router.get(
        "",
        name=f"{resource.key}_list",
        summary=resource.summary("{plural} auflisten (Cursor-Paging)", "List {plural} (cursor paging)"),
        description="Sortiert nach id. Weiter mit `cursor` = `next_cursor` der vorigen Antwort (auch im "
        "`Link`-Header, rel=next); neu angelegte Datensätze verschieben keine Seitengrenze. "
        "Ordered by id; continue with `cursor` = the previous `next_cursor` (also in the `Link` header).",
        response_model=CursorPageOut[resource.list_item],  # type: ignore[valid-type]
        responses=problem_responses(401, 403, 422),
    )
    def list_items(
        uow: Uow,
        filters: Filters,
        request: Request,
        q: Annotated[str | None, Query(description="Suchbegriff (search term)")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Einträge pro Seite")] = 50,
        cursor: Annotated[str | None, Query(description="`next_cursor` der vorigen Seite")] = None,
    ) -> Any:
        rows, after_id = lister(uow, after_id=decode_cursor(cursor), limit=limit, filters=filters, search=q)
        next_cursor = encode_cursor(after_id) if after_id is not None else None
        headers = {"Link": next_link(request, next_cursor)} if next_cursor is not None else None
        if isinstance(rows, pd.DataFrame):
            items = frame_items(rows, resource.list_item)
        else:
            items = [resource.list_item.model_validate(row, from_attributes=True) for row in rows]
        return json_response(AnyCursorPageOut(items=items, next_cursor=next_cursor), headers)


def resource_router(resource: Resource) -> APIRouter:
    router = APIRouter(prefix=f"/{resource.key}", tags=[resource.plural])
    key, item = resource.key, resource.item
    Values = Annotated[dict[str, Any], Body()]
    IfMatch = Annotated[str | None, Header(description='ETag der letzten Antwort, z. B. "3"')]

    if resource.cursor_list is not None:
        _add_cursor_list(router, resource, resource.cursor_list)
    elif resource.list is not None:
        _add_page_list(router, resource, resource.list)

    @router.get(
        "/{item_id}",
        name=f"{key}_get",
        summary=resource.summary("{singular} lesen", "Read {singular}"),
        response_model=item,
        responses=problem_responses(401, 403, 404),
    )
    def get_item(item_id: int, uow: Uow) -> Any:
        view = resource.get(uow, item_id)
        return json_response(item.model_validate(view, from_attributes=True), {"ETag": etag(view.version)})

    @router.post(
        "",
        name=f"{key}_create",
        summary=resource.summary("{singular} anlegen", "Create {singular}"),
        status_code=201,
        response_model=item,
        responses=problem_responses(401, 403, 422),
        openapi_extra=_body_schema(resource.input_model, partial=False),
    )
    def create_item(values: Values, uow: Uow, request: Request, response: Response) -> Any:
        view = resource.create(uow, values)
        response.headers["Location"] = str(request.url_for(f"{key}_get", item_id=str(view.id)))
        response.headers["ETag"] = etag(view.version)
        return item.model_validate(view, from_attributes=True)

    @router.patch(
        "/{item_id}",
        name=f"{key}_update",
        summary=resource.summary("{singular} ändern", "Update {singular}"),
        response_model=item,
        responses=problem_responses(401, 403, 404, 409, 422, 428),
        openapi_extra=_body_schema(resource.update_model or resource.input_model, partial=True),
    )
    def update_item(item_id: int, values: Values, uow: Uow, response: Response, if_match: IfMatch = None) -> Any:
        changes = dict(values)
        version = expected_version(if_match, changes.pop("version", None))
        view = resource.update(uow, item_id, changes, expected_version=version)
        response.headers["ETag"] = etag(view.version)
        return item.model_validate(view, from_attributes=True)

    @router.delete(
        "/{item_id}",
        name=f"{key}_delete",
        summary=resource.summary("{singular} löschen", "Delete {singular}"),
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404, 409, 428),
    )
    def delete_item(item_id: int, uow: Uow, if_match: IfMatch = None) -> Response:
        resource.delete(uow, item_id, expected_version=expected_version(if_match))
        return Response(status_code=204)

    return router
