"""Request dependencies: session factory, clock, the acting API key and its unit of work.

Tests override `get_factory` and `get_clock` (app.dependency_overrides) to run inside their
rolled-back transaction with a frozen clock.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from core.apikeys import authenticate_api_key
from core.database import session_factory
from core.errors import AuthenticationFailed
from core.permissions import Actor
from core.settings import get_settings
from core.uow import Clock, UnitOfWork, utc_now

bearer = HTTPBearer(auto_error=False, description="API-Schlüssel: `Authorization: Bearer crm_…`")


def get_factory() -> sessionmaker[Session]:
    return session_factory(get_settings().database_url)


def get_clock() -> Clock:
    return utc_now


Factory = Annotated[sessionmaker[Session], Depends(get_factory)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def get_actor(
    factory: Factory,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if credentials is None:
        raise AuthenticationFailed("API-Schlüssel fehlt: Header „Authorization: Bearer <Schlüssel>“ mitsenden.")
    with factory() as session:
        return authenticate_api_key(session, credentials.credentials, now=clock())


def get_uow(actor: Annotated[Actor, Depends(get_actor)], factory: Factory, clock: ClockDep) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock)


Uow = Annotated[UnitOfWork, Depends(get_uow)]
