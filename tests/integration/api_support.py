"""What the REST API tests share: the app inside the test's rolled-back transaction, keys, response checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.deps import get_clock, get_factory
from api.main import app
from core.apikeys import create_api_key
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from tests.conftest import FrozenClock


@contextmanager
def app_client(
    factory: sessionmaker[Session], clock: FrozenClock, overrides: dict[Callable[..., Any], Callable[[], Any]] | None = None
) -> Iterator[TestClient]:
    """The app on the test's session factory and frozen clock (plus further dependency overrides)."""
    app.dependency_overrides[get_factory] = lambda: factory
    app.dependency_overrides[get_clock] = lambda: clock
    app.dependency_overrides.update(overrides or {})
    try:
        yield TestClient(app)
    finally:
        app.dependency_overrides.clear()


def bearer(factory: sessionmaker[Session], *scopes: str, name: str = "ERP-Anbindung") -> dict[str, str]:
    """The Authorization header of a new key with these scopes."""
    created = create_api_key(UnitOfWork(factory, actor=SYSTEM), name=name, scopes=list(scopes))
    return {"Authorization": f"Bearer {created.key}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem body of an error response with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["instance"] == response.request.url.path
    return body


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def version(response: httpx.Response) -> dict[str, str]:
    """If-Match with the response's ETag."""
    return {"If-Match": response.headers["ETag"]}
