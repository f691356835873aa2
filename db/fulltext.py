"""Substring search indexes: FTS5 trigram tables on SQLite, pg_trgm GIN indexes on PostgreSQL.

A list search ("enthält") is `lower(column) LIKE '%term%'`, which no B-tree index can answer: at a
million contacts it is a full scan (2.4 s on SQLite). Both databases index trigrams instead:

- SQLite: one external-content FTS5 table `fts_<table>` (tokenizer `trigram`, case-insensitive) per
  searchable table, kept in step by triggers; its rowid is the row's id. A phrase query of three or
  more characters matches substrings in any indexed column.
- PostgreSQL: one GIN index `ix_<table>_<column>_trgm` on `lower(column)` per column (extension
  pg_trgm, trusted since PostgreSQL 13, so the database owner may create it).

`core/search.py` builds the query side. The indexed columns are fixed per migration (`SearchSpec`
literals in the migration, never read from changing code). SQLite's batch migrations recreate a
table and drop its triggers: a later migration that batch-alters a searchable table calls
`create_triggers` again (tests/integration/test_search.py catches a forgotten one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

FTS_PREFIX = "fts_"


@dataclass(frozen=True)
class SearchSpec:
    table: str
    columns: tuple[str, ...]

    @property
    def fts_table(self) -> str:
        return FTS_PREFIX + self.table

    def trgm_index(self, column: str) -> str:
        return f"ix_{self.table}_{column}_trgm"


SEARCH_SPECS: tuple[SearchSpec, ...] = (
    SearchSpec("accounts", ("name", "city", "postcode")),
    SearchSpec("contacts", ("first_name", "last_name", "email")),
    SearchSpec("opportunities", ("name",)),
)
"""What is indexed now (the migrations created these; a test compares them with the database)."""


def is_search_table(name: str) -> bool:
    """True for the FTS5 table and its shadow tables (Alembic's model comparison skips them)."""
    return name.startswith(FTS_PREFIX)


def create_search_index(connection: Connection, spec: SearchSpec) -> None:
    """Create the index for `spec` and fill it from the existing rows."""
    if connection.dialect.name == "sqlite":
        cols = ", ".join(spec.columns)
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {spec.fts_table} USING fts5({cols}, content='{spec.table}', "
            "content_rowid='id', tokenize='trigram')"
        )
        create_triggers(connection, spec)
        connection.exec_driver_sql(f"INSERT INTO {spec.fts_table}({spec.fts_table}) VALUES ('rebuild')")
    else:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in spec.columns:
            connection.exec_driver_sql(
                f"CREATE INDEX {spec.trgm_index(column)} ON {spec.table} USING gin (lower({column}) gin_trgm_ops)"
            )


def drop_search_index(connection: Connection, spec: SearchSpec) -> None:
    if connection.dialect.name == "sqlite":
        for suffix in ("ai", "ad", "au"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {spec.fts_table}_{suffix}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {spec.fts_table}")
    else:
        for column in spec.columns:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {spec.trgm_index(column)}")


def create_triggers(connection: Connection, spec: SearchSpec) -> None:
    """SQLite only: keep `fts_<table>` in step with inserts, updates of indexed columns and deletes.

    An external-content FTS5 table must be told the old values to remove a row, hence the
    'delete' command with `old.*` before re-inserting `new.*`.
    """
    fts, cols = spec.fts_table, ", ".join(spec.columns)
    new = _values("new", spec.columns)
    old = _values("old", spec.columns)
    remove = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    for statement in (
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {spec.table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {spec.table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {spec.table} BEGIN {remove} {add} END",
    ):
        connection.exec_driver_sql(statement)


def _values(row: str, columns: Sequence[str]) -> str:
    return ", ".join(f"{row}.{column}" for column in columns)
