"""`python -m bench [--size small|medium|large] [--backend sqlite|postgresql|all]`.

Without --size: small and medium on SQLite and PostgreSQL; `--size large` alone uses SQLite
unless --backend says otherwise. PostgreSQL runs in its own database (default `crm_bench`,
created if missing and reset on every run; the name must contain "bench").
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Iterator
from contextlib import AbstractContextManager

from bench import api, consent, gdpr, imports, sales, scenarios, segments
from bench.databases import DEFAULT_POSTGRES_URL, postgres_database, postgres_reachable, sqlite_database
from bench.scenarios import Measurement
from db.session import create_db_engine, make_session_factory

IMPORT_ROWS = 100_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=("small", "medium", "large"), action="append", help="mehrfach möglich")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), help="Standard: all (large: sqlite)")
    parser.add_argument("--postgres-url", default=os.environ.get("CRM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="SQLite-Datei nach dem Lauf behalten")
    parser.add_argument("--markdown", action="store_true", help="Ergebnis als Markdown-Tabelle ausgeben")
    return parser.parse_args()


def backends(args: argparse.Namespace, sizes: list[str]) -> Iterator[tuple[str, str]]:
    choice = args.backend or ("sqlite" if "large" in sizes else "all")
    wanted: tuple[str, ...] = ("sqlite", "postgresql") if choice == "all" else (choice,)
    if "postgresql" in wanted and not postgres_reachable(args.postgres_url):
        print(f"PostgreSQL nicht erreichbar ({args.postgres_url}) – übersprungen.")
        wanted = tuple(b for b in wanted if b != "postgresql")
    for size in sizes:
        for backend in wanted:
            yield backend, size


def database(backend: str, args: argparse.Namespace) -> AbstractContextManager[str]:
    return sqlite_database(keep=args.keep) if backend == "sqlite" else postgres_database(args.postgres_url)


def run_one(backend: str, size: str, args: argparse.Namespace) -> list[Measurement]:
    print(f"{backend} / {size} …", flush=True)
    with database(backend, args) as url:
        engine = create_db_engine(url)
        try:
            factory = make_session_factory(engine)
            results = scenarios.seed(factory, backend, size, args.seed)
            results += scenarios.list_queries(factory, backend, size)
            results += sales.page_data(factory, backend, size)
            results += consent.gate_data(factory, backend, size)
            results += segments.measure(factory, backend, size)
            results += gdpr.measure(factory, backend, size, repeat=3)
            results += scenarios.audit_chain(factory, backend, size)
        finally:
            engine.dispose()
        results += api.run(url, backend, size)
    return results


def print_table(results: list[Measurement], markdown: bool) -> None:
    if markdown:
        print_markdown(results)
        return
    width = max(len(m.scenario) for m in results)
    for m in results:
        print(f"{m.backend:<11} {m.size:<7} {m.scenario:<{width}}  {m.formatted():>18}")


def print_markdown(results: list[Measurement]) -> None:
    """One table per size: a row per scenario, a column per database."""
    for size in dict.fromkeys(m.size for m in results):
        rows = [m for m in results if m.size == size]
        columns = list(dict.fromkeys(m.backend for m in rows))
        cells = {(m.scenario, m.backend): m.formatted() for m in rows}
        print(f"\n**{size}**\n")
        print("| Messung | " + " | ".join(columns) + " |")
        print("|---|" + "---:|" * len(columns))
        for scenario in dict.fromkeys(m.scenario for m in rows):
            print(f"| {scenario} | " + " | ".join(cells.get((scenario, c), "–") for c in columns) + " |")


def main() -> None:
    args = parse_args()
    sizes = args.size or ["small", "medium"]
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPU-Kerne, {platform.machine()}")
    results: list[Measurement] = []
    for backend, size in backends(args, sizes):
        results += run_one(backend, size, args)
    for backend in dict.fromkeys(backend for backend, _ in backends(args, sizes)):
        results += imports.run(backend, IMPORT_ROWS, args.postgres_url)
    print()
    print_table(results, args.markdown)


if __name__ == "__main__":
    main()
