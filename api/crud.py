"""The generic REST resource: list, read, create, update and delete over a core service module.

A capability describes itself once as a `Resource` (its service functions, response models,
filters and sort keys); `resource_router` turns that into the five endpoints with the shared
HTTP rules: page envelope, ETag = version, If-Match for optimistic locking, Location on create.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint annotations at runtime and
# they refer to this resource's models and sort keys, which only exist inside resource_router.

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import BaseModel

from api.deps import Uow
from api.errors import PreconditionRequired, problem_responses
from core.errors import ValidationFailed
from core.listing import ListQuery, Page
from core.uow import UnitOfWork

MAX_PAGE_SIZE = 200
IF_MATCH = re.compile(r'^"?(\d+)"?$')
T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


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


@dataclass(frozen=True)
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
    list: Lister
    filters: Callable[..., dict[str, Any]]  # a dependency reading the resource's filter query parameters
    sort_keys: tuple[str, ...]


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


def page_envelope(page: Page, item: type[BaseModel]) -> PageOut[Any]:
    rows = page.rows.astype(object).where(page.rows.notna(), None)
    items = [item.model_validate(row) for row in rows.to_dict("records")]
    return PageOut[Any](items=items, total=page.total, page=page.page, page_size=page.page_size)


def _body_schema(model: type[BaseModel], *, partial: bool) -> dict[str, Any]:
    """OpenAPI request body from the core input model (the service validates; FastAPI only documents)."""
    schema = model.model_json_schema()
    if partial:
        schema = {k: v for k, v in schema.items() if k != "required"}
        schema["properties"] = schema["properties"] | {
            "version": {"type": "integer", "description": "Alternativ zu If-Match: die zuletzt gelesene Version"}
        }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def resource_router(resource: Resource) -> APIRouter:
    router = APIRouter(prefix=f"/{resource.key}", tags=[resource.plural])
    key, item = resource.key, resource.item
    SortKey = Literal[resource.sort_keys]  # type: ignore[valid-type]
    Filters = Annotated[dict[str, Any], Depends(resource.filters)]
    Values = Annotated[dict[str, Any], Body()]
    IfMatch = Annotated[str | None, Header(description='ETag der letzten Antwort, z. B. "3"')]

    @router.get(
        "",
        name=f"{key}_list",
        summary=f"{resource.plural} auflisten",
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
        return page_envelope(resource.list(uow, query), resource.list_item)

    @router.get(
        "/{item_id}",
        name=f"{key}_get",
        summary=f"{resource.singular} lesen",
        response_model=item,
        responses=problem_responses(401, 403, 404),
    )
    def get_item(item_id: int, uow: Uow, response: Response) -> Any:
        view = resource.get(uow, item_id)
        response.headers["ETag"] = etag(view.version)
        return item.model_validate(view, from_attributes=True)

    @router.post(
        "",
        name=f"{key}_create",
        summary=f"{resource.singular} anlegen",
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
        summary=f"{resource.singular} ändern",
        response_model=item,
        responses=problem_responses(401, 403, 404, 409, 422, 428),
        openapi_extra=_body_schema(resource.input_model, partial=True),
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
        summary=f"{resource.singular} löschen",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404, 409, 428),
    )
    def delete_item(item_id: int, uow: Uow, if_match: IfMatch = None) -> Response:
        resource.delete(uow, item_id, expected_version=expected_version(if_match))
        return Response(status_code=204)

    return router
