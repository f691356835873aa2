"""Models and Alembic migrations agree; upgrading twice changes nothing."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from db.migrate import current_revision, head_revision, pending_changes, upgrade


def test_autogenerate_finds_no_difference(connection: Connection) -> None:
    assert pending_changes(connection) == []


def test_upgrade_is_idempotent(db_url: str, engine: Engine) -> None:
    upgrade(db_url)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision(db_url)
        assert pending_changes(conn) == []
