"""Unit of work: one service call = one transaction that carries the actor and the clock.

    with uow:
        uow.authorize("contacts.write", owner_id=contact.owner_id)
        ...change data...
        uow.audit(...); uow.emit(...)
        uow.commit()

Leaving the block without `commit()` rolls everything back: data, audit entries and events
are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from core import audit, events
from core.errors import Conflict
from core.permissions import Actor, Scope, authorize
from core.subject_keys import Subject

Clock = Callable[[], dt.datetime]

STALE_MESSAGE = (
    "Der Datensatz wurde inzwischen von jemand anderem geändert. Bitte neu laden und Ihre Änderung erneut eingeben."
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@event.listens_for(Session, "before_flush")
def _refuse_write_in_read(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if session.info.get("read_only"):
        raise RuntimeError("Ein Lesevorgang (begin_read) darf nichts schreiben: ohne begin_read und mit commit().")


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, actor: Actor, clock: Clock = utc_now) -> None:
        self._factory = session_factory
        self.actor = actor
        self.clock = clock
        self._session: Session | None = None
        self._now: dt.datetime | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    @property
    def now(self) -> dt.datetime:
        """One timestamp per transaction: all its rows, audit entries and events agree."""
        if self._now is None:
            self._now = self.clock()
        return self._now

    def __enter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("UnitOfWork is not re-entrant")
        self._session = self._factory()
        self._now = None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None
        if isinstance(exc, StaleDataError):
            # A concurrent transaction updated the row between our read and our flush.
            raise Conflict(STALE_MESSAGE) from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except StaleDataError as exc:
            self.session.rollback()
            raise Conflict(STALE_MESSAGE) from exc

    def begin_read(self) -> None:
        """Declare this unit of work a read (first in its block) and, on PostgreSQL, run it without a transaction.

        A hot read (the API's GET and list) is then one round trip instead of BEGIN, query and COMMIT, and psycopg
        keeps its prepared statements (it forgets them on every ROLLBACK), so the server plans the query once per
        connection instead of per request. Each statement sees what was committed when it started, as in a READ
        COMMITTED transaction. A read cannot write: its flush raises. A session bound to a connection (the tests'
        rolled-back transaction) stays in that connection's transaction.
        """
        session = self.session
        session.info["read_only"] = True
        bind = session.get_bind()
        if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    def authorize(self, permission: str, *, owner_id: int | None = None, check_owner: bool = False) -> Scope:
        return authorize(self.actor, permission, owner_id=owner_id, check_owner=check_owner)

    def check_version(self, current: int, expected: int | None) -> None:
        """Optimistic lock against the version the user saw when the form was loaded."""
        if expected is not None and current != expected:
            raise Conflict(STALE_MESSAGE)

    def audit(
        self,
        *,
        entity: str,
        entity_id: str | int,
        action: str,
        changes: Sequence[audit.FieldChange] = (),
        reason: str | None = None,
        subject: Subject | None = None,
    ) -> None:
        audit.record(
            self.session,
            now=self.now,
            actor=self.actor,
            entity=entity,
            entity_id=entity_id,
            action=action,
            changes=changes,
            reason=reason,
            subject=subject,
        )

    def emit(self, name: str, *, entity: str, entity_id: str | int, payload: Mapping[str, Any]) -> None:
        events.emit(
            self.session,
            name=name,
            entity=entity,
            entity_id=entity_id,
            payload=payload,
            now=self.now,
            actor_id=self.actor.user_id,
        )
