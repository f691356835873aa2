"""The e-mail queue: every message is a row before it is sent, so a failing SMTP server loses nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, intpk, str40, str320, personal


class EmailMessage(Base):
    """One outgoing e-mail and its delivery state.

    status: queued → sending → sent | failed (retries exhausted) | blocked (the consent gate refused).
    Marketing messages carry the gate's decision (`gate_allowed`, `gate_reason`, `gate_checked_at`),
    taken again right before delivery, so a withdrawal between queueing and sending still stops it.
    """

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[intpk]
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str40]
    template: Mapped[str40]
    language: Mapped[str] = mapped_column(String(5))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="email")
    purpose_id: Mapped[int | None] = mapped_column(ForeignKey("consent_purposes.id", ondelete="RESTRICT"))
    to_address: Mapped[str320] = mapped_column(info=personal("contact_data"))
    from_address: Mapped[str320]
    subject: Mapped[str] = mapped_column(String(300), info=personal("communication"))
    body_text: Mapped[str] = mapped_column(Text, info=personal("communication"))
    body_html: Mapped[str | None] = mapped_column(Text, info=personal("communication"))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info=personal("communication"))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text, info=personal("communication"))
    sent_at: Mapped[dt.datetime | None]
    gate_allowed: Mapped[bool | None] = mapped_column(Boolean)
    gate_reason: Mapped[str | None] = mapped_column(String(40))
    gate_checked_at: Mapped[dt.datetime | None]
