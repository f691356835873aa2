"""Consent: purposes, versioned consent texts, the hash-chained consent ledger, double opt-in requests,
the suppression list of keyed hashes and processing restrictions (Art. 18) and objections (Art. 21).

The ledger is the only source of a contact's consent state (latest entry per channel × purpose); no
table stores that state apart from it. Ledger and texts are append-only (database triggers).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, bigintpk, intpk, str40, str100, str200, personal


class ConsentPurpose(Base):
    """What a consent is for (Newsletter, Produktinformationen, …). `tracking` marks the purpose that
    allows individual open/click tracking; `marketing` purposes are blocked by an objection (Art. 21)."""

    __tablename__ = "consent_purposes"

    id: Mapped[intpk]
    key: Mapped[str40] = mapped_column(unique=True)
    name_de: Mapped[str100]
    name_en: Mapped[str100]
    description_de: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    marketing: Mapped[bool] = mapped_column(Boolean, default=True)
    tracking: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]


class ConsentText(Base):
    """One version of the wording a person agreed to. Never edited: a change is a new version.

    `sha256` is the hash of title and body, stored with every ledger entry that refers to it.
    """

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("purpose_id", "language", "version"),)

    id: Mapped[intpk]
    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purposes.id", ondelete="RESTRICT"), index=True)
    language: Mapped[str] = mapped_column(String(5))
    version: Mapped[int]
    title: Mapped[str200]
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str100]

    @staticmethod
    def digest(title: str, body: str) -> str:
        """SHA-256 of the wording (title, blank line, body) as UTF-8."""
        return hashlib.sha256(f"{title}\n\n{body}".encode("utf-8")).hexdigest()


class ConsentEntry(Base):
    """One event in a contact's consent history: requested, confirmed, granted, revoked, expired.

    Hash-chained like the audit log (chain "consent"); `address`, `ip`, `user_agent`, `evidence` and
    `reason` are encrypted with the person's key (`subject_key_id`), so erasure shreds them while the
    chain still verifies. `contact_id` has no foreign key: the entry outlives an erased contact.
    """

    __tablename__ = "consent_entries"
    __table_args__ = (
        Index("ix_consent_entries_contact", "contact_id", "channel", "purpose_id", "id"),
        # The set-based gate (migration 0009): latest entry per contact for one channel × purpose, covering.
        Index(
            "ix_consent_entries_state",
            "channel", "purpose_id", "contact_id", "id", "occurred_at", "status", "valid_until",
        ),
    )

    id: Mapped[bigintpk]
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    contact_id: Mapped[int]
    channel: Mapped[str] = mapped_column(String(10))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purposes.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(30))
    text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id", ondelete="RESTRICT"))
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_orders.id", ondelete="RESTRICT"))
    doi_request_id: Mapped[int | None]
    doi_requested_at: Mapped[dt.datetime | None]
    doi_confirmed_at: Mapped[dt.datetime | None]
    valid_until: Mapped[dt.datetime | None]
    address: Mapped[str | None] = mapped_column(Text, info=personal("contact_data"))
    ip: Mapped[str | None] = mapped_column(Text, info=personal("online_identifier"))
    user_agent: Mapped[str | None] = mapped_column(Text, info=personal("online_identifier"))
    evidence: Mapped[str | None] = mapped_column(Text, info=personal("consent_proof"))
    reason: Mapped[str | None] = mapped_column(Text, info=personal("consent_proof"))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str100]
    subject_key_id: Mapped[int | None] = mapped_column(ForeignKey("person_keys.id"), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DoiRequest(Base):
    """A double opt-in in progress: the confirmation link's state (the ledger keeps the proof).

    The link carries a signed (request id, nonce); a re-send replaces the nonce, so only the newest
    link works, and a confirmed, expired or replaced request refuses every link.
    """

    __tablename__ = "doi_requests"
    __table_args__ = (
        Index("ix_doi_requests_status_expires_at", "status", "expires_at"),
        Index("ix_doi_requests_contact_id_purpose_id", "contact_id", "purpose_id"),
    )

    id: Mapped[intpk]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purposes.id", ondelete="RESTRICT"))
    text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id", ondelete="RESTRICT"))
    language: Mapped[str] = mapped_column(String(5))
    address: Mapped[str] = mapped_column(String(320), info=personal("contact_data"))
    source: Mapped[str] = mapped_column(String(30))
    nonce: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    last_sent_at: Mapped[dt.datetime]
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    confirmed_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    request_ip: Mapped[str | None] = mapped_column(String(64), info=personal("online_identifier"))
    request_user_agent: Mapped[str | None] = mapped_column(Text, info=personal("online_identifier"))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str100]
    email_message_id: Mapped[int | None] = mapped_column(ForeignKey("email_messages.id", ondelete="SET NULL"))


class Suppression(Base):
    """An address that must never be contacted, kept only as a keyed hash (HMAC with the secret key)
    of the normalised e-mail or phone, so it is honoured even after the contact was erased."""

    __tablename__ = "suppressions"

    id: Mapped[intpk]
    digest: Mapped[str] = mapped_column(String(64), unique=True, info=personal("pseudonym"))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str40]
    note: Mapped[str | None] = mapped_column(Text, info=personal("free_text"))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str100]


class ProcessingRestriction(Base):
    """Art. 18 restriction (`restriction`: no processing at all) or Art. 21 objection to direct marketing
    (`objection`: no marketing on any channel), active from `started_at` until `lifted_at`."""

    __tablename__ = "processing_restrictions"
    __table_args__ = (Index("ix_processing_restrictions_contact_id_kind", "contact_id", "kind"),)

    id: Mapped[intpk]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, info=personal("request_details"))
    started_at: Mapped[dt.datetime]
    lifted_at: Mapped[dt.datetime | None]
    lifted_reason: Mapped[str | None] = mapped_column(Text, info=personal("free_text"))
    created_by: Mapped[str100]
