"""Users, teams and API keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TimestampMixin, VersionedMixin, intpk, personal, str100, str200


class Team(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "teams"

    id: Mapped[intpk]
    name: Mapped[str100] = mapped_column(unique=True)


class User(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str200] = mapped_column(info=personal("employee"))
    email: Mapped[str | None] = mapped_column(String(320), info=personal("employee"))
    role: Mapped[str] = mapped_column(String(30))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="de")
    last_login_at: Mapped[dt.datetime | None]
    failed_logins: Mapped[int] = mapped_column(default=0)


class ApiKey(Base, TimestampMixin):
    """An integration's key: only a SHA-256 digest is stored; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[intpk]
    name: Mapped[str100] = mapped_column(unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
