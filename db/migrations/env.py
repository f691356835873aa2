"""Alembic environment: uses a connection handed over in `config.attributes` or the configured URL."""

from __future__ import annotations

from alembic import context

import db.models  # noqa: F401 - registers every table on Base.metadata
from db.base import Base
from db.migrate import include_name
from db.session import create_db_engine

config = context.config
target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = create_db_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        run_migrations(conn)
        conn.commit()
    engine.dispose()
