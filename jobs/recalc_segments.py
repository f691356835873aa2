"""Recalculate segment membership: `python -m jobs.recalc_segments [--segment ID] [--all] [--incremental]`.

Without options every segment is recalculated (`--all`), in dependency order. `--incremental` re-evaluates only
the contacts touched by events since the last run (falls back to all when there is no cursor yet or too much
changed). One line on stdout; exit 0 on success, 1 when a segment failed (named on stderr), 2 on wrong usage.

Safe when two instances start at once: a lease in `app_settings` (claimed under a row lock) lets one run, the
other prints "läuft bereits" and exits 0. A crashed run's lease runs out after 30 minutes; a long run renews it
before each segment. Cron and systemd timer examples: docs/architecture.md, section "Segments".
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import uuid
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.capabilities import load_all
from core.database import session_factory
from core.errors import Conflict, DomainError
from core.formatting import fmt_datetime, fmt_number
from core.permissions import SYSTEM
from core.segments.insights import refresh_due_reach
from core.segments.recalc import (
    RecalcReport,
    claim_lease,
    error_text,
    recalc_all,
    recalc_touched,
    recalculate,
    release_lease,
)
from core.uow import Clock, UnitOfWork, utc_now

FAILED = 1


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _keep_lease(uow: UnitOfWork, holder: str) -> None:
    if claim_lease(uow, holder=holder).holder != holder:
        raise Conflict("Die Sperre der Segment-Neuberechnung ist abgelaufen und gehört jetzt einem anderen Lauf.")


def _work(uow: UnitOfWork, holder: str, segment_id: int | None, incremental: bool) -> tuple[int, str]:
    if segment_id is not None:
        try:
            view = recalculate(uow, segment_id, reason="manual")
        except DomainError as exc:
            return FAILED, f"Segment {segment_id}: {exc.message}"
        line = (
            f"Segment {view.segment_id} „{view.segment_name}“ neu berechnet: {fmt_number(view.size)} Mitglieder "
            f"({fmt_number(view.joined)} eingetreten, {fmt_number(view.left)} ausgetreten)."
        )
        return 0, line
    heartbeat = partial(_keep_lease, uow, holder)
    report: RecalcReport = (
        recalc_touched(uow, heartbeat=heartbeat) if incremental else recalc_all(uow, heartbeat=heartbeat)
    )
    if not incremental:  # a full run also refreshes the reach snapshots of changed or day-old segments
        reach = refresh_due_reach(uow, report, heartbeat=heartbeat)
        if not reach.ok:
            return FAILED, f"{report.describe()} {reach.describe()}"
    return (0 if report.ok else FAILED), report.describe()


def run(
    *,
    segment_id: int | None = None,
    incremental: bool = False,
    factory: sessionmaker[Session] | None = None,
    clock: Clock = utc_now,
    holder: str | None = None,
) -> int:
    """Run once under the lease; prints one line (errors on stderr) and returns the exit code."""
    load_all()
    uow = UnitOfWork(factory or session_factory(), actor=SYSTEM, clock=clock)
    holder = holder or holder_name()
    lease = claim_lease(uow, holder=holder)
    if lease.holder != holder:
        until = fmt_datetime(lease.until) if lease.until else "?"
        print(f"Neuberechnung der Segmente läuft bereits ({lease.holder}, Sperre bis {until}); nichts zu tun.")
        return 0
    try:
        code, line = _work(uow, holder, segment_id, incremental)
    except DomainError as exc:
        code, line = FAILED, exc.message
    except SQLAlchemyError as exc:
        code, line = FAILED, error_text(exc)
    finally:
        release_lease(uow, holder=holder)
    print(line if code == 0 else f"Fehler: {line}", file=sys.stdout if code == 0 else sys.stderr, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.recalc_segments", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--segment", type=int, metavar="ID", help="nur dieses Segment")
    which.add_argument("--all", action="store_true", help="alle Segmente in Abhängigkeitsreihenfolge (Standard)")
    which.add_argument("--incremental", action="store_true", help="nur Kontakte mit Ereignissen seit dem letzten Lauf")
    args = parser.parse_args(argv)
    return run(segment_id=args.segment, incremental=args.incremental)


if __name__ == "__main__":
    sys.exit(main())
