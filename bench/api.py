"""REST API under load: 16 concurrent clients against a real uvicorn server on the demo database.

`python -m bench.api [--size large] [--backend sqlite|postgresql|all]` seeds a fresh database with the demo
generator (opportunities come from its sales step), or `--url URL` measures an existing one. Each client
keeps one HTTP connection; the requests alternate GET /opportunities/{random id} and GET /opportunities?limit=50
(first page, filtered, and a page deep inside the list via its cursor). Measured `--runs` times back to back
(the server's saturation; each figure is the median of the runs, every run is printed, since identical runs on
a shared VM differ by up to ±25 %) and once paced per `--rate`: p50/p95/p99 per request kind and the
throughput; the target is p95 < 50 ms. `run()` is the part `python -m bench` runs for every size.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.crud import encode_cursor
from bench.databases import DEFAULT_POSTGRES_URL, postgres_database, postgres_reachable, sqlite_database
from bench.scenarios import Measurement
from core.apikeys import create_api_key, revoke_api_key
from core.capabilities import load_all
from core.demo import seed_demo
from core.formatting import fmt_number
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import Opportunity, User
from db.session import create_db_engine, make_session_factory, normalise_url

ROOT = Path(__file__).resolve().parents[1]
BASE = "/api/v1/opportunities"
CLIENTS = 16
REQUESTS = 3_000
RATES = (50.0, 100.0)  # paced runs, requests per second over all clients
RUNS = 3  # back-to-back runs: identical runs on a shared 2-core VM differ by up to ±25 %
PACED_SECONDS = 20
TARGET_P95_MS = 50.0


@dataclass(frozen=True)
class Request:
    kind: str
    path: str


@dataclass(frozen=True)
class Latencies:
    kind: str
    seconds: list[float]
    errors: int

    def percentile(self, p: int) -> float:
        """The p-th percentile in milliseconds (inclusive method: exact for the measured sample)."""
        if len(self.seconds) < 2:
            return self.seconds[0] * 1000 if self.seconds else float("nan")
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[p - 1] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(url: str, *, workers: int) -> Iterator[int]:
    """uvicorn serving api.main:app on the database `url`, on a free port; stopped afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    env = os.environ | {"CRM_DATABASE_URL": url}
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        _wait_until_healthy(port, server)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_healthy(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn wurde beendet (Exit-Code {server.returncode}).")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"uvicorn antwortet nicht auf Port {port}.")


@contextmanager
def benchmark_key(factory: sessionmaker[Session]) -> Iterator[str]:
    """A read-only key for the run, revoked afterwards (`--url` may point at a real database)."""
    created = create_api_key(
        UnitOfWork(factory, actor=SYSTEM), name=f"Benchmark {time.time_ns()}", scopes=["opportunities.read"]
    )
    try:
        yield created.key
    finally:
        revoke_api_key(UnitOfWork(factory, actor=SYSTEM), created.id)


def request_mix(factory: sessionmaker[Session], count: int, seed: int = 7) -> list[Request]:
    """`count` requests, the kinds in turn: single deals, first pages with and without filters, deep pages."""
    rng = random.Random(seed)
    with factory() as session:
        ids = session.scalars(select(Opportunity.id).order_by(Opportunity.id)).all()
        sample = session.execute(
            select(Opportunity.pipeline_id, Opportunity.stage_id, Opportunity.owner_id, User.team_id)
            .join(User, User.id == Opportunity.owner_id)
            .where(Opportunity.status == "open")
            .limit(1)
        ).first()
    filters: list[dict[str, Any]] = [
        {"status": "open"},
        {"status": "won", "close_from": "2025-01-01", "amount_min": 10_000},
    ]
    if sample is not None:
        filters.append({"pipeline_id": sample.pipeline_id, "stage_id": sample.stage_id})
        filters.append({"owner_id": sample.owner_id, "status": "open"})
        if sample.team_id:
            filters.append({"team_id": sample.team_id, "status": "open"})
    kinds = {
        "GET /opportunities/{id}": lambda: f"{BASE}/{rng.choice(ids)}",
        "GET /opportunities?limit=50": lambda: f"{BASE}?limit=50",
        "GET /opportunities?limit=50&<Filter>": lambda: f"{BASE}?{urlencode({'limit': 50} | rng.choice(filters))}",
        "GET /opportunities?limit=50&cursor=<tief>": lambda: (
            f"{BASE}?{urlencode({'limit': 50, 'cursor': encode_cursor(rng.choice(ids))})}"
        ),
    }
    names = list(kinds)
    return [Request(kind, kinds[kind]()) for kind in (names[n % len(names)] for n in range(count))]


Sample = tuple[str, float, bool]  # request kind, seconds, answered with 200 and a JSON object


def _client(
    port: int, key: str, requests: list[Request], interval: float | None, start: threading.Barrier, out: list[Sample]
) -> None:
    """Send `requests` one after another; with `interval`, each at its scheduled time instead of right away.

    A paced request's latency counts from its scheduled time, so a slow answer that delays the next
    request shows up in that request's latency too (no "coordinated omission").
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    start.wait()
    began = time.perf_counter()
    if interval:
        began += random.uniform(0, interval)  # clients do not fire in lockstep
    for number, request in enumerate(requests):
        started = time.perf_counter()
        if interval:
            scheduled = began + number * interval
            if scheduled > started:
                time.sleep(scheduled - started)
            started = scheduled
        connection.request("GET", request.path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        out.append((request.kind, time.perf_counter() - started, response.status == 200 and body[:1] == b"{"))
    connection.close()


def load(
    port: int, key: str, requests: list[Request], clients: int, *, rate: float | None = None
) -> tuple[list[Latencies], float]:
    """Run `requests` spread over `clients` threads, each on its own keep-alive connection.

    Without `rate` every client sends its next request as soon as the answer is in (the server's
    saturation); with `rate` (requests per second over all clients) they send at that pace.
    """
    shares = [requests[n::clients] for n in range(clients)]
    outputs: list[list[Sample]] = [[] for _ in shares]
    start = threading.Barrier(clients + 1)
    interval = clients / rate if rate else None
    threads = [
        threading.Thread(target=_client, args=(port, key, share, interval, start, out), daemon=True)
        for share, out in zip(shares, outputs, strict=True)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    samples = [sample for out in outputs for sample in out]
    if len(samples) != len(requests):
        raise SystemExit(f"Nur {len(samples)} von {len(requests)} Anfragen beantwortet.")
    results = []
    for kind in dict.fromkeys(r.kind for r in requests):
        mine = [s for s in samples if s[0] == kind]
        results.append(Latencies(kind, [s[1] for s in mine if s[2]], sum(1 for s in mine if not s[2])))
    return results, seconds


def run(
    url: str,
    backend: str,
    size: str,
    *,
    clients: int = CLIENTS,
    requests: int = REQUESTS,
    workers: int | None = None,
    rates: tuple[float, ...] = RATES,
    runs: int = RUNS,
) -> list[Measurement]:
    """Measure the API on the (seeded) database `url`: at saturation (`runs` times; each figure is the median of
    the runs, each run is printed) and at each paced `rates`.

    No measurements when the database holds no opportunities.
    """
    load_all()  # the key's scope is a permission the sales package registers
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            deals = session.scalar(select(func.count()).select_from(Opportunity)) or 0
        if not deals:
            print("  API-Benchmark übersprungen: keine Verkaufschancen in der Datenbank.", flush=True)
            return []
        mix, warm_up = request_mix(factory, requests), request_mix(factory, min(400, requests), seed=11)
        workers = workers or 2 * (os.cpu_count() or 1)  # as `manage.py serve` starts it
        print(f"  API: {clients} Clients, {workers} Worker, {fmt_number(deals)} Verkaufschancen …", flush=True)
        measurements = []
        with benchmark_key(factory) as key, api_server(url, workers=workers) as port:
            load(port, key, warm_up, clients)
            saturated = [_saturated_run(port, key, mix, clients, number, runs) for number in range(1, runs + 1)]
            median_of = f"Median aus {runs} Läufen" if runs > 1 else "ein Lauf"
            setting = f"API {clients} Clients, ohne Pause ({median_of})"
            measurements += _report(backend, size, setting, [results for results, _ in saturated])
            label = f"API {clients} Clients: Durchsatz ohne Pause ({workers} Worker, {median_of})"
            throughput = statistics.median(rate for _, rate in saturated)
            measurements.append(Measurement(backend, size, label, throughput, "Anfragen/s"))
            for rate in rates:
                paced = mix[: int(rate * PACED_SECONDS)]  # the mix alternates the kinds: every prefix is balanced
                results, _ = load(port, key, paced, clients, rate=rate)
                setting = f"API {clients} Clients, {fmt_number(rate)} Anfragen/s"
                measurements += _report(backend, size, setting, [results])
        return measurements
    finally:
        engine.dispose()


def _saturated_run(
    port: int, key: str, mix: list[Request], clients: int, number: int, runs: int
) -> tuple[list[Latencies], float]:
    """One back-to-back run: its latencies and throughput, printed as they come (the spread between runs)."""
    results, seconds = load(port, key, mix, clients)
    p95 = ", ".join(f"{r.kind} {fmt_number(r.percentile(95), digits=1)}" for r in results)
    throughput = len(mix) / seconds
    print(f"  Lauf {number}/{runs}: {fmt_number(throughput)} Anfragen/s; p95 in ms: {p95}", flush=True)
    return results, throughput


def _report(backend: str, size: str, setting: str, runs: list[list[Latencies]]) -> list[Measurement]:
    """Per request kind p50/p95/p99; over several runs of the same mix, the median of each run's percentile."""
    measurements = []
    for kind_runs in zip(*runs, strict=True):
        for latencies in kind_runs:
            if latencies.errors:
                raise SystemExit(f"{latencies.kind}: {latencies.errors} Anfragen ohne Antwort 200.")
        for p in (50, 95, 99):
            scenario = f"{setting}: {kind_runs[0].kind} p{p}"
            value = statistics.median(latencies.percentile(p) for latencies in kind_runs)
            measurements.append(Measurement(backend, size, scenario, value, "ms"))
    return measurements


def database(backend: str, args: argparse.Namespace) -> AbstractContextManager[str]:
    return sqlite_database(keep=args.keep) if backend == "sqlite" else postgres_database(args.postgres_url)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--size", choices=("small", "medium", "large"), default="large")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--url", help="vorhandene Datenbank messen (ohne neue Demodaten)")
    parser.add_argument("--postgres-url", default=os.environ.get("CRM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--workers", type=int, help="uvicorn-Worker (Standard: zwei je CPU-Kern)")
    parser.add_argument("--runs", type=int, default=RUNS, help="Läufe ohne Pause, berichtet wird der Median")
    parser.add_argument(
        "--rate", type=float, action="append", help=f"gedrosselter Lauf, Anfragen/s (mehrfach; Standard: {RATES})"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="SQLite-Datei nach dem Lauf behalten")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    options: dict[str, Any] = {
        "clients": args.clients,
        "requests": args.requests,
        "workers": args.workers,
        "runs": args.runs,
    }
    options["rates"] = tuple(args.rate) if args.rate else RATES
    results: list[Measurement] = []
    if args.url:
        results = run(args.url, make_url(normalise_url(args.url)).get_backend_name(), "vorhanden", **options)
    for backend in () if args.url else _backends(args):
        with database(backend, args) as url:
            engine = create_db_engine(url)
            try:
                print(f"{backend} / {args.size}: Demodaten …", flush=True)
                print("  " + seed_demo(make_session_factory(engine), size=args.size, seed=args.seed).describe())
            finally:
                engine.dispose()
            results += run(url, backend, args.size, **options)
    print(f"\nZiel: p95 < {fmt_number(TARGET_P95_MS)} ms")
    width = max((len(m.scenario) for m in results), default=0)
    for m in results:
        print(f"{m.backend:<11} {m.size:<9} {m.scenario:<{width}}  {m.formatted():>16}")


def _backends(args: argparse.Namespace) -> list[str]:
    wanted = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in wanted and not postgres_reachable(args.postgres_url):
        print(f"PostgreSQL nicht erreichbar ({args.postgres_url}) – übersprungen.")
        wanted.remove("postgresql")
    return wanted


if __name__ == "__main__":
    main()
