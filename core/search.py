"""The list search ("contains") over the trigram indexes of `db/fulltext.py`.

`contains(session, Contact, "müller", via=[(Contact.account_id, Account)])` is the condition
"the contact or its company contains 'müller'". On SQLite it is `contacts.id IN (<matching ids>)`, the
ids from the FTS5 table. On PostgreSQL it tests the row itself (`lower(column) LIKE`, answered by the
pg_trgm indexes) and the company through its id. Neither database scans the table for a rare term.
Terms shorter than three characters have no trigram; they fall back to `LIKE` (a scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, column, func, literal_column, or_, select, table, union
from sqlalchemy.orm import InstrumentedAttribute, Session

from db.fulltext import SEARCH_SPECS, SearchSpec

MIN_TRIGRAM_TERM = 3
MAX_INLINE_LINKS = 1_000
Link = tuple[InstrumentedAttribute[Any], Any]


def contains(
    session: Session, model: Any, term: str, *, via: Sequence[Link] = (), probe: bool = False
) -> ColumnElement[bool]:
    """Rows of `model` whose indexed columns, or those of a row linked through `via`, contain `term`.

    `via` holds (foreign key column of `model`, linked model), e.g. (Contact.account_id, Account).
    `probe` is for queries whose other conditions already select few rows through their own index (the
    board's stages): each candidate row is tested instead of first collecting every match (37,000 for
    "cloud" at 500,000 deals) once per query — on SQLite as `id + 0 IN (...)` (looked up, never walked),
    on PostgreSQL by keeping the linked matches a subquery (see `_row_condition`).
    """
    dialect = session.get_bind().dialect.name
    needle = term.strip()
    if dialect != "sqlite":
        return _row_condition(session, model, needle, via, probe=probe)
    parts: list[Select[Any]] = [_matching_ids(dialect, model, needle)]
    for foreign_key, target in via:
        parts.append(select(model.id).where(foreign_key.in_(_matching_ids(dialect, target, needle))))
    ids = parts[0] if len(parts) == 1 else union(*parts)
    return (model.id + 0 if probe else model.id).in_(ids)


def _row_condition(
    session: Session, model: Any, term: str, via: Sequence[Link], *, probe: bool
) -> ColumnElement[bool]:
    """PostgreSQL: the test on the row itself, `lower(col) LIKE … OR fk IN (<linked matches>)`.

    The planner can then answer it both ways: a BitmapOr of the trigram indexes and the foreign-key index (a
    rare term), or a walk along the list's sort index that tests each row until the page is full (a frequent
    one). `id IN (<matching ids>)` left it one plan, a hash join of all matches with every row of the table: a
    search for „cloud“ (36,885 of 500,000 deals) took 150–190 ms for its page and as long for its count.

    Up to MAX_INLINE_LINKS linked matches are looked up first and written into the SQL as constants, so the
    planner knows how many rows they select and hashes the list. More of them, or `probe`, stay a subquery
    (a hashed set each candidate row is tested against). A subquery as `ANY(ARRAY(…))` would allow the bitmap
    too, but PostgreSQL cannot size or hash it: „gmbh“ over the contacts (743,686 of a million) took 105 s.
    """
    linked = (_linked_condition(session, foreign_key, target, term, probe=probe) for foreign_key, target in via)
    return or_(_like_columns(model, term), *(condition for condition in linked if condition is not None))


def _linked_condition(
    session: Session, foreign_key: InstrumentedAttribute[Any], target: Any, term: str, *, probe: bool
) -> ColumnElement[bool] | None:
    """`foreign_key IN (…)` for the linked rows containing `term`; None when there are none."""
    matching = _matching_ids("postgresql", target, term)
    if probe:
        return foreign_key.in_(matching)
    ids = session.scalars(matching.limit(MAX_INLINE_LINKS + 1)).all()
    if len(ids) > MAX_INLINE_LINKS:
        return foreign_key.in_(matching)
    return foreign_key.in_(bindparam(None, ids, expanding=True, literal_execute=True)) if ids else None


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
