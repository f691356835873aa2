"""After an erasure: prove that the person's identifiers are gone — from every text column of every table,
from the full-text indexes, and on SQLite from the database file and its write-ahead log byte by byte.

Probes are the person's e-mail addresses, phone numbers and full names, plus single name parts and streets
that no other record holds (a common surname found elsewhere belongs to other people). They live in memory
only; the certificate shows them masked with a keyed fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mmap
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    String,
    Table,
    Text,
    and_,
    any_,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.dedupe.normalize import phone_e164
from core.gdpr.registry import SubjectRef
from core.settings import get_settings
from db.base import Base
from db.fulltext import SEARCH_SPECS
from db.session import SQLITE_BUSY_TIMEOUT_MS
from core.digests import phone_digest
from core.search import contains, like_pattern
from db.models import Account, Address, AuditEntry, Contact, OutboxEvent

MIN_PROBE_LENGTH = 4
CHECKPOINT_WAIT_MS = 1_000


@dataclass(frozen=True)
class ProbeValue:
    kind: str
    value: str

    def variants(self) -> list[str]:
        """The forms a value can take when stored: as written, lower case, and JSON-escaped (\\u00fc)."""
        escaped = json.dumps(self.value)[1:-1]
        return list(dict.fromkeys(v for v in (self.value, self.value.lower(), escaped, escaped.lower()) if v))

    def masked(self) -> str:
        if self.kind == "E-Mail" and "@" in self.value:
            local, domain = self.value.split("@", 1)
            return f"{local[:1]}***@{domain[:1]}***"
        if self.kind == "Telefon":
            return f"{self.value[:4]}***{self.value[-2:]}"
        return " ".join(f"{part[:1]}***" for part in self.value.split())

    def fingerprint(self) -> str:
        key = ("gdpr-probe:" + get_settings().resolved_secret_key()).encode("utf-8")
        return hmac.new(key, self.value.lower().encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _distinct(
    session: Session, column: ColumnElement[str], value: str, subject_ids: Sequence[int], id_column: ColumnElement[int]
) -> bool:
    """No record outside the person's own holds this value in this column."""
    other = session.scalar(select(literal(1)).where(column == value, id_column.not_in(subject_ids)).limit(1))
    return other is None


def collect_probes(session: Session, subject: SubjectRef) -> list[ProbeValue]:
    """What to search for after the erasure; call before deleting anything."""
    probes: list[ProbeValue] = []
    ids = list(subject.contact_ids)
    for value in subject.identifiers:
        kind = "E-Mail" if "@" in value else "Telefon" if phone_e164(value) else "Name"
        probes.append(ProbeValue(kind, value))
    rows = session.execute(
        select(Contact.first_name, Contact.last_name, Contact.phone, Contact.mobile).where(Contact.id.in_(ids))
    ).all()
    for first, last, phone, mobile in rows:
        for column, value in ((Contact.last_name, last), (Contact.first_name, first)):
            if value and len(value) >= MIN_PROBE_LENGTH and _distinct(session, column, value, ids, Contact.id):
                probes.append(ProbeValue("Namensteil", value))
        for number in (phone, mobile):
            e164 = phone_e164(number)
            if e164:
                probes.append(ProbeValue("Telefon", e164))
    streets = session.execute(
        select(Address.id, Address.street, Address.house_number).where(Address.contact_id.in_(ids))
    ).all()
    own_addresses = [a for a, *_ in streets]
    for _id, street, number in streets:
        if (
            street
            and len(street) >= MIN_PROBE_LENGTH
            and _distinct(session, Address.street, street, own_addresses, Address.id)
        ):
            probes.append(ProbeValue("Anschrift", f"{street} {number}".strip() if number else street))
            probes.append(ProbeValue("Anschrift", street))
    unique: dict[str, ProbeValue] = {}
    for probe in probes:
        if len(probe.value) >= MIN_PROBE_LENGTH:
            unique.setdefault(probe.value.lower(), probe)
    return list(unique.values())


# --- the database ------------------------------------------------------------------------------------


def _text_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]


def _lowered_forms(probe: ProbeValue) -> list[str]:
    return list(dict.fromkeys(v.lower() for v in probe.variants()))


def _matches(text_value: ColumnElement[str], probe: ProbeValue) -> ColumnElement[bool]:
    return or_(*[text_value.contains(form, autoescape=True) for form in _lowered_forms(probe)])


def _matches_any(session: Session, text_value: ColumnElement[str], probes: Sequence[ProbeValue]) -> ColumnElement[bool]:
    """Any probe in the text. PostgreSQL evaluates `LIKE ANY (array)` on the expression once; OR-ed LIKEs would
    lower-case the whole row again for every pattern."""
    forms = sorted({form for p in probes for form in _lowered_forms(p)})
    if session.get_bind().dialect.name == "postgresql":
        patterns = [like_pattern(form) for form in forms]
        return text_value.like(any_(postgresql.array(patterns)))  # backslash is PostgreSQL's default LIKE escape
    return or_(*[text_value.contains(form, autoescape=True) for form in forms])


