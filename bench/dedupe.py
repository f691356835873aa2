"""Duplicate-check benchmarks.

`python -m bench.dedupe quality [--contacts N] [--accounts N]`: the labelled benchmark. A clean
generated data set (the demo generator) gets derived duplicates with realistic errors (typos,
swapped names, umlaut spellings, moved address, missing fields, nicknames, …); the scan's pairs
are compared with the known ones: precision, recall and F1 per threshold, misses by error kind.

`python -m bench.dedupe scale --url sqlite:///…`: full scans and hints while typing on an
existing (e.g. 1,000,000-contact) database: seconds, peak memory, hint latency.

`scenarios()` is the part `python -m bench` runs for every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.databases import sqlite_database
from bench.scenarios import Measurement
from core.dedupe.derive import (
    ACCOUNT_COLUMNS,
    ACCOUNT_ERRORS,
    CONTACT_COLUMNS,
    CONTACT_ERRORS,
    Row,
    derive_duplicate,
    typo,
)
from core.dedupe.hints import duplicate_hints
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.dedupe.scan import find_duplicates, scan_duplicates
from core.dedupe.settings import DEFAULT_THRESHOLDS
from core.demo import bulk_insert, seed_demo
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import Account, Contact
from db.session import create_db_engine, make_session_factory

# ---------------------------------------------------------------------------------------- labelled benchmark


@dataclass(frozen=True)
class QualityResult:
    entity: str
    records: int
    duplicates: int
    compared: int
    blocking_recall: float
    rows: tuple[tuple[float, int, int, int, float, float, float], ...]  # threshold, tp, fp, fn, p, r, f1
    misses: Counter[str]
    miss_examples: tuple[str, ...]
    false_positive_examples: tuple[str, ...]


def _rows(session: Session, model: Any, columns: Sequence[str]) -> list[Row]:
    stmt = select(*[getattr(model, c) for c in columns]).order_by(model.id)
    return [dict(zip(columns, row)) for row in session.execute(stmt)]


def _insert_duplicates(
    session: Session, model: Any, rows: list[Row], keys: Callable[[Row], dict[str, Any]], prefix: str
) -> dict[str, int]:
    now = dt.datetime.now(dt.timezone.utc)
    prepared = []
    for number, row in enumerate(rows, 1):
        values = {k: v for k, v in row.items() if k != "id"} | {"external_id": f"{prefix}-{number:06d}"}
        prepared.append(values | keys(values) | {"version": 1, "created_at": now, "updated_at": now})
    bulk_insert(session, model, prepared)
    stmt = select(model.external_id, model.id).where(model.external_id.like(f"{prefix}-%"))
    return dict(session.execute(stmt).tuples().all())


def labelled_quality(
    factory: sessionmaker[Session], entity: str, share: float, seed: int, thresholds: Sequence[float]
) -> QualityResult:
    model, columns, errors, keys, prefix = (
        (Contact, CONTACT_COLUMNS, CONTACT_ERRORS, match_keys_for_contact, "DUPC")
        if entity == "contact"
        else (Account, ACCOUNT_COLUMNS, ACCOUNT_ERRORS, match_keys_for_account, "DUPA")
    )
    rng = random.Random(f"{seed}:dedupe:{entity}")
    with factory() as session, session.begin():
        originals = _rows(session, model, columns)
        chosen = rng.sample(originals, int(len(originals) * share))
        derived = [derive_duplicate(rng, row, errors) for row in chosen]
        ids = _insert_duplicates(session, model, [row for row, _ in derived], keys, prefix)
    truth: dict[tuple[int, int], list[str]] = {}
    for number, (original, (_, applied)) in enumerate(zip(chosen, derived), 1):
        pair = tuple(sorted((original["id"], ids[f"{prefix}-{number:06d}"])))
        truth[pair] = applied  # type: ignore[index]
    uow = UnitOfWork(factory, actor=SYSTEM)
    with uow:
        pairs, records, compared, _, _ = find_duplicates(uow, entity, 0.0)
    scores = {(p.id_a, p.id_b): p.score for p in pairs}
    by_id = {row["id"]: row for row in originals}
    result_rows = []
    for threshold in thresholds:
        found = {pair for pair, score in scores.items() if score >= threshold}
        tp = len(found & truth.keys())
        fp, fn = len(found) - tp, len(truth) - tp
        precision = tp / len(found) if found else 1.0
        recall = tp / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result_rows.append((threshold, tp, fp, fn, precision, recall, f1))
    default = DEFAULT_THRESHOLDS[entity]
    missed = [pair for pair in truth if scores.get(pair, 0.0) < default]
    misses = Counter(kind for pair in missed for kind in truth[pair])
    examples = tuple(
        f"{'+'.join(truth[p])}: score {scores.get(p, 0):.2f} ("
        + ("nicht im Block" if p not in scores else "zu niedrig")
        + f") {_describe(by_id.get(p[0]))}"
        for p in missed[:8]
    )
    false_positives = [pair for pair, score in scores.items() if score >= default and pair not in truth]
    fp_examples = tuple(
        f"{scores[p]:.2f}: {_describe(by_id.get(p[0]))} ~ {_describe(by_id.get(p[1]))}" for p in false_positives[:8]
    )
    return QualityResult(
        entity,
        records,
        len(truth),
        compared,
        sum(p in scores for p in truth) / len(truth),
        tuple(result_rows),
        misses,
        examples,
        fp_examples,
    )


def _describe(row: Row | None) -> str:
    if row is None:
        return "(Dublette)"
    keys = ("first_name", "last_name", "name", "postcode", "city", "email", "birth_date")
    return " ".join(str(row[k]) for k in keys if row.get(k))


def print_quality(result: QualityResult) -> None:
    print(
        f"\n**{result.entity}**: {result.records} Datensätze, davon {result.duplicates} abgeleitete Dubletten; "
        f"{result.compared} Paare verglichen; Blocking findet {result.blocking_recall:.1%} der echten Paare\n"
    )
    print("| Schwelle | TP | FP | FN | Precision | Recall | F1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for threshold, tp, fp, fn, p, r, f1 in result.rows:
        print(f"| {threshold:.2f} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} | {f1:.3f} |")
    print("\nVerpasst (Fehlerarten, Mehrfachnennung):", dict(result.misses.most_common()))
    for line in result.miss_examples:
        print("  FN", line)
    for line in result.false_positive_examples:
        print("  FP", line)


# ---------------------------------------------------------------------------------------- scale


def hint_latencies(factory: sessionmaker[Session], samples: int = 50, seed: int = 3) -> list[float]:
    """Milliseconds per hint call for typed variants (with a typo in the last name) of random contacts."""
    rng = random.Random(seed)
    with factory() as session:
        top = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
        ids = [rng.randint(1, top) for _ in range(samples)]
        rows = [r for r in (session.get(Contact, i) for i in ids) if r is not None]
        typed = [
            {
                "first_name": r.first_name,
                "last_name": typo(rng, r.last_name),
                "email": r.email,
                "phone": r.phone,
                "postcode": r.postcode,
                "city": r.city,
                "birth_date": r.birth_date,
            }
            for r in rows
        ]
    timings = []
    for values in typed:
        started = time.perf_counter()
        duplicate_hints(UnitOfWork(factory, actor=SYSTEM), "contacts", values)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def scenarios(factory: sessionmaker[Session], backend: str, size: str) -> list[Measurement]:
    """Full scans of both entities and hint latency, for the `python -m bench` table."""
    results = []
    for entity in ("contacts", "accounts"):
        report = scan_duplicates(UnitOfWork(factory, actor=SYSTEM), entity=entity, out=io.StringIO())
        label = "Kontakte" if entity == "contacts" else "Firmen"
        results.append(
            Measurement(backend, size, f"Dubletten: Scan {label} ({report.found} Paare)", report.seconds, "s")
        )
    timings = hint_latencies(factory)
    results.append(
        Measurement(backend, size, "Dubletten: Hinweise beim Tippen (Median)", statistics.median(timings), "ms")
    )
    results.append(Measurement(backend, size, "Dubletten: Hinweise beim Tippen (p95)", _p95(timings), "ms"))
    return results


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def scale(url: str, entities: Sequence[str]) -> None:
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    for entity in entities:
        started = time.perf_counter()
        with open(f"/tmp/dedupe-{entity}.csv", "w", encoding="utf-8") as out:
            report = scan_duplicates(UnitOfWork(factory, actor=SYSTEM), entity=entity, out=out, progress=print)
        print(report.describe(), dict(report.phase_seconds), f"{time.perf_counter() - started:.1f} s")
        print(f"Spitzenspeicher bisher: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    timings = hint_latencies(factory, samples=200)
    print(
        f"Hinweise beim Tippen: Median {statistics.median(timings):.1f} ms, p95 {_p95(timings):.1f} ms, "
        f"max {max(timings):.1f} ms ({len(timings)} Aufrufe)"
    )
    engine.dispose()


def quality(contacts: int, accounts: int, share: float, seed: int) -> None:
    thresholds = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    with sqlite_database() as url:
        engine = create_db_engine(url)
        factory = make_session_factory(engine)
        seed_demo(factory, size="small", seed=seed, accounts=accounts, contacts=contacts, history=0, duplicates=False)
        for entity in ("contact", "account"):
            print_quality(labelled_quality(factory, entity, share, seed, thresholds))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality", help="gelabelter Benchmark: Precision, Recall, F1")
    q.add_argument("--contacts", type=int, default=20_000)
    q.add_argument("--accounts", type=int, default=5_000)
    q.add_argument("--share", type=float, default=0.1, help="Anteil der Datensätze mit abgeleiteter Dublette")
    q.add_argument("--seed", type=int, default=7)
    s = sub.add_parser("scale", help="Scan und Hinweise auf einer vorhandenen Datenbank messen")
    s.add_argument("--url", required=True)
    s.add_argument("--entity", action="append", choices=("contacts", "accounts"))
    args = parser.parse_args()
    if args.command == "quality":
        quality(args.contacts, args.accounts, args.share, args.seed)
    else:
        scale(args.url, args.entity or ["contacts", "accounts"])


if __name__ == "__main__":
    main()
