"""Request dependencies: session factory, clock, the acting API key and its unit of work.

Tests override `get_factory` and `get_clock` (app.dependency_overrides) to run inside their
rolled-back transaction with a frozen clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from core.apikeys import authenticate_api_key, checked_api_actor
from core.database import session_factory
from core.errors import AuthenticationFailed
from core.permissions import Actor
from core.settings import get_settings
from core.uow import Clock, UnitOfWork, utc_now

bearer = HTTPBearer(auto_error=False, description="API-Schlüssel: `Authorization: Bearer crm_…`")


# The dependencies that do no I/O are `async`: FastAPI runs a plain `def` dependency in a worker thread,
# and those hand-offs cost more CPU per request than the work itself.


async def get_factory() -> sessionmaker[Session]:
    return session_factory(get_settings().database_url)


async def get_clock() -> Clock:
    return utc_now


Factory = Annotated[sessionmaker[Session], Depends(get_factory)]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_actor(
    factory: Factory,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The key's actor: remembered from a moment ago, else looked up (in a worker thread: it queries)."""
    if credentials is None:
        raise AuthenticationFailed("API-Schlüssel fehlt: Header „Authorization: Bearer <Schlüssel>“ mitsenden.")
    now = clock()
    actor = checked_api_actor(credentials.credentials, now=now)
    if actor is None:
        actor = await run_in_threadpool(_authenticate, factory, credentials.credentials, now)
    return actor


def _authenticate(factory: sessionmaker[Session], key: str, now: dt.datetime) -> Actor:
    with factory() as session:
        return authenticate_api_key(session, key, now=now)


async def get_uow(actor: Annotated[Actor, Depends(get_actor)], factory: Factory, clock: ClockDep) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock)


Uow = Annotated[UnitOfWork, Depends(get_uow)]
