"""Sales benchmark: the page data of the opportunity list, the kanban board, the funnel and the forecast.

`python -m bench.sales [--size large] [--backend sqlite|postgresql|all] [--reuse]` seeds the demo data
(`large`: 200,000 companies, 1,000,000 contacts, 500,000 deals with about 3,000,000 stage-history rows)
and times each call as the pages make it (median of `--repeat` warm runs, as the system user). With
`--reuse` an already seeded database is used as it is: the SQLite file `--sqlite-path` and the PostgreSQL
database `--postgres-url` (default `crm_bench_sales`; its name must contain "bench") stay between runs, so
the indexes and queries can be iterated on without seeding again (4–6 minutes at the large size).

`page_data()` is the part `python -m bench` runs for every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bench.databases import postgres_database, postgres_reachable
from bench.scenarios import Measurement, median_seconds
from core.demo import seed_demo
from core.formatting import fmt_number
from core.listing import ListQuery
from core.permissions import SYSTEM
from core.sales.board import board
from core.sales.forecast import forecast
from core.sales.funnel import funnel
from core.sales.opportunities import list_opportunities, local_today
from core.uow import UnitOfWork, utc_now
from db.migrate import upgrade
from db.models import Opportunity, OpportunityStageEvent, Pipeline, PipelineStage, User
from db.session import create_db_engine, make_session_factory, normalise_url

DEFAULT_SQLITE_PATH = Path(os.environ.get("TMPDIR", "/tmp")) / "crm-bench-sales" / "{size}.db"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/crm_bench_sales"
TARGET_LIST_MS = 300
TARGET_REPORT_MS = 1_000
Call = Callable[[UnitOfWork], object]


def _scenarios(session: Session, today: dt.date) -> list[tuple[str, Call, int]]:
    """(name, call, target in ms) for the demo data in `session`'s database."""
    pipelines = dict(session.execute(select(Pipeline.name, Pipeline.id).order_by(Pipeline.position)).tuples().all())
    new_business = pipelines.get("Neugeschäft") or min(pipelines.values())
    offer = session.scalar(
        select(PipelineStage.id).where(PipelineStage.pipeline_id == new_business, PipelineStage.name == "Angebot")
    )
    owner = session.scalar(select(User.id).where(User.username == "demo.vertrieb1"))
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    next_quarter = (quarter_start + dt.timedelta(days=100)).replace(day=1)
    quarter_end = next_quarter - dt.timedelta(days=1)
    lists: dict[str, ListQuery] = {
        "Verkaufschancen: Seite 1, alle": ListQuery(page_size=50),
        "Verkaufschancen: Filter Phase = Angebot": ListQuery(filters={"stage_id": offer}),
        "Verkaufschancen: Filter Verantwortlich, offen": ListQuery(filters={"owner_id": owner, "status": "open"}),
        "Verkaufschancen: Filter Abschluss im Quartal": ListQuery(
            filters={"close_from": quarter_start, "close_to": quarter_end}
        ),
        "Verkaufschancen: Filter offen, Abschluss im Quartal": ListQuery(
            filters={"status": "open", "close_from": quarter_start, "close_to": quarter_end}
        ),
        "Verkaufschancen: Filter Betrag 50.000–100.000": ListQuery(
            filters={"amount_min": 50_000, "amount_max": 100_000}
        ),
        "Verkaufschancen: Suche „cloud“": ListQuery(search="cloud"),
        "Verkaufschancen: sortiert nach Betrag, absteigend": ListQuery(sort="amount", descending=True),
        "Verkaufschancen: sortiert nach Abschlussdatum": ListQuery(sort="expected_close_date"),
        "Verkaufschancen: offen, sortiert nach Abschlussdatum (Standard)": ListQuery(
            filters={"status": "open"}, sort="expected_close_date"
        ),
    }
    cases: list[tuple[str, Call, int]] = [
        (name, partial(list_opportunities, query=query), TARGET_LIST_MS) for name, query in lists.items()
    ]
    for name, pipeline_id in pipelines.items():
        cases.append((f"Kanban: {name}", partial(board, pipeline_id=pipeline_id), TARGET_LIST_MS))
    cases.append(
        (
            "Kanban: Neugeschäft, Suche „cloud“",
            partial(board, pipeline_id=new_business, search="cloud"),
            TARGET_LIST_MS,
        )
    )
    cases.append(
        (
            "Funnel: Neugeschäft, 12 Monate",
            partial(
                funnel,
                pipeline_id=new_business,
                created_from=today - dt.timedelta(days=365),
                created_to=today,
            ),
            TARGET_REPORT_MS,
        )
    )
    cases.append(
        (
            "Forecast: Quartale, 12 Monate zurück und voraus",
            partial(
                forecast,
                period="quarter",
                date_from=today - dt.timedelta(days=365),
                date_to=today + dt.timedelta(days=365),
            ),
            TARGET_REPORT_MS,
        )
    )
    return cases


def page_data(
    factory: sessionmaker[Session], backend: str, size: str, repeat: int = 5, only: str | None = None
) -> list[Measurement]:
    """Median latency (ms, warm: one run before measuring) of every sales page-data call (with `only`: of
    those whose name contains it, case-insensitive)."""
    with factory() as session:
        cases = _scenarios(session, local_today(utc_now()))
    results = []
    for name, call, target in cases:
        if only and only.casefold() not in name.casefold():
            continue
        measured = partial(_call, factory, call)
        measured()  # warm: pages in the cache, statements compiled
        seconds = median_seconds(measured, repeat)
        results.append(Measurement(backend, size, f"{name} (Ziel < {fmt_number(target)} ms)", seconds * 1000, "ms"))
    return results


