"""Data-subject requests (Art. 12–22 DSGVO), their hash-chained log, documents and retention holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TimestampMixin, VersionedMixin, bigintpk, intpk, personal, str40, str100


class GdprRequest(Base, TimestampMixin, VersionedMixin):
    """One request of a data subject and its workflow state.

    The requester's name, e-mail, phone and notes are stored encrypted with the request's own key
    (core/subject_keys.py, subject ("gdpr_request", id)): the request is kept as proof of how it was
    handled (Art. 5(2)), yet an erasure's verification finds none of the person's identifiers in clear
    text, and shredding the request key when the proof period ends removes them for good.
    `email_digest`/`phone_digest` (keyed hashes) let a new request be matched to earlier ones.
    """

    __tablename__ = "gdpr_requests"
    __table_args__ = (Index("ix_gdpr_requests_status_due_on", "status", "due_on"),)

    id: Mapped[intpk]
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[dt.datetime]
    due_on: Mapped[dt.date] = mapped_column(Date)
    extended_due_on: Mapped[dt.date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    requester_name: Mapped[str | None] = mapped_column(Text, info=personal("identity"))
    requester_email: Mapped[str | None] = mapped_column(Text, info=personal("contact_data"))
    requester_phone: Mapped[str | None] = mapped_column(Text, info=personal("contact_data"))
    description: Mapped[str | None] = mapped_column(Text, info=personal("request_details"))
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True, info=personal("pseudonym"))
    phone_digest: Mapped[str | None] = mapped_column(String(64), info=personal("pseudonym"))
    # The records the officer confirmed as the person: {"contacts": [ids], "accounts": [ids of sole traders]}.
    subject_ids: Mapped[dict[str, list[int]]] = mapped_column(JSON, default=dict)
    identity_method: Mapped[str | None] = mapped_column(String(30))
    identity_result: Mapped[str | None] = mapped_column(String(20))
    identity_note: Mapped[str | None] = mapped_column(Text, info=personal("request_details"))
    identity_checked_by: Mapped[str | None] = mapped_column(String(100))
    identity_checked_at: Mapped[dt.datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None]
    created_by: Mapped[str100]


class GdprLogEntry(Base):
    """One step of a request, hash-chained (core/ledger.py, chain "gdpr"); append-only in the database.

    `details` hold no personal data (counts, states, staff reasons); the requester is in the encrypted
    request row.
    """

    __tablename__ = "gdpr_log_entries"

    id: Mapped[bigintpk]
    request_id: Mapped[int] = mapped_column(Integer, index=True)
    occurred_at: Mapped[dt.datetime]
    action: Mapped[str40]
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str100]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class GdprDocument(Base):
    """A document produced for a request: deletion certificate (stored), export packages (logged only)."""

    __tablename__ = "gdpr_documents"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("gdpr_requests.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str100]


class RetentionHold(Base):
    """A record kept after an erasure because a law requires it (Art. 17(3)(b)), with its release date.

    The record itself no longer points at the person; the hold lists it for the deletion certificate and
    stops deletion of the record before `release_on`.
    """

    __tablename__ = "retention_holds"
    __table_args__ = (Index("ix_retention_holds_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("gdpr_requests.id", ondelete="RESTRICT"), index=True)
    entity: Mapped[str40]
    entity_id: Mapped[int]
    legal_ground: Mapped[str] = mapped_column(String(200))
    release_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
