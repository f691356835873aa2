"""Consent benchmark: the set-based consent gate over the whole demo audience.

`python -m bench.consent [--size large] [--backend sqlite|postgresql|all] [--reuse]` uses the databases of
bench.sales (the SQLite file `--sqlite-path`, the PostgreSQL database `--postgres-url`, default
`crm_bench_sales`): seeded afresh, or with `--reuse` kept as they are. A database seeded before consent
existed gets the keyed hashes of its contacts' addresses (`core.digests.refresh_contact_digests`, as
`manage.py db upgrade` does) and the demo consent history (`core.demo_consent.add_consent_history`) once.
Then, per channel × purpose, it times `core.consent.gate.summary` (contacts per gate reason) and the number
of reachable contacts (`reachable`, counted in SQL) over every contact (`large`: 1,000,000), and
`may_contact` for a single contact; median of `--repeat` warm runs. Target: under 2 s each.

`gate_data()` is the part `python -m bench` runs for every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.sales import bench_database, bench_parser, run_backends
from bench.scenarios import Measurement, median_seconds
from core.consent.gate import may_contact, reachable, summary
from core.consent.vocabulary import CHANNELS, GATE_REASONS, label
from core.demo_consent import add_consent_history
from core.digests import refresh_contact_digests
from core.formatting import fmt_number
from core.uow import utc_now
from db.models import ConsentEntry, Contact

T = TypeVar("T")
TARGET_MS = 2_000
CASES = (("email", "newsletter"), ("phone", "produktinformationen"), ("post", "veranstaltungen"))


def _count_reachable(session: Session, channel: str, purpose: str, at: dt.datetime) -> int:
    allowed = reachable(session, channel=channel, purpose=purpose, at=at).subquery()
    return session.scalar(select(func.count()).select_from(allowed)) or 0


def _timed(factory: sessionmaker[Session], query: Callable[[Session], T], repeat: int) -> tuple[float, T]:
    """Median seconds of `repeat` warm runs (one run before, whose result is returned), each in its own session."""

    def once() -> T:
        with factory() as session:
            return query(session)

    result = once()
    return median_seconds(once, repeat), result


def gate_data(factory: sessionmaker[Session], backend: str, size: str, repeat: int = 3) -> list[Measurement]:
    """Median latency (ms, warm) of the gate over every contact, per channel × purpose of `CASES`."""
    at = utc_now()
    with factory() as session:
        contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
        sample = session.scalar(select(func.max(ConsentEntry.contact_id))) or 1
    audience = f"{fmt_number(contacts)} Kontakte"
    results = []
    for channel, purpose in CASES:
        cell = f"{label(CHANNELS, channel)} × {purpose}"
        seconds, counts = _timed(factory, partial(_summary, channel=channel, purpose=purpose, at=at), repeat)
        print(f"  {cell}: {_describe(counts)}", flush=True)
        results.append(_measurement(backend, size, f"Gate summary {cell} ({audience})", seconds))
        seconds, allowed = _timed(factory, partial(_count_reachable, channel=channel, purpose=purpose, at=at), repeat)
        print(f"  {cell}: {fmt_number(allowed)} erreichbar", flush=True)
        results.append(_measurement(backend, size, f"Gate reachable {cell}, gezählt ({audience})", seconds))
    seconds, _ = _timed(factory, lambda s: may_contact(s, sample, "email", "newsletter", at), repeat)
    results.append(_measurement(backend, size, "Gate may_contact (ein Kontakt)", seconds))
    return results


def _summary(session: Session, *, channel: str, purpose: str, at: dt.datetime) -> dict[str, int]:
    return dict(summary(session, channel=channel, purpose=purpose, at=at))


def _describe(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{label(GATE_REASONS, reason).split(':')[0]} {fmt_number(n)}" for reason, n in ordered)


def _measurement(backend: str, size: str, name: str, seconds: float) -> Measurement:
    return Measurement(backend, size, f"{name} (Ziel < {fmt_number(TARGET_MS)} ms)", seconds * 1000, "ms")


def prepare(engine: Engine, factory: sessionmaker[Session], backend: str, size: str, seed: int) -> list[Measurement]:
    """Digests and consent history for a database seeded before consent existed (both only once)."""
    results = []
    started = time.perf_counter()
    with factory.begin() as session:
        refreshed = refresh_contact_digests(session)
    if refreshed:
        if backend == "postgresql":
            # Every contact row was rewritten: clean up as autovacuum would, or every scan reads twice the pages.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE contacts"))
        seconds = time.perf_counter() - started
        print(f"  Schlüssel-Hashes für {fmt_number(refreshed)} Kontakte nachgetragen", flush=True)
        results.append(Measurement(backend, size, "Schlüssel-Hashes der Kontakte nachtragen", seconds, "s"))
    started = time.perf_counter()
    report = add_consent_history(factory, seed=seed)
    if not report.skipped_reason:
        print(f"  {report.describe()}", flush=True)
        seconds = time.perf_counter() - started
        results.append(Measurement(backend, size, "Einwilligungs-Demodaten ergänzen", seconds, "s"))
    return results


def run(backend: str, size: str, args: argparse.Namespace) -> list[Measurement]:
    with bench_database(backend, size, args) as db:
        results = db.results + prepare(db.engine, db.factory, backend, size, args.seed)
        print(f"{backend} / {size}: Consent-Gate über alle Kontakte", flush=True)
        return results + gate_data(db.factory, backend, size, args.repeat)


def main() -> None:
    run_backends(bench_parser("python -m bench.consent", __doc__, repeat=3).parse_args(), run)


if __name__ == "__main__":
    main()
