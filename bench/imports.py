"""Import benchmark: a generated contacts CSV (German headers, ';', UTF-8) imported through core.imports.

`python -m bench.imports [--rows 100000] [--backend sqlite|postgresql|all]` — or as part of `python -m bench`.
The measured time runs from the file's bytes to the commit: reading, mapping, checking every row,
linking/creating companies, contacts, addresses, audit entries and the import run.
"""

from __future__ import annotations

import argparse
import os
import random
import time

from sqlalchemy.orm import Session, sessionmaker

from bench.databases import DEFAULT_POSTGRES_URL, postgres_database, postgres_reachable, sqlite_database
from bench.scenarios import Measurement
from core.demo import Pools, contact_email, phone_number, slug
from core.demo_vocabulary import CITIES, COMMON_STREETS
from core.imports import read_file, run_import
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.session import create_db_engine, make_session_factory

HEADER = "Externe ID;Anrede;Titel;Vorname;Nachname;Geburtsdatum;E-Mail;Telefon;Firma;Straße;Hausnummer;PLZ;Ort;Land"
COMPANIES = 5_000


def contacts_csv(rows: int, seed: int = 42) -> bytes:
    """`rows` plausible contacts spread over 5,000 companies; birth dates in all three accepted formats."""
    rng = random.Random(f"{seed}:import-bench")
    pools = Pools.draw(seed, size=1_000)
    companies = [f"{rng.choice(pools.last_names)} {rng.choice(('Technik', 'Logistik', 'Bau', 'Handel'))} GmbH" for _ in range(COMPANIES)]
    lines = [HEADER]
    for number in range(1, rows + 1):
        female = rng.random() < 0.45
        first = rng.choice(pools.female_first_names if female else pools.male_first_names)
        last = rng.choice(pools.last_names)
        city = rng.choice(CITIES)
        company = rng.choice(companies)
        year, month, day = rng.randint(1955, 2002), rng.randint(1, 12), rng.randint(1, 28)
        birth = rng.choice((f"{year}-{month:02d}-{day:02d}", f"{day:02d}.{month:02d}.{year}", f"{year}{month:02d}{day:02d}"))
        lines.append(
            ";".join(
                (
                    f"IMP-{number:07d}",
                    "Frau" if female else "Herr",
                    "Dr." if rng.random() < 0.08 else "",
                    first,
                    last,
                    birth,
                    contact_email(first, last, f"{slug(company.split()[0])}.example"),
                    phone_number(rng, city.dialling_code, extension=True),
                    company,
                    rng.choice(COMMON_STREETS),
                    str(rng.randint(1, 180)),
                    f"{rng.randint(city.postcode_from, city.postcode_to):05d}",
                    city.name,
                    "DE",
                )
            )
        )
    return "\r\n".join(lines).encode("utf-8")


def measure(factory: sessionmaker[Session], backend: str, data: bytes, rows: int) -> list[Measurement]:
    size = f"{rows // 1000}k"
    started = time.perf_counter()
    table = read_file(data, "kontakte.csv")
    result = run_import(UnitOfWork(factory, actor=SYSTEM), table, entity="contacts")
    first = time.perf_counter() - started
    print(f"  {result.summary()}", flush=True)
    started = time.perf_counter()
    again = run_import(UnitOfWork(factory, actor=SYSTEM), read_file(data, "kontakte.csv"), entity="contacts")
    second = time.perf_counter() - started
    print(f"  {again.summary()}", flush=True)
    return [
        Measurement(backend, size, "Import: neue Kontakte (gesamt)", first, "s"),
        Measurement(backend, size, "Import: neue Kontakte pro Sekunde", rows / first, "Zeilen/s"),
        Measurement(backend, size, "Import: dieselbe Datei erneut (unverändert) pro Sekunde", rows / second, "Zeilen/s"),
    ]


def run(backend: str, rows: int, postgres_url: str = DEFAULT_POSTGRES_URL) -> list[Measurement]:
    data = contacts_csv(rows)
    database = sqlite_database() if backend == "sqlite" else postgres_database(postgres_url)
    print(f"{backend} / Import {rows} Kontakte …", flush=True)
    with database as url:
        engine = create_db_engine(url)
        try:
            return measure(make_session_factory(engine), backend, data, rows)
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("CRM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    results: list[Measurement] = []
    for backend in backends:
        if backend == "postgresql" and not postgres_reachable(args.postgres_url):
            print(f"PostgreSQL nicht erreichbar ({args.postgres_url}) – übersprungen.")
            continue
        results += run(backend, args.rows, args.postgres_url)
    for m in results:
        print(f"{m.backend:<11} {m.scenario:<58} {m.formatted():>16}")


if __name__ == "__main__":
    main()