def _call(factory: sessionmaker[Session], call: Call) -> object:
    return call(UnitOfWork(factory, actor=SYSTEM))


def data_size(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        deals = session.scalar(select(func.count()).select_from(Opportunity)) or 0
        history = session.scalar(select(func.count()).select_from(OpportunityStageEvent)) or 0
        open_deals = session.scalar(select(func.count()).where(Opportunity.status == "open")) or 0
    return (
        f"{fmt_number(deals)} Verkaufschancen ({fmt_number(open_deals)} offen), "
        f"{fmt_number(history)} Einträge der Phasenhistorie"
    )


# ---------------------------------------------------------------------------------------- databases


def _seeded(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return (session.scalar(select(func.count()).select_from(Opportunity)) or 0) > 0


@contextmanager
def sqlite_file(path: Path, reuse: bool) -> Iterator[str]:
    """The benchmark's SQLite file, migrated to the latest revision: kept with `reuse`, otherwise created afresh."""
    url = f"sqlite:///{path}"
    if not (reuse and path.exists()):
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in path.parent.glob(f"{path.name}*"):
            leftover.unlink()
    upgrade(url)  # a kept database gets new migrations (e.g. indexes) too
    yield url


@contextmanager
def postgres(url: str, reuse: bool) -> Iterator[str]:
    """The benchmark's PostgreSQL database, migrated: kept with `reuse` when it has deals, otherwise reset."""
    if reuse and _database_has_deals(url):
        upgrade(url)
        yield url
        return
    with postgres_database(url) as fresh:
        yield fresh


def _database_has_deals(url: str) -> bool:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(text("SELECT to_regclass('opportunities') IS NOT NULL"))) and bool(
                conn.scalar(text("SELECT EXISTS (SELECT 1 FROM opportunities)"))
            )
    except Exception:  # noqa: BLE001 - a missing database means "seed it"
        return False
    finally:
        engine.dispose()


@dataclass
class BenchDatabase:
    """An open benchmark database of bench.sales (seeded if it was empty) and the measurements taken so far."""

    engine: Engine
    factory: sessionmaker[Session]
    results: list[Measurement]


@contextmanager
def bench_database(backend: str, size: str, args: argparse.Namespace) -> Iterator[BenchDatabase]:
    """The `--sqlite-path` file or the `--postgres-url` database at `size`, migrated, seeded with the demo data
    when empty (measured), the engine disposed afterwards — what every benchmark on these databases starts with."""
    if backend == "sqlite":
        database = sqlite_file(Path(str(args.sqlite_path).format(size=size)), args.reuse)
    else:
        database = postgres(args.postgres_url, args.reuse)
    with database as url:
        engine = create_db_engine(url)
        try:
            opened = BenchDatabase(engine, make_session_factory(engine), [])
            if not _seeded(opened.factory):
                print(f"{backend} / {size}: Demodaten erzeugen …", flush=True)
                started = time.perf_counter()
                report = seed_demo(opened.factory, size=size, seed=args.seed)
                seconds = time.perf_counter() - started
                print(f"  {report.describe()}", flush=True)
                opened.results.append(Measurement(backend, size, "Demodaten erzeugen (gesamt)", seconds, "s"))
            yield opened
        finally:
            engine.dispose()


def run(backend: str, size: str, args: argparse.Namespace) -> list[Measurement]:
    with bench_database(backend, size, args) as db:
        print(f"{backend} / {size}: {data_size(db.factory)}", flush=True)
        return db.results + page_data(db.factory, backend, size, args.repeat, args.only)


def bench_parser(prog: str, description: str | None, *, repeat: int) -> argparse.ArgumentParser:
    """The options every benchmark on the large demo databases shares (bench.sales, bench.consent)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--size", choices=("small", "medium", "large"), default="large")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--sqlite-path", default=str(DEFAULT_SQLITE_PATH), help="{size} wird ersetzt")
    parser.add_argument("--postgres-url", default=os.environ.get("CRM_BENCH_SALES_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--reuse", action="store_true", help="vorhandene, schon erzeugte Datenbank weiterverwenden")
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--markdown", action="store_true")
    return parser


def run_backends(args: argparse.Namespace, run_one: Callable[[str, str, argparse.Namespace], list[Measurement]]) -> None:
    """Run `run_one` per chosen backend (PostgreSQL only on a database named *bench*) and print the table."""
    from bench.__main__ import print_table

    name = make_url(normalise_url(args.postgres_url)).database or ""
    if args.backend != "sqlite" and "bench" not in name:
        raise SystemExit(f"Refusing to use database {name!r}: its name must contain 'bench'.")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPU-Kerne, {platform.machine()}")
    wanted = ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    results: list[Measurement] = []
    for backend in wanted:
        if backend == "postgresql" and not postgres_reachable(args.postgres_url):
            print(f"PostgreSQL nicht erreichbar ({args.postgres_url}) – übersprungen.")
            continue
        results += run_one(backend, args.size, args)
    print()
    print_table(results, args.markdown)


def main() -> None:
    parser = bench_parser("python -m bench.sales", __doc__, repeat=5)
    parser.add_argument("--only", help="nur Messungen, deren Name dies enthält (z. B. funnel)")
    run_backends(parser.parse_args(), run)


if __name__ == "__main__":
    main()
