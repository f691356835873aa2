"""Send the queued e-mails that are due: `python -m jobs.send_mail [--loop]`.

Through SMTP when CRM_SMTP_HOST is set, else as `.eml` files under data/outbox/. Several instances
may run at once: each message is claimed under a lease, so none is sent twice, and a message whose
worker crashed is picked up again when its lease has run out.
"""

from __future__ import annotations

import argparse
import time

from core.capabilities import load_all
from core.database import session_factory
from core.email import DeliveryReport, backend_from_settings, deliver_due
from core.settings import get_settings
from core.uow import utc_now

POLL_SECONDS = 5.0


def summary(report: DeliveryReport) -> str:
    return (
        f"{report.sent} gesendet, {report.retrying} neuer Versuch geplant, {report.failed} endgültig fehlgeschlagen, "
        f"{report.blocked} gesperrt (Einwilligung)."
    )


def run(*, loop: bool = False) -> int:
    load_all()
    factory = session_factory()
    backend = backend_from_settings(get_settings())
    sent = 0
    while True:
        report = deliver_due(factory, now=utc_now(), backend=backend)
        sent += report.sent
        if not loop:
            print(summary(report), flush=True)
            return sent
        if report.processed:
            print(summary(report), flush=True)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", action="store_true", help="alle paar Sekunden erneut prüfen")
    run(loop=parser.parse_args().loop)
