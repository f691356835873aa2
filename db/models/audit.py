"""Revision-safe audit log, ledger chain heads and per-person encryption keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import personal, Base, bigintpk, intpk, str40, str100


class AuditEntry(Base):
    """One field-level change. Append-only: database triggers reject UPDATE and DELETE.

    `hash` = SHA-256(prev_hash + canonical JSON of this row); values of personal fields are
    stored encrypted with the data subject's key (`subject_key_id`).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[bigintpk]
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str100]
    entity: Mapped[str40]
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str40]
    field: Mapped[str | None] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text, info=personal("record_copy"))
    new_value: Mapped[str | None] = mapped_column(Text, info=personal("record_copy"))
    reason: Mapped[str | None] = mapped_column(Text, info=personal("free_text"))
    subject_key_id: Mapped[int | None] = mapped_column(ForeignKey("person_keys.id"), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerHead(Base):
    """Latest entry of each hash chain (audit, later consent and GDPR logs).

    Lets verification notice a truncated tail, and serialises appends (row lock).
    """

    __tablename__ = "ledger_heads"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int]


class PersonKey(Base):
    """A data subject's key for crypto-shredding; erasure sets `key` to NULL."""

    __tablename__ = "person_keys"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id"),)

    id: Mapped[intpk]
    subject_type: Mapped[str40]
    subject_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[bytes | None] = mapped_column(LargeBinary, info=personal("pseudonym"))
    created_at: Mapped[dt.datetime]
    shredded_at: Mapped[dt.datetime | None]
