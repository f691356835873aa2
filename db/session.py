"""Engine and session factory. SQLite gets WAL, foreign keys, a busy timeout and secure delete."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Dialect, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Reads through a memory map instead of a read() per page: the six-condition segment count over a million contacts
# 1,002 → 922 ms (median of 9 interleaved runs, docs/performance.md). SQLite caps the map at its compile-time maximum
# (2 GB by default); writes still go through the WAL.
SQLITE_MMAP_BYTES = 2**31


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, open transactions: needed for SAVEPOINTs
    # and transactional DDL (SQLAlchemy's documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Erased personal data must not linger in free pages of the file (GDPR verification).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


# PostgreSQL's default of 2 workers per parallel plan, plus the leader, runs 3 processes on a 2-core machine, and each
# builds the plan's hashed sets again: the six-condition segment count took 1,086 ms so, 767 ms with 1 worker
# (docs/performance.md). We follow PGTune's rule, half the cores and at most 4, counting the cores of this machine: the
# single-server install runs the database here. With a database server of its own, put its setting into the URL
# (`?options=-c max_parallel_workers_per_gather=N`).
def parallel_workers(cores: int) -> int:
    """Workers per parallel plan (max_parallel_workers_per_gather) for a database machine with `cores` cores."""
    return max(0, min(4, cores // 2))


# PostgreSQL compiles a query to machine code (JIT) once its estimated cost passes jit_above_cost. Our reports and
# segment queries pass it and run for 0.03–1.5 s; the compiling cost more than it saved in every one measured: the
# six-condition segment count 1,664 → 1,564 ms, the consent gate over a million contacts 956 → 886 ms, 60 of a reach
# statement's 85 ms (EXPLAIN ANALYZE, 10,554 members), the funnel (docs/performance.md).
PG_OPTIONS = f"-c jit=off -c max_parallel_workers_per_gather={parallel_workers(os.cpu_count() or 1)}"


# SQLAlchemy's pool_pre_ping sends a query before every checkout: one of a hot API read's four round trips
# (docs/performance.md). A connection the server closed while it sat in the pool (restart, pg_terminate_backend, idle
# timeout) has a readable socket, the server's goodbye and EOF, which a poll() without timeout sees at no cost. Only
# such a connection, and one idle longer than PING_AFTER_IDLE_S (a drop that sent nothing, e.g. a firewall between two
# machines), is pinged; a failed ping makes the pool connect anew.
PING_AFTER_IDLE_S = 30.0


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _liveness_check(dialect: Dialect) -> Callable[[Any, ConnectionPoolEntry, PoolProxiedConnection], None]:
    def check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        """Checkout: ping a pooled connection only when its socket has something to say or it sat idle for long."""
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None:
            return  # connected just now
        socket = select.poll()
        socket.register(dbapi_connection.fileno(), select.POLLIN)
        has_news = bool(socket.poll(0))  # data, hang-up or error
        if not has_news and time.monotonic() - checked_in_at < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError(f"Verbindung zur Datenbank verloren: {err}") from err

    return check


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    ours = {} if "options" in parsed.query else {"options": PG_OPTIONS}  # an operator's own options in the URL win
    connect_args = ours | kwargs.pop("connect_args", {})
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _liveness_check(engine.dialect))
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