def _row_text(columns: Sequence[Column]) -> ColumnElement[str]:
    """All text columns of a row as one lower-case string (unit separator between them): one pass per row."""
    parts: ColumnElement[str] = func.coalesce(cast(columns[0], Text), "")
    for column in columns[1:]:
        parts = parts + "\x1f" + func.coalesce(cast(column, Text), "")
    return func.lower(parts)


@dataclass
class DatabaseSearch:
    tables: int = 0
    columns: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # "table.column" → rows
    probe_hits: dict[str, int] = field(default_factory=dict)  # probe value → rows


def search_database(
    session: Session,
    probes: Sequence[ProbeValue],
    tables: Iterable[Table] | None = None,
    rows: dict[str, ColumnElement[bool]] | None = None,
) -> DatabaseSearch:
    """Every text column of every table (or, with `rows`, only the rows each condition selects): one scan per table
    over the row's joined text; a table with a hit is searched again column by column to name the residue."""
    result = DatabaseSearch()
    if not probes:
        return result
    for table in Base.metadata.sorted_tables if tables is None else tables:
        columns = _text_columns(table)
        if not columns or (rows is not None and table.name not in rows):
            continue
        where = rows[table.name] if rows is not None else true()
        result.tables += 1
        result.columns += len(columns)
        found = session.scalar(
            select(func.count()).select_from(table).where(where, _matches_any(session, _row_text(columns), probes))
        )
        if found:
            _locate_hits(session, table, columns, probes, result, where)
    return result


def subject_rows(subject: SubjectRef) -> dict[str, ColumnElement[bool]]:
    """Per table, the rows that were about the person or may name them (registry locators and mentions, and the
    log and events of their records by id): where copies would be if the erasure had missed any."""
    from core.gdpr.registry import datasets

    conditions: dict[str, list[ColumnElement[bool]]] = {}
    for dataset in datasets():
        for locator in (dataset.locate, dataset.mentions):
            condition = locator(subject) if locator is not None else None
            if condition is not None:
                conditions.setdefault(dataset.table.name, []).append(condition)
    for model in (OutboxEvent, AuditEntry):
        by_id = or_(
            and_(model.entity == "contact", model.entity_id.in_(subject.contact_keys)),
            and_(model.entity == "account", model.entity_id.in_(subject.account_keys)),
        )
        conditions.setdefault(model.__tablename__, []).append(by_id)
    return {name: or_(*parts) for name, parts in conditions.items()}


def search_identifiers(session: Session, probes: Sequence[ProbeValue]) -> dict[str, int]:
    """Index-backed lookups of the person's identifiers among the remaining people and companies (search indexes on
    names and e-mail, match keys and keyed hashes of phones)."""
    hits: dict[str, int] = {}
    for probe in probes:
        lookups = [("contacts", Contact, contains(session, Contact, probe.value)),
                   ("accounts", Account, contains(session, Account, probe.value))]
        e164 = phone_e164(probe.value) if probe.kind == "Telefon" else None
        if e164:
            digest = phone_digest(e164)
            lookups.append(("contacts", Contact, or_(Contact.match_phone == e164, Contact.phone_digest == digest,
                                                     Contact.mobile_digest == digest)))
            lookups.append(("accounts", Account, Account.match_phone == e164))
        for name, model, condition in lookups:
            count = session.scalar(select(func.count()).select_from(model).where(condition)) or 0
            if count:
                key = f"{name}: {probe.masked()}"
                hits[key] = hits.get(key, 0) + count
    return hits


def file_coverage() -> DatabaseSearch:
    """What a clean scan of the SQLite file covers: every text column of every table (no query needed)."""
    tables = [t for t in Base.metadata.sorted_tables if _text_columns(t)]
    return DatabaseSearch(tables=len(tables), columns=sum(len(_text_columns(t)) for t in tables))


def _locate_hits(
    session: Session,
    table: Table,
    columns: Sequence[Column],
    probes: Sequence[ProbeValue],
    result: DatabaseSearch,
    where: ColumnElement[bool],
) -> None:
    """Rows per column holding any probe, and rows per probe (for the certificate's table of identifiers)."""
    lowered = {column.name: func.lower(cast(column, Text)) for column in columns}
    by_column = [func.count().filter(_matches_any(session, lowered[c.name], probes)) for c in columns]
    by_probe = [func.count().filter(or_(*[_matches(lowered[c.name], p) for c in columns])) for p in probes]
    counts = session.execute(select(*by_column, *by_probe).select_from(table).where(where)).one()
    for column, count in zip(columns, counts[: len(columns)]):
        if count:
            result.hits[f"{table.name}.{column.name}"] = count
    for probe, count in zip(probes, counts[len(columns) :]):
        if count:
            result.probe_hits[probe.value] = result.probe_hits.get(probe.value, 0) + count


# --- full-text indexes ----------------------------------------------------------------------------------


