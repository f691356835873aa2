"""The list search ("contains") over the trigram indexes of `db/fulltext.py`.

`contains(session, Contact, "müller", via=[(Contact.account_id, Account)])` is the condition
"the contact or its company contains 'müller'", as `contacts.id IN (<matching ids>)`: the ids come
from the FTS5 table on SQLite and from the pg_trgm indexes on PostgreSQL, so neither database scans
the table. Terms shorter than three characters have no trigram; they fall back to `LIKE` (a scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, or_, select, table, union
from sqlalchemy.orm import InstrumentedAttribute, Session

from db.fulltext import SEARCH_SPECS, SearchSpec

MIN_TRIGRAM_TERM = 3
Link = tuple[InstrumentedAttribute[Any], Any]


def contains(
    session: Session, model: Any, term: str, *, via: Sequence[Link] = (), probe: bool = False
) -> ColumnElement[bool]:
    """Rows of `model` whose indexed columns, or those of a row linked through `via`, contain `term`.

    `via` holds (foreign key column of `model`, linked model), e.g. (Contact.account_id, Account).
    `probe` is for queries whose other conditions already select few rows through their own index (the
    board's stages): each candidate row is tested instead of first collecting every match (37,000 for
    "cloud" at 500,000 deals) once per query — on SQLite as `id + 0 IN (...)` (looked up, never walked),
    on PostgreSQL as `lower(column) LIKE` on the row itself.
    """
    dialect = session.get_bind().dialect.name
    needle = term.strip()
    if probe and dialect != "sqlite":
        # PostgreSQL tests the few candidate rows directly instead of collecting every match first.
        own = _like_columns(model, needle)
        return or_(own, *(fk.in_(_matching_ids(dialect, target, needle)) for fk, target in via))
    parts: list[Select[Any]] = [_matching_ids(dialect, model, needle)]
    for foreign_key, target in via:
        parts.append(select(model.id).where(foreign_key.in_(_matching_ids(dialect, target, needle))))
    ids = parts[0] if len(parts) == 1 else union(*parts)
    return (model.id + 0 if probe else model.id).in_(ids)


def like_pattern(term: str) -> str:
    """`%term%` for LIKE with `\\` as escape character, lower-cased."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_ids(dialect: str, model: Any, term: str) -> Select[Any]:
    spec = _spec(model)
    if dialect == "sqlite" and len(term) >= MIN_TRIGRAM_TERM:
        fts = table(spec.fts_table, column("rowid"))
        phrase = '"' + term.replace('"', '""') + '"'
        return select(fts.c.rowid).where(literal_column(spec.fts_table).op("MATCH")(phrase))
    return select(model.id).where(_like_columns(model, term))


def _like_columns(model: Any, term: str) -> ColumnElement[bool]:
    pattern = like_pattern(term)
    columns = [getattr(model, name) for name in _spec(model).columns]
    return or_(*(func.lower(col).like(pattern, escape="\\") for col in columns))


def _spec(model: Any) -> SearchSpec:
    name = model.__tablename__
    for spec in SEARCH_SPECS:
        if spec.table == name:
            return spec
    raise LookupError(f"{name} hat keinen Suchindex (db/fulltext.py SEARCH_SPECS)")
