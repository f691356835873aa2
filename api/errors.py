"""Errors as RFC 9457 problem details (`application/problem+json`).

Domain errors keep their German message and status; FastAPI's request validation and plain
HTTP errors (unknown route, wrong method) are rendered the same way, so clients parse one shape.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import AuthenticationFailed, DomainError, ValidationFailed
from core.validation import field_messages

PROBLEM_JSON = "application/problem+json"
REQUEST_PARTS = {"body", "query", "path", "header", "cookie"}


class Problem(BaseModel):
    """Problem details; `errors` maps each invalid field to its German message."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: dict[str, str] | None = None


class PreconditionRequired(DomainError):
    """A change without the version the client last saw (lost-update protection, RFC 6585)."""

    status = 428
    title = "Version erforderlich"


def problem_type(error: type[DomainError]) -> str:
    """`NotFound` -> `urn:crm:problem:not-found`: a stable, machine-readable kind."""
    return "urn:crm:problem:" + re.sub(r"(?<!^)(?=[A-Z])", "-", error.__name__).lower()


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str | None,
    type_: str = "about:blank",
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(type=type_, title=title, status=status, detail=detail, instance=request.url.path, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": 'Bearer realm="crm"'} if isinstance(exc, AuthenticationFailed) else None
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.message,
        type_=problem_type(type(exc)),
        errors=exc.fields if isinstance(exc, ValidationFailed) else None,
        headers=headers,
    )


def _without_request_part(error: Any) -> dict[str, Any]:
    """("query", "page_size") -> ("page_size",); a whole-body error keeps "body" as its field."""
    loc = tuple(error["loc"])
    if len(loc) > 1 and loc[0] in REQUEST_PARTS:
        loc = loc[1:] if error["type"] != "json_invalid" else loc[:1]
    return {**error, "loc": loc}


def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _domain_error(request, ValidationFailed(field_messages(_without_request_part(e) for e in exc.errors())))


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    return problem_response(request, status=exc.status_code, title=phrase, detail=detail, headers=exc.headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problem responses an operation can give."""
    content = {PROBLEM_JSON: {"schema": Problem.model_json_schema()}}
    return {status: {"content": content, "description": HTTPStatus(status).phrase} for status in statuses}