def search_fulltext(session: Session, probes: Sequence[ProbeValue]) -> tuple[list[str], dict[str, int]]:
    """SQLite: ask each FTS5 index itself (it may keep entries its table lost); PostgreSQL's trigram indexes are
    ordinary indexes over the table rows searched above. Returns (indexes checked, hits by "index: probe")."""
    if session.get_bind().dialect.name != "sqlite":
        return [f"{spec.table} (pg_trgm, mit der Tabelle geprüft)" for spec in SEARCH_SPECS], {}
    checked, hits = [], {}
    for spec in SEARCH_SPECS:
        checked.append(spec.fts_table)
        for probe in probes:
            phrase = '"' + probe.value.replace('"', '""') + '"'
            found = session.execute(
                text(f"SELECT count(*) FROM {spec.fts_table} WHERE {spec.fts_table} MATCH :q"), {"q": phrase}
            ).scalar_one()
            if found:
                hits[f"{spec.fts_table}: {probe.masked()}"] = found
    return checked, hits


# --- the SQLite file and WAL -------------------------------------------------------------------------------


@dataclass
class FileScan:
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    probe_hits: dict[str, int] = field(default_factory=dict)
    checkpoint_busy: bool = False


def scan_sqlite_files(bind: Engine | Connection, probes: Sequence[ProbeValue]) -> FileScan | None:
    """Checkpoint the WAL into the database (TRUNCATE), then search the raw bytes of the file and what is left of
    the WAL for every form of every probe. Secure delete (db/session.py) has zeroed freed pages.

    Runs on a connection of its own, outside any transaction, so that no reader of ours pins the WAL."""
    if bind.dialect.name != "sqlite":
        return None
    path = bind.engine.url.database
    if not path or path == ":memory:":
        return None
    with bind.engine.connect() as connection:
        # A writer in another connection makes the checkpoint wait: give up after a second and say so (residue
        # "Write-Ahead-Log …") rather than block the erasure for the full busy timeout.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    scan = FileScan(checkpoint_busy=bool(busy))
    for name in (path, f"{path}-wal"):
        if not os.path.exists(name):
            continue
        scan.files.append(os.path.basename(name))
        scan.bytes += os.path.getsize(name)
        if os.path.getsize(name) == 0:
            continue
        found = [match.lower() for match in _find_in_file(name, probes)]
        for probe in probes:
            count = sum(1 for match in found if any(form.encode("utf-8") in match for form in _lowered_forms(probe)))
            if count:
                scan.probe_hits[probe.value] = scan.probe_hits.get(probe.value, 0) + count
    return scan


def _find_in_file(path: str, probes: Sequence[ProbeValue]) -> list[bytes]:
    """The occurrences of any probe form (as written, lower case, JSON-escaped) in the raw bytes.

    GNU grep searches many fixed strings in one pass (about 1 GB/s per core); the file is split into one slice per
    core, each fed to its own grep through a pipe (slices overlap by the longest needle). The needles go in through
    a pipe too, never on disk or in the process list. Without grep, a slower search per needle in a memory map."""
    needles = sorted({form.encode("utf-8") for p in probes for form in p.variants() if "\n" not in form})
    grep = shutil.which("grep")
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if grep is None:
            return [needle for needle in needles if data.find(needle) >= 0]
        overlap = max(len(n) for n in needles) - 1
        parts = max(1, min(os.cpu_count() or 1, len(data) // SLICE_MIN_BYTES))
        bounds = [(len(data) * i // parts, len(data) * (i + 1) // parts) for i in range(parts)]
        with ThreadPoolExecutor(max_workers=parts) as pool:
            slices = [memoryview(data)[max(0, start - overlap) : end] for start, end in bounds]
            try:
                results = list(pool.map(lambda view: _grep(grep, needles, view), slices))
            finally:
                for view in slices:
                    view.release()
    return [match for found in results for match in found]


SLICE_MIN_BYTES = 64 * 1024 * 1024
PIPE_CHUNK = 8 * 1024 * 1024


def _grep(grep: str, needles: Sequence[bytes], view: memoryview) -> list[bytes]:
    patterns_read, patterns_write = os.pipe()
    process = subprocess.Popen(
        [grep, "-a", "-o", "-F", "-f", f"/dev/fd/{patterns_read}", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={"LC_ALL": "C"}, pass_fds=(patterns_read,),
    )
    os.close(patterns_read)
    with os.fdopen(patterns_write, "wb") as patterns:
        patterns.write(b"\n".join(needles))
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read() if process.stdout else b""))
    reader.start()
    assert process.stdin is not None
    try:
        for offset in range(0, len(view), PIPE_CHUNK):
            process.stdin.write(view[offset : offset + PIPE_CHUNK])
    finally:
        process.stdin.close()
    reader.join()
    if process.wait() not in (0, 1):
        raise RuntimeError("grep konnte die Datenbankdatei nicht durchsuchen")
    return [line for line in b"".join(output).split(b"\n") if line]
