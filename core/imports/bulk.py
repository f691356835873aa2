"""Bulk writing for imports: ids reserved up front, rows inserted in batches (PostgreSQL: COPY),
and one hash-chained audit entry per created record appended in one go.

Reserving ids first lets contacts, their addresses and their audit entries be written without a
round trip per row. On SQLite the caller has already written in this transaction (the import_runs
row), so it holds the database's write lock and `max(id) + 1 …` cannot be taken by anyone else; on
PostgreSQL the ids come from the table's own sequence.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core import audit, ledger
from core.uow import UnitOfWork
from db.base import Base
from db.models import AuditEntry

T = TypeVar("T")
# Values per `IN (...)` lookup: SQLite's parameter limit is low; on PostgreSQL every query over a freshly
# loaded table may be a sequential scan (no statistics yet), so there are as few queries as possible.
LOOKUP_CHUNK = {"sqlite": 900, "postgresql": 30_000}
ANALYZE_FROM_ROWS = 10_000
# SQLite page cache while an import inserts (KiB; see `larger_page_cache`).
IMPORT_CACHE_KIB = 64 * 1024
# Placeholders for the two values that differ between `imported` audit entries (see `_chain`).
_ID_MARK = -7_391_826_455_019
_ENTITY_MARK = "\u2063entity_id\u2063"
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False)


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


@contextmanager
def larger_page_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache of `IMPORT_CACHE_KIB` for this connection while bulk inserting, then the previous size.

    Inserting 100,000s of rows touches every index of the table at random places; with the default 2 MiB
    cache SQLite keeps evicting (and spilling to the WAL) index pages it needs again a moment later.
    The cache size is memory only: journaling, synchronous mode and what a commit guarantees stay the same.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    # On the driver's connection, so that setting it back also works after a failed statement.
    driver = session.connection().connection.driver_connection
    assert driver is not None
    previous = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {previous}")


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
    """Insert rows (all with the same keys) in the session's transaction (see `insert_columns`)."""
    if not rows:
        return
    insert_columns(session, model, {column: [row[column] for row in rows] for column in rows[0]}, len(rows))


def insert_columns(
    session: Session,
    model: type[Base],
    columns: Mapping[str, Sequence[Any]],
    count: int,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert `count` rows given column by column (each a sequence of `count` values); `constants` are
    columns with the same value in every row. Building columns instead of one dict per row spares
    a dict per row and the transposition.

    PostgreSQL: COPY (core.demo.bulk_insert). SQLite: one prepared statement run with the driver's
    `executemany`; values go column by column through the columns' own SQLAlchemy bind processors (UTC
    timestamps, dates, booleans), cached per distinct value (a constant is converted once), which is
    several times faster than Core's executemany.
    """
    if count == 0:
        return
    constants = constants or {}
    names = [*columns, *constants]
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        from core.demo import bulk_insert  # core.demo's steps import this module: import it when used

        fixed = dict(constants)
        bulk_insert(session, model, (dict(zip(columns, values)) | fixed for values in zip(*columns.values())))
        return
    table = model.__table__
    values_by_column: list[Iterable[Any]] = [
        _bound(values, table.c[name].type._cached_bind_processor(dialect)) for name, values in columns.items()  # noqa: SLF001
    ]
    for name, value in constants.items():
        process = table.c[name].type._cached_bind_processor(dialect)  # noqa: SLF001
        values_by_column.append(itertools.repeat(value if value is None or process is None else process(value), count))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, zip(*values_by_column))
    finally:
        cursor.close()


def _bound(values: Sequence[Any], process: Callable[[Any], Any] | None) -> Sequence[Any]:
    """Values as the driver takes them, each distinct value converted once."""
    if process is None:
        return values
    cache: dict[Any, Any] = {}
    return [v if v is None else cache[v] if v in cache else cache.setdefault(v, process(v)) for v in values]


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
    ids = list(range(head.last_id + 1, head.last_id + 1 + len(entity_ids)))
    entity_texts = [str(entity_id) for entity_id in entity_ids]
    prev_hashes, hashes = _chain(head.last_hash, base, ids, entity_texts)
    columns = {"id": ids, "entity_id": entity_texts, "prev_hash": prev_hashes, "hash": hashes}
    insert_columns(session, AuditEntry, columns, len(ids), constants=base)
    head.last_id = ids[-1]
    head.last_hash = hashes[-1]
    head.entries += len(ids)
    session.flush()


def _chain(last_hash: str, base: Mapping[str, Any], ids: Sequence[int], entity_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """`prev_hash` and `hash` of consecutive entries that differ only in `id` and `entity_id`.

    Same hashes as `ledger.chain_hash` on each full payload, without serialising the payload per entry:
    the canonical JSON is written once with placeholders and the two values are spliced in. The first
    entry is checked against `ledger.chain_hash`, so a change of the chain's format cannot slip by.
    """
    template = ledger.canonical_json({**base, "id": _ID_MARK, "entity_id": _ENTITY_MARK})
    id_mark, entity_mark = str(_ID_MARK), _JSON_TEXT.encode(_ENTITY_MARK)
    if template.count(id_mark) != 1 or template.count(entity_mark) != 1:
        return _chain_slowly(last_hash, base, ids, entity_ids)
    id_first = template.index(id_mark) < template.index(entity_mark)
    start, middle, end = re.split(f"{re.escape(id_mark)}|{re.escape(entity_mark)}", template)
    encode_text = _JSON_TEXT.encode
    sha256 = hashlib.sha256
    prev_hashes: list[str] = []
    hashes: list[str] = []
    for entry_id, entity_id in zip(ids, entity_ids):
        first, second = (entry_id, encode_text(entity_id)) if id_first else (encode_text(entity_id), entry_id)
        prev_hashes.append(last_hash)
        last_hash = sha256(f"{last_hash}{start}{first}{middle}{second}{end}".encode()).hexdigest()
        hashes.append(last_hash)
    if hashes[0] != ledger.chain_hash(prev_hashes[0], {**base, "id": ids[0], "entity_id": entity_ids[0]}):
        raise RuntimeError("audit payload template does not reproduce ledger.chain_hash")
    return prev_hashes, hashes


def _chain_slowly(last_hash: str, base: Mapping[str, Any], ids: Sequence[int], entity_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """`_chain` entry by entry through `ledger.chain_hash` (when a placeholder also occurs in the payload)."""
    prev_hashes: list[str] = []
    hashes: list[str] = []
    for entry_id, entity_id in zip(ids, entity_ids):
        prev_hashes.append(last_hash)
        last_hash = ledger.chain_hash(last_hash, {**base, "id": entry_id, "entity_id": entity_id})
        hashes.append(last_hash)
    return prev_hashes, hashes
