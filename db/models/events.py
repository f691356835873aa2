"""Transactional outbox and per-subscriber delivery cursors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import personal, Base, bigintpk, str40, str100


class OutboxEvent(Base):
    """A domain event written in the same transaction as the change it describes."""

    __tablename__ = "outbox_events"
    # Finds a record's events (GDPR discovery and erasure) without reading the whole outbox.
    __table_args__ = (Index("ix_outbox_events_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[bigintpk]
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str100] = mapped_column(index=True)
    schema_version: Mapped[int]
    entity: Mapped[str40]
    entity_id: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None]
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, info=personal("record_copy"))


class EventSubscription(Base):
    """How far one in-process subscriber has processed the outbox (at-least-once, in order)."""

    __tablename__ = "event_subscriptions"

    subscriber: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]
