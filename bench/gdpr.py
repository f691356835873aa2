"""GDPR benchmark: one person's discovery + Art. 15 export, and one Art. 17 erasure with its verification, on the
large demo data (1,000,000 contacts).

`python -m bench.gdpr [--size large] [--backend sqlite|postgresql|all] [--reuse]` uses the databases of
bench.sales / bench.consent (seeded afresh unless `--reuse`). For `--repeat` different rich contacts (a deal role,
consent history, an address) it times, each in its own request:
- finding the person by e-mail (`find_candidates`),
- discovery + export (`build_export`: every registered data set searched, ZIP with data.json, CSVs and PDF),
  target under 3 s;
- erasure (`erase`: the one transaction over every data set, then the verification — on SQLite the whole database
  file and WAL, on PostgreSQL every row that was about the person or may name them plus the identifier indexes —
  and the certificate), target under 5 s, reported as a whole and split into transaction and verification;
- once, an erasure with the full sweep (every text column of every table), reported for information.
Medians are reported; every erased contact's certificate must come out complete.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.sales import bench_parser, postgres, run_backends, sqlite_file
from bench.scenarios import Measurement
from core.gdpr.discovery import find_candidates
from core.gdpr.erasure import erase
from core.gdpr.export import build_export
from core.gdpr.requests import confirm_subject, receive_request, record_identity
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import Address, ConsentEntry, Contact, OpportunityContact
from db.session import create_db_engine, make_session_factory

EXPORT_TARGET_S = 3.0
ERASURE_TARGET_S = 5.0


def rich_contacts(factory: sessionmaker[Session], count: int) -> list[tuple[int, str]]:
    """Contacts with a deal role, consent history and an e-mail address (ids spread over the table)."""
    with factory() as session:
        rows = session.execute(
            select(Contact.id, Contact.email)
            .where(
                Contact.email.is_not(None),
                Contact.id.in_(select(OpportunityContact.contact_id)),
                Contact.id.in_(select(ConsentEntry.contact_id)),
            )
            .order_by(Contact.id.desc())
            .limit(count * 50)
        ).all()
    step = max(1, len(rows) // max(count, 1))
    return [(r.id, r.email) for r in rows[::step][:count]]


def _request(factory: sessionmaker[Session], type: str, contact_id: int, email: str) -> int:
    uow = UnitOfWork(factory, actor=SYSTEM)
    view = receive_request(uow, type=type, channel="email", requester_email=email)
    record_identity(UnitOfWork(factory, actor=SYSTEM), view.id, method="known_address", result="confirmed")
    confirm_subject(UnitOfWork(factory, actor=SYSTEM), view.id, contact_ids=[contact_id])
    return view.id


def measure(factory: sessionmaker[Session], backend: str, size: str, repeat: int) -> list[Measurement]:
    people = rich_contacts(factory, repeat * 2 + 1)
    if len(people) < repeat * 2 + 1:
        raise SystemExit(f"zu wenige passende Kontakte ({len(people)}) – Demodaten mit Einwilligungen erzeugen")
    find, export, erasure, erase_tx, verify, records = [], [], [], [], [], []
    for contact_id, email in people[:repeat]:
        started = time.perf_counter()
        find_candidates(UnitOfWork(factory, actor=SYSTEM), email=email)
        find.append(time.perf_counter() - started)
        request_id = _request(factory, "access", contact_id, email)
        started = time.perf_counter()
        package = build_export(UnitOfWork(factory, actor=SYSTEM), request_id)
        export.append(time.perf_counter() - started)
        records.append(sum(package.counts.values()))
    for contact_id, email in people[repeat : repeat * 2]:
        request_id = _request(factory, "erasure", contact_id, email)
        started = time.perf_counter()
        result = erase(UnitOfWork(factory, actor=SYSTEM), request_id)
        erasure.append(time.perf_counter() - started)
        erase_tx.append(result.seconds_erase)
        verify.append(result.seconds_verify)
        if not result.complete:
            raise SystemExit(f"Löschung von Kontakt {contact_id} unvollständig: {result.residues}")
    contact_id, email = people[-1]
    request_id = _request(factory, "erasure", contact_id, email)
    started = time.perf_counter()
    swept = erase(UnitOfWork(factory, actor=SYSTEM), request_id, full_sweep=True)
    full = time.perf_counter() - started
    if not swept.complete:
        raise SystemExit(f"Vollprüfung nach Löschung von Kontakt {contact_id}: {swept.residues}")
    print(f"  {backend}: je Person im Median {statistics.median(records):.0f} Datensätze exportiert", flush=True)
    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    return [
        Measurement(backend, size, "Person per E-Mail finden", ms(find), "ms"),
        Measurement(backend, size, f"Auffinden + Auskunftspaket (Ziel < {EXPORT_TARGET_S:.0f} s)", ms(export), "ms"),
        Measurement(backend, size, f"Löschung gesamt (Ziel < {ERASURE_TARGET_S:.0f} s)", ms(erasure), "ms"),
        Measurement(backend, size, "  davon Löschtransaktion", ms(erase_tx), "ms"),
        Measurement(backend, size, "  davon Prüfung + Löschprotokoll", ms(verify), "ms"),
        Measurement(backend, size, "Löschung mit Vollprüfung (jede Textspalte jeder Tabelle, einmal)", full * 1000, "ms"),
    ]


def run(backend: str, size: str, args: argparse.Namespace) -> list[Measurement]:
    if backend == "sqlite":
        database = sqlite_file(Path(str(args.sqlite_path).format(size=size)), args.reuse)
    else:
        database = postgres(args.postgres_url, args.reuse)
    with database as url:
        engine = create_db_engine(url)
        try:
            factory = make_session_factory(engine)
            with factory() as session:
                contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
                addresses = session.scalar(select(func.count()).select_from(Address)) or 0
            print(f"{backend} / {size}: {contacts:,} Kontakte, {addresses:,} Anschriften".replace(",", "."), flush=True)
            return measure(factory, backend, size, args.repeat)
        finally:
            engine.dispose()


def main() -> None:
    run_backends(bench_parser("python -m bench.gdpr", __doc__, repeat=3).parse_args(), run)


if __name__ == "__main__":
    main()
