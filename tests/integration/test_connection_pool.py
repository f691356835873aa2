"""The PostgreSQL pool checks a pooled connection without a round trip per request (db/session.py)."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

import db.session
from db.session import create_db_engine


@pytest.fixture
def pool_of_one(db_url: str) -> Iterator[Engine]:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no server that could close the connection")
    engine = create_db_engine(db_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_recently_used_connection_is_not_pinged_but_one_idle_for_long_is(
    pool_of_one: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(pool_of_one, monkeypatch)
    first = backend_pid(pool_of_one)
    assert backend_pid(pool_of_one) == first and pings == [], "a healthy connection used just now: no round trip"
    monkeypatch.setattr(db.session, "PING_AFTER_IDLE_S", 0.0)
    assert backend_pid(pool_of_one) == first and pings == [1]


def test_a_connection_the_server_closed_while_pooled_is_replaced_without_an_error(
    pool_of_one: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(pool_of_one, monkeypatch)
    pooled = backend_pid(pool_of_one)
    admin = create_db_engine(pool_of_one.url.render_as_string(hide_password=False))
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled}).scalar_one()
    finally:
        admin.dispose()
    record = pool_of_one.pool._pool.queue[0]  # type: ignore[attr-defined]
    socket = select.poll()
    socket.register(record.dbapi_connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 5
    while not socket.poll(50) and time.monotonic() < deadline:
        pass  # the server's goodbye arrives asynchronously
    replaced = backend_pid(pool_of_one)
    assert replaced != pooled
    assert pings == [1], "the closed socket was noticed, pinged, and the pool connected anew"
