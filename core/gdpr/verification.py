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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import JSON, Column, Connection, Engine, String, Table, Text, cast, func, literal, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.dedupe.normalize import phone_e164
from core.gdpr.registry import SubjectRef
from core.settings import get_settings
from db.base import Base
from db.fulltext import SEARCH_SPECS
from db.models import Address, Contact

MIN_PROBE_LENGTH = 4


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


def _distinct(session: Session, column: ColumnElement[str], value: str, subject_ids: Sequence[int], id_column: ColumnElement[int]) -> bool:
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
        if street and len(street) >= MIN_PROBE_LENGTH and _distinct(session, Address.street, street, own_addresses, Address.id):
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


def _matches(column: Column, probe: ProbeValue) -> ColumnElement[bool]:
    as_text = func.lower(cast(column, Text))
    return or_(*[as_text.contains(v.lower(), autoescape=True) for v in probe.variants()])


@dataclass
class DatabaseSearch:
    tables: int = 0
    columns: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # "table.column" → rows
    probe_hits: dict[str, int] = field(default_factory=dict)  # probe value → rows


def search_database(session: Session, probes: Sequence[ProbeValue], tables: Iterable[Table] | None = None) -> DatabaseSearch:
    """Count, per text column of every table, the rows holding any probe (one scan per table)."""
    result = DatabaseSearch()
    if not probes:
        return result
    for table in Base.metadata.sorted_tables if tables is None else tables:
        columns = _text_columns(table)
        if not columns:
            continue
        result.tables += 1
        result.columns += len(columns)
        pairs = [(c, p) for c in columns for p in probes]
        counts = session.execute(
            select(*[func.count().filter(_matches(c, p)) for c, p in pairs]).select_from(table)
        ).one()
        for (column, probe), count in zip(pairs, counts):
            if count:
                name = f"{table.name}.{column.name}"
                result.hits[name] = result.hits.get(name, 0) + count
                result.probe_hits[probe.value] = result.probe_hits.get(probe.value, 0) + count
    return result


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
        busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    scan = FileScan(checkpoint_busy=bool(busy))
    needles = {p.value: [v.encode("utf-8") for v in p.variants()] for p in probes}
    for name in (path, f"{path}-wal"):
        if not os.path.exists(name) or os.path.getsize(name) == 0:
            if os.path.exists(name):
                scan.files.append(os.path.basename(name))
            continue
        scan.files.append(os.path.basename(name))
        with open(name, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            scan.bytes += len(data)
            for value, forms in needles.items():
                count = sum(data.find(form) >= 0 for form in forms)
                if count:
                    scan.probe_hits[value] = scan.probe_hits.get(value, 0) + count
    return scan

