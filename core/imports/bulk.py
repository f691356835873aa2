"""Bulk writing for imports: ids reserved up front, rows inserted in batches (PostgreSQL: COPY),
and one hash-chained audit entry per created record appended in one go.

Reserving ids first lets contacts, their addresses and their audit entries be written without a
round trip per row. On SQLite the caller has already written in this transaction (the import_runs
row), so it holds the database's write lock and `max(id) + 1 …` cannot be taken by anyone else; on
PostgreSQL the ids come from the table's own sequence.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core import audit, ledger
from core.demo import bulk_insert
from core.uow import UnitOfWork
from db.base import Base
from db.models import AuditEntry

T = TypeVar("T")
# Values per `IN (...)` lookup: SQLite's parameter limit is low; on PostgreSQL every query over a freshly
# loaded table may be a sequential scan (no statistics yet), so there are as few queries as possible.
LOOKUP_CHUNK = {"sqlite": 900, "postgresql": 30_000}
ANALYZE_FROM_ROWS = 10_000


def chunks(session: Session, items: Sequence[T]) -> Iterator[Sequence[T]]:
    size = LOOKUP_CHUNK.get(session.get_bind().dialect.name, 900)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refresh_statistics(session: Session, models: Sequence[type[Base]], rows: int) -> None:
    """After a large load on PostgreSQL, fresh planner statistics (as the demo generator does), so lookups
    and list pages use the indexes right away instead of waiting for autovacuum."""
    if rows >= ANALYZE_FROM_ROWS and session.get_bind().dialect.name == "postgresql":
        for model in models:
            session.execute(text(f"ANALYZE {model.__tablename__}"))


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """`count` primary keys for new rows of `model`, valid until the transaction ends."""
    if count == 0:
        return []
    table = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        sequence = session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
        stmt = text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count)")
        return [int(i) for i in session.scalars(stmt, {"sequence": sequence, "count": count})]
    highest = session.scalar(select(func.max(model.__table__.c.id))) or 0
    # AUTOINCREMENT tables (accounts, contacts) never reuse the id of a deleted or merged row.
    used = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = :table"), {"table": table}) or 0
    start = max(highest, used) + 1
    return list(range(start, start + count))


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) in the session's transaction.

    PostgreSQL: COPY (core.demo.bulk_insert). SQLite: one prepared statement run with the driver's
    `executemany`; values go column by column through the columns' own SQLAlchemy bind processors (UTC
    timestamps, dates, booleans), cached per distinct value, which is several times faster than Core's executemany.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        bulk_insert(session, model, rows)
        return
    table = model.__table__
    columns = list(rows[0])
    values_by_column = []
    for column in columns:
        values = [row[column] for row in rows]
        process = table.c[column].type._cached_bind_processor(dialect)  # noqa: SLF001
        if process is not None:
            cache: dict[Any, Any] = {}
            values = [v if v is None else cache[v] if v in cache else cache.setdefault(v, process(v)) for v in values]
        values_by_column.append(values)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, zip(*values_by_column))
    finally:
        cursor.close()


def audit_imported(uow: UnitOfWork, *, entity: str, entity_ids: Sequence[int], reason: str) -> None:
    """One `imported` audit entry per created record, chained exactly like `core.audit.record` chains them.

    The entries carry no field values (who, when, which record, which import run): the values are in
    the record itself and the import file, and leaving them out spares one encryption key per person,
    which is what makes 20,000 contacts per second possible. Later changes are audited field by field.
    """
    if not entity_ids:
        return
    session = uow.session
    head = ledger.lock_head(session, audit.CHAIN)
    last_id, last_hash = head.last_id, head.last_hash
    base = {
        "occurred_at": uow.now,
        "actor_id": uow.actor.user_id,
        "actor_name": uow.actor.name,
        "entity": entity,
        "action": "imported",
        "field": None,
        "old_value": None,
        "new_value": None,
        "reason": reason,
        "subject_key_id": None,
    }
    # The timestamp as the chain's canonical JSON writes it, serialised once instead of once per entry.
    hashed = base | {"occurred_at": ledger.canonical_json({"t": uow.now})[6:-2]}
    rows: list[dict[str, Any]] = []
    for entry_id, entity_id in zip(itertools.count(last_id + 1), entity_ids):
        varying = {"id": entry_id, "entity_id": str(entity_id)}
        entry_hash = ledger.chain_hash(last_hash, hashed | varying)
        rows.append(base | varying | {"prev_hash": last_hash, "hash": entry_hash})
        last_hash = entry_hash
    insert_rows(session, AuditEntry, rows)
    head.last_id = rows[-1]["id"]
    head.last_hash = last_hash
    head.entries += len(rows)
    session.flush()
