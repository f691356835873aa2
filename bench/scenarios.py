"""The measured scenarios; each returns plain measurements for the report table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.accounts import list_accounts
from core.contacts import list_contacts
from core.demo import seed_demo
from core.formatting import fmt_number
from core.listing import ListQuery, Page
from core.permissions import SYSTEM
from core.uow import UnitOfWork, utc_now
from db.models import AuditEntry

ListService = Callable[[UnitOfWork, ListQuery], Page]


@dataclass(frozen=True)
class Measurement:
    backend: str
    size: str
    scenario: str
    value: float
    unit: str

    def formatted(self) -> str:
        digits = 1 if self.unit in ("s", "ms") else 0
        return f"{fmt_number(self.value, digits=digits)} {self.unit}"


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def seed(factory: sessionmaker[Session], backend: str, size: str, seed_value: int) -> list[Measurement]:
    started = time.perf_counter()
    report = seed_demo(factory, size=size, seed=seed_value)
    seconds = time.perf_counter() - started
    rows = report.count("Firmen") + report.count("Kontakte")
    phases = dict(report.phase_seconds)
    print(f"  {report.describe()}", flush=True)
    return [
        Measurement(backend, size, "Demodaten erzeugen (gesamt)", seconds, "s"),
        Measurement(backend, size, "davon Benutzer und Teams", phases["setup"], "s"),
        Measurement(backend, size, "davon Massenimport Firmen + Kontakte", phases["bulk"], "s"),
        Measurement(backend, size, "davon Änderungshistorie über die Services", phases["history"], "s"),
        Measurement(backend, size, "Massenimport: Firmen + Kontakte pro Sekunde", rows / phases["bulk"], "Zeilen/s"),
    ]


CONTACT_QUERIES: dict[str, ListQuery] = {
    "Kontakte: Seite 1 (Standard)": ListQuery(),
    "Kontakte: sortiert nach Nachname": ListQuery(sort="last_name"),
    "Kontakte: sortiert nach Firma, absteigend": ListQuery(sort="account_name", descending=True),
    "Kontakte: Suche „müller“": ListQuery(search="müller"),
    "Kontakte: Suche „müller“, sortiert nach Nachname": ListQuery(search="müller", sort="last_name"),
    "Kontakte: Filter Ort = Köln": ListQuery(filters={"city": "Köln"}),
    "Kontakte: Seite 100": ListQuery(page=100),
}
ACCOUNT_QUERIES: dict[str, ListQuery] = {
    "Firmen: Seite 1 (Standard)": ListQuery(),
    "Firmen: Suche „technik“, sortiert nach Name": ListQuery(search="technik", sort="name"),
}


def list_queries(factory: sessionmaker[Session], backend: str, size: str, repeat: int = 3) -> list[Measurement]:
    """Median latency of one list page (count + page), as the list pages and the API run it."""
    cases = [(name, list_contacts, query) for name, query in CONTACT_QUERIES.items()]
    cases += [(name, list_accounts, query) for name, query in ACCOUNT_QUERIES.items()]
    results = []
    for name, service, query in cases:
        seconds = median_seconds(partial(_page, service, factory, query), repeat)
        results.append(Measurement(backend, size, name, seconds * 1000, "ms"))
    return results


def _page(service: ListService, factory: sessionmaker[Session], query: ListQuery) -> Page:
    return service(UnitOfWork(factory, actor=SYSTEM), query)


def audit_chain(
    factory: sessionmaker[Session], backend: str, size: str, extra_entries: int = 20_000
) -> list[Measurement]:
    """Append `extra_entries` field-level entries (100 per change), then walk the whole chain."""
    per_change = 100
    started = time.perf_counter()
    with factory() as session:
        for n in range(extra_entries // per_change):
            changes = [audit.FieldChange(f"feld_{i}", i, i + 1) for i in range(per_change)]
            audit.record(
                session, now=utc_now(), actor=SYSTEM, entity="bench", entity_id=n, action="updated", changes=changes
            )
            if n % 20 == 19:
                session.commit()
        session.commit()
    append_seconds = time.perf_counter() - started
    with factory() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        started = time.perf_counter()
        result = audit.verify_chain(session)
        verify_seconds = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"Audit chain broken: {result.describe()}")
    return [
        Measurement(backend, size, "Audit: Einträge schreiben", extra_entries / append_seconds, "Einträge/s"),
        Measurement(
            backend, size, f"Audit: Kette prüfen ({fmt_number(total)} Einträge)", total / verify_seconds, "Einträge/s"
        ),
    ]
