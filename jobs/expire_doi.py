"""Close double opt-in requests past their expiry: `python -m jobs.expire_doi [--loop]`.

Each expired request gets the ledger entry `abgelaufen` and the event crm.consent.expired. Safe when two
instances run at once: the consent chain's head row serialises the ledger appends, and a request
already closed by the other instance is no longer pending. Cron: `*/15 * * * * python -m jobs.expire_doi`.
"""

from __future__ import annotations

import argparse
import time

from core.capabilities import load_all
from core.consent.doi import expire_requests
from core.database import session_factory
from core.permissions import SYSTEM
from core.uow import UnitOfWork

POLL_SECONDS = 300.0


def run(*, loop: bool = False) -> int:
    load_all()
    factory = session_factory()
    closed = 0
    while True:
        count = expire_requests(UnitOfWork(factory, actor=SYSTEM))
        closed += count
        if not loop:
            print(f"{count} Double-Opt-in-Anfrage(n) abgelaufen.", flush=True)
            return closed
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", action="store_true")
    run(loop=parser.parse_args().loop)
