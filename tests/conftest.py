"""Shared fixtures: migrated databases (SQLite and PostgreSQL), per-test rollback, frozen clock."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.capabilities import load_all
from db.migrate import upgrade
from db.session import create_db_engine, normalise_url

pytest_plugins = ["tests.smtp"]  # the smtp_server fixture (a real local SMTP server)

load_all()

PG_DEFAULT_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """CRM_TEST_POSTGRES_URL, else the CI server on 127.0.0.1:5432 when it answers."""
    url = os.environ.get("CRM_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return PG_DEFAULT_URL
    except OSError:
        return None


BACKENDS = ["sqlite"] + (["postgresql"] if postgres_url() else [])


def reset_postgres(url: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@contextmanager
def private_postgres_database(url: str, suffix: str = "") -> Iterator[str]:
    """A database of this test run's own on the server of `url`, dropped afterwards.

    Two test runs on one server (a developer's and CI's, or parallel sessions) must not reset
    each other's schema. Without CREATE DATABASE rights, the given database itself is reset.
    """
    name = f"crm_test_{os.getpid()}{suffix}"
    server = create_db_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:
        server.dispose()
        reset_postgres(url)
        yield url
        return
    try:
        yield make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database per backend (Alembic migrations, not create_all)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url
        return
    server_url = postgres_url()
    assert server_url is not None
    with private_postgres_database(server_url) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """Each test runs in a transaction that is rolled back afterwards."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


class FrozenClock:
    """Injected clock: tests move time explicitly, never sleep."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc))
