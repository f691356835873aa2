"""Deliver outbox events to in-process subscribers: `python -m jobs.dispatch_events [--loop]`.

Several instances may run: each subscriber's cursor row is locked while it is advanced, and
handlers are idempotent, so a crash between handler and commit only repeats a delivery.
"""

from __future__ import annotations

import argparse
import time

from core.database import session_factory
from core.events import dispatch_pending
from core.uow import utc_now

POLL_SECONDS = 2.0


def run(*, loop: bool = False) -> int:
    factory = session_factory()
    delivered = 0
    while True:
        report = dispatch_pending(factory, now=utc_now())
        delivered += report.delivered
        for name in report.failed:
            print(f"Zustellung an {name} fehlgeschlagen; neuer Versuch mit Wartezeit.", flush=True)
        if not loop:
            print(f"{report.delivered} Zustellung(en).", flush=True)
            return delivered
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", action="store_true")
    run(loop=parser.parse_args().loop)
