"""Read access to what happened: the global audit log, its chain check
and the outbox events — each behind the permission that guards it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from core import audit, events
from core.ledger import Verification
from core.uow import UnitOfWork
from db.models import AuditEntry

def audit_log(
    uow: UnitOfWork,
    *,
    entity: str | None = None,
    actor_name: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    with uow:
        uow.authorize("audit.read")
        return audit.trail(
            uow.session, entity=entity, actor_name=actor_name or None, since=since, until=until, limit=limit
        )


def audited_entities(uow: UnitOfWork) -> list[str]:
    with uow:
        uow.authorize("audit.read")
        return list(uow.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))


def check_audit_chain(uow: UnitOfWork) -> Verification:
    with uow:
        uow.authorize("audit.read")
        return audit.verify_chain(uow.session)


def recent_events(uow: UnitOfWork, *, limit: int = 100, name_prefix: str | None = None) -> pd.DataFrame:
    with uow:
        uow.authorize("events.read")
        return events.recent_events(uow.session, limit=limit, name_prefix=name_prefix)
