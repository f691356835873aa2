from __future__ import annotations

import itertools

from sqlalchemy.orm import Session, sessionmaker

from core.permissions import SYSTEM, Actor, Role
from core.uow import Clock, UnitOfWork, utc_now
from core.users import UserView, create_user

PASSWORD = "sehr-geheim-123"
_seq = itertools.count(1)


def make_user(factory: sessionmaker[Session], role: Role = Role.ADMIN, *, clock: Clock = utc_now, **values: object) -> UserView:
    n = next(_seq)
    data = {"username": f"user{n}", "display_name": f"Test User {n}", "role": role} | values
    return create_user(UnitOfWork(factory, actor=SYSTEM, clock=clock), data, password=PASSWORD)


def actor_of(user: UserView) -> Actor:
    return user.actor()
