"""Accounts (companies) and contacts (people): the anchor of every other module."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TimestampMixin, VersionedMixin, intpk, personal, str100, str200


class Account(Base, TimestampMixin, VersionedMixin):
    """A company. Ids are never reused (AUTOINCREMENT on SQLite): a merged id stays an unambiguous alias."""

    __tablename__ = "accounts"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[intpk]
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str200] = mapped_column(index=True, info=personal("business_contact"))
    legal_form: Mapped[str | None] = mapped_column(String(40))
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    revenue_class: Mapped[str | None] = mapped_column(String(20))
    employees: Mapped[int | None]
    website: Mapped[str | None] = mapped_column(String(200), info=personal("business_contact"))
    phone: Mapped[str | None] = mapped_column(String(40), info=personal("business_contact"))
    email: Mapped[str | None] = mapped_column(String(320), info=personal("business_contact"))
    street: Mapped[str | None] = mapped_column(String(200), info=personal("business_contact"))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True, info=personal("business_contact"))
    city: Mapped[str | None] = mapped_column(String(100), index=True, info=personal("business_contact"))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    notes: Mapped[str | None] = mapped_column(Text, info=personal("free_text"))
    # Duplicate-check keys derived from the fields above by core/dedupe on every save (indexed blocking).
    match_name: Mapped[str | None] = mapped_column(String(100), index=True, info=personal("derived_key"))
    match_phone: Mapped[str | None] = mapped_column(String(20), index=True, info=personal("derived_key"))


class Contact(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "contacts"
    # Ids are never reused (AUTOINCREMENT on SQLite): a merged id stays an unambiguous alias.
    __table_args__ = (
        Index("ix_contacts_match_name_postcode", "match_name", "postcode"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    salutation: Mapped[str | None] = mapped_column(String(20), info=personal("identity"))
    title: Mapped[str | None] = mapped_column(String(40), info=personal("identity"))
    first_name: Mapped[str100] = mapped_column(info=personal("identity"))
    last_name: Mapped[str100] = mapped_column(index=True, info=personal("identity"))
    job_title: Mapped[str | None] = mapped_column(String(100), info=personal("professional"))
    email: Mapped[str | None] = mapped_column(String(320), index=True, info=personal("contact_data"))
    phone: Mapped[str | None] = mapped_column(String(40), info=personal("contact_data"))
    mobile: Mapped[str | None] = mapped_column(String(40), info=personal("contact_data"))
    birth_date: Mapped[dt.date | None] = mapped_column(Date, info=personal("identity"))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True, info=personal("contact_data"))
    city: Mapped[str | None] = mapped_column(String(100), info=personal("contact_data"))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Duplicate-check keys derived by core/dedupe on every save: Kölner Phonetik of the last name,
    # E.164 phone, canonical e-mail (indexed, so hints while typing never scan the table).
    match_name: Mapped[str | None] = mapped_column(String(40), index=True, info=personal("derived_key"))
    match_phone: Mapped[str | None] = mapped_column(String(20), index=True, info=personal("derived_key"))
    match_email: Mapped[str | None] = mapped_column(String(320), index=True, info=personal("derived_key"))
    # Keyed hashes (HMAC with the secret key) of the normalised e-mail, phone and mobile, set on every save
    # like the match keys: the consent gate compares them with the suppression list inside the database.
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True, info=personal("pseudonym"))
    phone_digest: Mapped[str | None] = mapped_column(String(64), index=True, info=personal("pseudonym"))
    mobile_digest: Mapped[str | None] = mapped_column(String(64), index=True, info=personal("pseudonym"))
