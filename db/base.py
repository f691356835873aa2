"""Declarative base, naming convention, shared column types and mixins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Numeric, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no time zone type: values are stored as naive UTC and come back aware.
    Naive input is rejected so that local times never sneak in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


# Shared column types: one definition, used by every model.
intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
bigintpk = Annotated[int, mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)]
str40 = Annotated[str, mapped_column(String(40))]
str100 = Annotated[str, mapped_column(String(100))]
str200 = Annotated[str, mapped_column(String(200))]
str320 = Annotated[str, mapped_column(String(320))]
money = Annotated[Decimal, mapped_column(Numeric(14, 2))]
utc_ts = Annotated[dt.datetime, mapped_column(UTCDateTime())]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


class TimestampMixin:
    """created_at / updated_at, set by the service layer from the unit of work's injected clock.

    No `onupdate`: a wall-clock default would silently override the injected clock.
    """

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VersionedMixin:
    """Optimistic locking: every UPDATE checks and increments `version`.

    SQLAlchemy adds `WHERE version = :old` to each UPDATE and raises StaleDataError when
    another transaction got there first; services also compare the version the user saw.
    """

    version: Mapped[int] = mapped_column(Integer)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


def personal(category: str) -> dict[str, Any]:
    """Column `info` marking personal data (Art. 4(1) DSGVO) and its category.

    The audit log encrypts such values with the data subject's key, so erasure can shred them.
    """
    return {"personal": category}
