"""Run Alembic programmatically: `upgrade` is idempotent, `pending_changes` compares models and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from db.base import Base
from db.fulltext import is_search_table
from db.session import create_db_engine, normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, engine: Engine | None = None) -> None:
    config = alembic_config(url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    else:
        command.upgrade(config, revision)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def pending_changes(connection: Connection) -> list[Any]:
    """Differences between the models and the migrated schema; empty when they agree."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True, "include_name": include_name}
    )
    return list(compare_metadata(context, Base.metadata))


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Model comparison skips the search tables (FTS5 and its shadow tables) and trigram indexes."""
    if name is None:
        return True
    if type_ == "table":
        return not is_search_table(name)
    return not (type_ == "index" and name.endswith("_trgm"))


def database_is_empty(url: str) -> bool:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection) is None
    finally:
        engine.dispose()


