"""Operator CLI: `python manage.py --help`. Every command honours CRM_DATABASE_URL and exits
non-zero with a one-line error on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="CRM-Suite: Betrieb und Verwaltung.")
db_app = typer.Typer(no_args_is_help=True, help="Datenbank.")
demo_app = typer.Typer(no_args_is_help=True, help="Demodaten.")
users_app = typer.Typer(no_args_is_help=True, help="Benutzer.")
apikeys_app = typer.Typer(no_args_is_help=True, help="API-Schlüssel.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit-Protokoll.")
events_app = typer.Typer(no_args_is_help=True, help="Ereignisse (Outbox).")
dedupe_app = typer.Typer(no_args_is_help=True, help="Dublettenprüfung.")
for sub, name in (
    (dedupe_app, "dedupe"),
    (db_app, "db"),
    (demo_app, "demo"),
    (users_app, "users"),
    (apikeys_app, "apikeys"),
    (audit_app, "audit"),
    (events_app, "events"),
):
    app.add_typer(sub, name=name)

from cli_consent import consent_app, mail_app  # noqa: E402
from cli_gdpr import gdpr_app  # noqa: E402
from cli_imports import import_command  # noqa: E402
from cli_segments import segments_app  # noqa: E402
from core.capabilities import load_all  # noqa: E402

load_all()

app.command("import")(import_command)
app.add_typer(consent_app, name="consent")
app.add_typer(mail_app, name="mail")
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(segments_app, name="segments")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Fehler: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Domain errors and infrastructure failures become one line on stderr and exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.errors import DomainError

    try:
        yield
    except DomainError as exc:
        fail(exc.message)
    except SQLAlchemyError as exc:
        fail(f"Datenbank: {str(exc.orig if hasattr(exc, 'orig') and exc.orig else exc).splitlines()[0]}")
    except OSError as exc:
        fail(str(exc))


def database_url() -> str:
    from core.settings import get_settings

    return get_settings().database_url


def require_migrated() -> None:
    """Read-only commands refuse an empty or outdated database with a hint instead of a SQL error."""
    from core.database import session_factory
    from db.migrate import current_revision, head_revision

    url = database_url()
    with session_factory(url)().connection() as connection:
        current = current_revision(connection)
    if current != head_revision(url):
        fail("Die Datenbank ist nicht auf dem neuesten Stand – zuerst `python manage.py db upgrade` ausführen.")


def bootstrap() -> None:
    """Migrate and make sure an admin exists (its generated password is printed once)."""
    from core.database import session_factory
    from core.digests import refresh_contact_digests
    from core.settings import get_settings
    from core.users import ensure_admin
    from db.migrate import upgrade

    settings = get_settings()
    settings.resolved_secret_key()  # generated into data/secret.key on the first run when unset
    upgrade(settings.database_url)
    factory = session_factory(settings.database_url)
    with factory.begin() as session:
        refresh_contact_digests(session)
    generated = ensure_admin(factory, password=settings.admin_password)
    if generated:
        typer.echo(f"Erster Start: Benutzer 'admin' angelegt, Passwort (wird nur jetzt angezeigt): {generated}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (idempotent) and create the first admin."""
    with one_line_errors():
        bootstrap()
    typer.echo("Datenbank ist auf dem neuesten Stand.")


