"""Throw-away benchmark databases: a temporary SQLite file or a dedicated PostgreSQL database."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.migrate import upgrade
from db.session import create_db_engine, normalise_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/crm_bench"


def postgres_reachable(url: str) -> bool:
    """True when the server answers (the benchmark database itself may not exist yet)."""
    engine = create_db_engine(_maintenance_url(url), connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return True
    except Exception:  # noqa: BLE001 - any connection failure means "skip PostgreSQL"
        return False
    finally:
        engine.dispose()


def _maintenance_url(url: str) -> str:
    return make_url(normalise_url(url)).set(database="postgres").render_as_string(hide_password=False)


def _check_benchmark_database(url: str) -> str:
    name = make_url(normalise_url(url)).database or ""
    if "bench" not in name:
        raise SystemExit(f"Refusing to reset database {name!r}: its name must contain 'bench'.")
    return name


@contextmanager
def sqlite_database(keep: bool = False) -> Iterator[str]:
    """A migrated SQLite file in a temporary directory (removed afterwards unless `keep`)."""
    directory = tempfile.mkdtemp(prefix="crm-bench-")
    path = Path(directory) / "bench.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    try:
        yield url
    finally:
        if keep:
            print(f"SQLite-Datenbank behalten: {path}")
        else:
            for file in Path(directory).iterdir():
                file.unlink()
            Path(directory).rmdir()


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """The dedicated benchmark database, created if missing and reset to an empty, migrated schema."""
    name = _check_benchmark_database(url)
    maintenance = create_db_engine(_maintenance_url(url), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        maintenance.dispose()
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    upgrade(url)
    yield url
