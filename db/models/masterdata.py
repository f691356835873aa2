"""Typed addresses, duplicate candidates, merges with aliases, import runs, and admin settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TimestampMixin, VersionedMixin, intpk, personal, str40, str100


class Address(Base, TimestampMixin, VersionedMixin):
    """An address of an account or of a contact (exactly one of both), typed, with a validity period.

    Types: rechnung (Rechnungsadresse), liefer (Lieferadresse), besuch (Besuchsadresse), post (Postanschrift).
    One primary address per owner and type; retiring sets `valid_until` and clears `is_primary`.
    """

    __tablename__ = "addresses"
    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (contact_id IS NULL)", name="one_owner"),
        Index("ix_addresses_account_id_type", "account_id", "type"),
        Index("ix_addresses_contact_id_type", "contact_id", "type"),
    )

    id: Mapped[intpk]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(200), info=personal("contact_data"))
    house_number: Mapped[str | None] = mapped_column(String(20), info=personal("contact_data"))
    address_line2: Mapped[str | None] = mapped_column(String(200), info=personal("contact_data"))
    postcode: Mapped[str | None] = mapped_column(String(10), info=personal("contact_data"))
    city: Mapped[str | None] = mapped_column(String(100), info=personal("contact_data"))
    state: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)


class DuplicateCandidate(Base):
    """A pair found by the duplicate scan (id_a < id_b), waiting for review."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (
        UniqueConstraint("entity", "id_a", "id_b"),
        CheckConstraint("id_a < id_b", name="ordered_pair"),
        Index("ix_duplicate_candidates_entity_status_score", "entity", "status", "score"),
    )

    id: Mapped[intpk]
    entity: Mapped[str40]
    id_a: Mapped[int]
    id_b: Mapped[int]
    score: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, info=personal("derived_key"))
    status: Mapped[str] = mapped_column(String(20), default="offen")
    found_at: Mapped[dt.datetime]
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MergeRecord(Base):
    """What a merge did, kept so it can be shown, audited and undone."""

    __tablename__ = "merge_records"

    id: Mapped[intpk]
    entity: Mapped[str40]
    survivor_id: Mapped[int] = mapped_column(index=True)
    merged_id: Mapped[int] = mapped_column(index=True)
    merged_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, info=personal("record_copy"))
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON, info=personal("record_copy"))
    relinked: Mapped[dict[str, Any]] = mapped_column(JSON)
    merged_at: Mapped[dt.datetime]
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[dt.datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RecordAlias(Base):
    """A merged record's id stays resolvable: (entity, alias_id) → target_id."""

    __tablename__ = "record_aliases"
    __table_args__ = (UniqueConstraint("entity", "alias_id"),)

    id: Mapped[intpk]
    entity: Mapped[str40]
    alias_id: Mapped[int]
    target_id: Mapped[int] = mapped_column(index=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("merge_records.id", ondelete="CASCADE"))


class ImportRun(Base):
    """One CSV/Excel import: what was asked, what happened, and the validation report."""

    __tablename__ = "import_runs"

    id: Mapped[intpk]
    entity: Mapped[str40]
    file_name: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_created: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, info=personal("free_text"))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class AppSetting(Base, TimestampMixin, VersionedMixin):
    """Settings an admin changes at run time (e.g. the duplicate threshold); JSON value per key."""

    __tablename__ = "app_settings"

    key: Mapped[str100] = mapped_column(primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
