"""Domain events through a transactional outbox, delivered to in-process subscribers.

`emit` writes the event in the caller's transaction, so an event exists exactly when its
change was committed. `dispatch_pending` hands events to subscribers at least once and in
order; each subscriber's progress is a cursor advanced in the same transaction as the
handler's own writes, and handlers must be idempotent for effects outside the database.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.audit import to_text
from db.models import EventSubscription, OutboxEvent

NAME_PATTERN = re.compile(r"^crm\.[a-z_]+\.[a-z_]+$")
EVENT_NAMES: dict[str, str] = {}


def register_event(name: str, description: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"event name {name!r} must look like crm.<entity>.<past_tense_verb>")
    EVENT_NAMES[name] = description
    return name


for _entity, _label in (("account", "Firma"), ("contact", "Kontakt")):
    register_event(f"crm.{_entity}.created", f"{_label} angelegt")
    register_event(f"crm.{_entity}.updated", f"{_label} geändert")
    register_event(f"crm.{_entity}.deleted", f"{_label} gelöscht")
register_event("crm.address.created", "Adresse angelegt")
register_event("crm.address.updated", "Adresse geändert")
register_event("crm.address.retired", "Adresse ausgelaufen")
register_event("crm.user.created", "Benutzer angelegt")
register_event("crm.user.updated", "Benutzer geändert")
register_event("crm.user.logged_in", "Benutzer angemeldet")
register_event("crm.apikey.created", "API-Schlüssel angelegt")
register_event("crm.apikey.revoked", "API-Schlüssel widerrufen")
register_event("crm.demo.seeded", "Demodaten erzeugt")
register_event("crm.import.completed", "Import abgeschlossen")
register_event("crm.import.rejected", "Import abgelehnt")
register_event("crm.account.merged", "Firmen zusammengeführt")
register_event("crm.contact.merged", "Kontakte zusammengeführt")
register_event("crm.account.merge_undone", "Zusammenführung von Firmen rückgängig gemacht")
register_event("crm.contact.merge_undone", "Zusammenführung von Kontakten rückgängig gemacht")


@dataclass(frozen=True)
class Event:
    id: int
    event_id: str
    name: str
    schema_version: int
    entity: str
    entity_id: str
    actor_id: int | None
    occurred_at: dt.datetime
    payload: dict[str, Any]


def change_payload(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """Versioned payload with before/after values (JSON-safe)."""

    def clean(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {k: v if isinstance(v, (int, float, bool, type(None))) else to_text(v) for k, v in values.items()}

    return {"before": clean(before), "after": clean(after)}


def emit(
    session: Session,
    *,
    name: str,
    entity: str,
    entity_id: str | int,
    payload: Mapping[str, Any],
    now: dt.datetime,
    actor_id: int | None,
    schema_version: int = 1,
) -> OutboxEvent:
    if name not in EVENT_NAMES:
        raise ValueError(f"event {name!r} is not registered (core.events.register_event)")
    event = OutboxEvent(
        event_id=str(uuid.uuid4()),
        name=name,
        schema_version=schema_version,
        entity=entity,
        entity_id=str(entity_id),
        actor_id=actor_id,
        occurred_at=now,
        payload=dict(payload),
    )
    session.add(event)
    return event


Handler = Callable[[Session, Event], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    pattern: str
    handler: Handler


SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(pattern: str, *, name: str) -> Callable[[Handler], Handler]:
    """Register an idempotent handler for events whose name matches `pattern` (fnmatch)."""

    def register(handler: Handler) -> Handler:
        SUBSCRIBERS[name] = Subscriber(name, pattern, handler)
        return handler

    return register


def unsubscribe(name: str) -> None:
    SUBSCRIBERS.pop(name, None)


@dataclass(frozen=True)
class DispatchReport:
    delivered: int
    failed: list[str]


def _to_event(row: OutboxEvent) -> Event:
    return Event(
        row.id,
        row.event_id,
        row.name,
        row.schema_version,
        row.entity,
        row.entity_id,
        row.actor_id,
        row.occurred_at,
        dict(row.payload),
    )


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s ... capped at one hour."""
    return dt.timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))


def _cursor(session: Session, subscriber: str, now: dt.datetime) -> EventSubscription:
    cursor = session.get(EventSubscription, subscriber, with_for_update=True)
    if cursor is None:
        cursor = EventSubscription(subscriber=subscriber, last_event_id=0, attempts=0, updated_at=now)
        session.add(cursor)
        session.flush()
    return cursor


def _deliver_one(factory: sessionmaker[Session], sub: Subscriber, now: dt.datetime, batch: int) -> tuple[int, bool]:
    """Deliver up to `batch` events to one subscriber; returns (delivered, failed)."""
    delivered = 0
    with factory() as session:
        cursor = _cursor(session, sub.name, now)
        if cursor.attempts and cursor.updated_at + retry_delay(cursor.attempts) > now:
            return 0, False
        start = cursor.last_event_id
        session.commit()
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.id > start).order_by(OutboxEvent.id).limit(batch)
        ).all()
        events = [_to_event(r) for r in rows]
    for event in events:
        with factory() as session:
            cursor = _cursor(session, sub.name, now)
            try:
                if fnmatch(event.name, sub.pattern):
                    sub.handler(session, event)
                cursor.last_event_id = event.id
                cursor.attempts = 0
                cursor.last_error = None
                cursor.updated_at = now
                session.commit()
                delivered += 1
            except Exception as exc:  # noqa: BLE001 - any handler failure is recorded and retried
                session.rollback()
                cursor = _cursor(session, sub.name, now)
                cursor.attempts += 1
                cursor.last_error = f"event {event.id} ({event.name}): {exc!r}"[:2000]
                cursor.updated_at = now
                session.commit()
                return delivered, True
    return delivered, False


def dispatch_pending(factory: sessionmaker[Session], *, now: dt.datetime, batch: int = 500) -> DispatchReport:
    total = 0
    failed: list[str] = []
    for sub in list(SUBSCRIBERS.values()):
        delivered, broke = _deliver_one(factory, sub, now, batch)
        total += delivered
        if broke:
            failed.append(sub.name)
    return DispatchReport(total, failed)


def recent_events(session: Session, *, limit: int = 50, name_prefix: str | None = None) -> pd.DataFrame:
    stmt = select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(limit)
    if name_prefix:
        stmt = stmt.where(OutboxEvent.name.startswith(name_prefix))
    rows = [
        {
            "id": e.id,
            "occurred_at": e.occurred_at,
            "name": e.name,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "actor_id": e.actor_id,
            "payload": e.payload,
        }
        for e in session.scalars(stmt)
    ]
    return pd.DataFrame(rows, columns=["id", "occurred_at", "name", "entity", "entity_id", "actor_id", "payload"])
register_event("crm.duplicate.scanned", "Dublettenprüfung durchgeführt")
register_event("crm.duplicate.dismissed", "Dublettenverdacht als „keine Dublette“ markiert")
register_event("crm.duplicate_threshold.updated", "Schwelle der Dublettenprüfung geändert")
