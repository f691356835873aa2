from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.accounts import AccountView, create_account
from core.contacts import ContactView, create_contact
from core.permissions import Actor
from core.uow import Clock, UnitOfWork, utc_now


def make_account(factory: sessionmaker[Session], actor: Actor, *, clock: Clock = utc_now, **values: Any) -> AccountView:
    data = {"name": "Müller Maschinenbau", "legal_form": "GmbH", "postcode": "50667", "city": "Köln"} | values
    return create_account(UnitOfWork(factory, actor=actor, clock=clock), data)


def make_contact(factory: sessionmaker[Session], actor: Actor, *, clock: Clock = utc_now, **values: Any) -> ContactView:
    data = {"first_name": "Jürgen", "last_name": "Weiß", "email": "j.weiss@example.de"} | values
    return create_contact(UnitOfWork(factory, actor=actor, clock=clock), data)