class Size(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


@demo_app.command("seed")
def demo_seed(
    size: Size = typer.Option(Size.small, help="small ≈ 2.000 Kontakte, medium ≈ 50.000, large = 1.000.000"),
    seed: int = typer.Option(42, help="Zufallsstartwert: gleiche Zahl, gleiche Daten"),
    if_empty: bool = typer.Option(False, "--if-empty", help="Nur wenn noch keine Firmen existieren"),
) -> None:
    """Generate realistic German B2B demo data (accounts, contacts, users, teams, change history)."""
    from core.database import session_factory
    from core.demo import seed_demo

    with one_line_errors():
        bootstrap()
        report = seed_demo(session_factory(database_url()), size=size.value, seed=seed, only_if_empty=if_empty)
    typer.echo(report.describe())


@users_app.command("create")
def users_create(
    username: str,
    role: str = typer.Option(..., help="admin, sales_manager, sales_rep, marketing, compliance, viewer"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Passwort von der Standardeingabe lesen"),
    display_name: str = typer.Option("", help="Anzeigename (Standard: Benutzername)"),
    email: str = typer.Option("", help="E-Mail-Adresse"),
) -> None:
    """Create a local user."""
    from core.database import session_factory
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork
    from core.users import create_user

    if not password_stdin:
        fail("Passwort fehlt: --password-stdin angeben und das Passwort über die Standardeingabe übergeben.")
    password = sys.stdin.readline().rstrip("\r\n")
    with one_line_errors():
        bootstrap()
        user = create_user(
            UnitOfWork(session_factory(database_url()), actor=SYSTEM),
            {"username": username, "display_name": display_name or username, "role": role, "email": email},
            password=password,
        )
    typer.echo(f"Benutzer {user.username} (ID {user.id}, Rolle {user.role.value}) angelegt.")


@apikeys_app.command("create")
def apikeys_create(name: str, scopes: str = typer.Option(..., help="z. B. accounts.read,contacts.write")) -> None:
    """Create an API key and print it once."""
    from core.apikeys import create_api_key
    from core.database import session_factory
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork

    with one_line_errors():
        bootstrap()
        created = create_api_key(UnitOfWork(session_factory(database_url()), actor=SYSTEM), name=name, scopes=scopes)
    typer.echo(created.key)
    typer.echo(f"API-Schlüssel „{created.name}“ ({', '.join(created.scopes)}) – wird nur jetzt angezeigt.", err=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit hash chain; exit 1 naming the first broken entry."""
    from core import audit
    from core.database import session_factory

    with one_line_errors():
        require_migrated()
        with session_factory(database_url())() as session:
            result = audit.verify_chain(session)
    if not result.ok:
        fail(result.describe())
    typer.echo(result.describe())


@events_app.command("tail")
def events_tail(
    limit: int = typer.Option(20, min=1, max=1000), name: str = typer.Option("", help="Präfix, z. B. crm.contact")
) -> None:
    """Show the most recent events (newest last)."""
    import json

    from core.database import session_factory
    from core.events import recent_events
    from core.formatting import fmt_datetime

    with one_line_errors():
        require_migrated()
        with session_factory(database_url())() as session:
            frame = recent_events(session, limit=limit, name_prefix=name or None)
    for row in reversed(list(frame.itertuples())):
        payload = json.dumps(row.payload, ensure_ascii=False)
        typer.echo(f"{row.id:>7}  {fmt_datetime(row.occurred_at)}  {row.name:<28} {row.entity}#{row.entity_id}  {payload}")
    if frame.empty:
        typer.echo("Keine Ereignisse.")


@events_app.command("dispatch")
def events_dispatch(loop: bool = typer.Option(False, help="Weiterlaufen und alle 2 s zustellen")) -> None:
    """Deliver pending events to in-process subscribers (at least once)."""
    from jobs.dispatch_events import run

    with one_line_errors():
        require_migrated()
        run(loop=loop)


@dedupe_app.command("scan")
def dedupe_scan(
    entity: str = typer.Option(..., help="contacts oder accounts"),
    threshold: float | None = typer.Option(None, help="Schwelle 0–1 (Standard: Einstellung der Admin-Seite)"),
    out: Path | None = typer.Option(None, help="CSV mit id_a,id_b,external_id_a,external_id_b,score"),
) -> None:
    """Compare all records of an entity, write the candidate pairs (a < b) and store them for review."""
    from core.database import session_factory
    from core.dedupe.scan import scan_duplicates
    from core.dedupe.settings import check_threshold, entity_of
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork

    with one_line_errors():
        entity_of(entity)
        if threshold is not None:
            check_threshold(threshold)
        require_migrated()
        uow = UnitOfWork(session_factory(database_url()), actor=SYSTEM)
        if out is None:
            report = scan_duplicates(uow, entity=entity, threshold=threshold)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                report = scan_duplicates(uow, entity=entity, threshold=threshold, out=handle)
    typer.echo(report.describe() + (f"; CSV: {out}" if out else ""))


@app.command("serve")
def serve(
    api_port: int = typer.Option(8000),
    ui_port: int = typer.Option(8501),
    api_workers: int = typer.Option(0, min=0, help="uvicorn-Worker der API (0: zwei je CPU-Kern)"),
) -> None:
    """Start the API (uvicorn), the Streamlit app, the event dispatcher, the mail sender and the DOI expiry job.

    Two API workers per core: with one per core, 16 keep-alive clients often end up unevenly on the workers
    (docs/performance.md, REST API)."""
    with one_line_errors():
        bootstrap()
    python = sys.executable
    workers = api_workers or 2 * (os.cpu_count() or 1)
    api = [python, "-m", "uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", str(api_port)]
    commands = {
        "API": [*api, "--workers", str(workers)],
        "UI": [
            python, "-m", "streamlit", "run", "app/main.py", "--server.port", str(ui_port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
        ],
        "Ereignisse": [python, "manage.py", "events", "dispatch", "--loop"],
        "Postausgang": [python, "manage.py", "mail", "send", "--loop"],
        "DOI-Ablauf": [python, "manage.py", "consent", "expire-doi", "--loop"],
    }
    processes = {label: subprocess.Popen(cmd) for label, cmd in commands.items()}
    typer.echo(f"CRM-Suite läuft: App http://localhost:{ui_port}  ·  API http://localhost:{api_port}/docs")
    _supervise(processes)


def _supervise(processes: dict[str, subprocess.Popen[Any]]) -> None:
    """Run until Ctrl+C/SIGTERM; if one process dies, stop the others and fail."""
    def stop(*_: object) -> None:
        for proc in processes.values():
            proc.terminate()
        for proc in processes.values():
            proc.wait(timeout=10)
        raise typer.Exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            for label, proc in processes.items():
                if proc.poll() is not None:
                    for other in processes.values():
                        if other.poll() is None:
                            other.terminate()
                    fail(f"{label} wurde beendet (Exit-Code {proc.returncode}).")
            time.sleep(1)
    except KeyboardInterrupt:
        stop()


def main() -> None:
    """Run the CLI; usage errors (unknown option, missing argument) also end in one line."""
    # Typer vendors click; its exception classes live in typer._click.
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        result = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(2)
    except UsageError as exc:
        typer.echo(f"Fehler: {exc.format_message()} (Hilfe: python manage.py --help)", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("Abgebrochen.", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
