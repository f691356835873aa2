"""`python manage.py gdpr …`: data-subject requests from the command line (wired into manage.py).

request · list · show · export · erase · document · verify · record. The CLI acts as the system actor.
Exit codes: 0 success, 1 error, refused step, broken chain or an erasure that left residues.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from core.gdpr.requests import LogView, RequestView
    from core.uow import UnitOfWork

gdpr_app = typer.Typer(
    no_args_is_help=True, help="Betroffenenanfragen (DSGVO): Eingang, Auskunft, Löschung, Prüfkette, Verzeichnis."
)

LIGHT_WORDS = {"green": "grün", "yellow": "gelb", "red": "rot"}
DOCUMENT_KINDS = {"certificate": "Löschprotokoll", "export": "Auskunftspaket", "record": "Verzeichnis"}
LOG_ACTIONS = {
    "received": "Eingegangen",
    "identity_checked": "Identität geprüft",
    "assigned": "Zugewiesen",
    "subject_confirmed": "Datensätze der Person bestätigt",
    "extended": "Frist verlängert",
    "completed": "Abgeschlossen",
    "rejected": "Abgelehnt",
    "erased": "Gelöscht",
    "verified": "Löschung geprüft",
    "document_export": "Auskunftspaket erstellt",
    "document_certificate": "Löschprotokoll gespeichert",
}


def _system_uow() -> UnitOfWork:
    from core.database import session_factory
    from core.permissions import SYSTEM
    from core.settings import get_settings
    from core.uow import UnitOfWork

    return UnitOfWork(session_factory(get_settings().database_url), actor=SYSTEM)


def _today() -> dt.date:
    from core.gdpr.deadlines import received_on
    from core.uow import utc_now

    return received_on(utc_now())


def _received_at(value: str | None) -> dt.datetime | None:
    """ISO date (the day in Berlin) or date and time (without zone: Berlin time)."""
    from core.gdpr.deadlines import BERLIN
    from manage import fail

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--received-at: „{value}“ ist kein Datum (JJJJ-MM-TT) oder Zeitpunkt (JJJJ-MM-TTTHH:MM).")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BERLIN)


def _deadline(due_on: dt.date, light: str, days_left: int | None) -> str:
    """Due date with its traffic light in words, e.g. "02.03.2026 (gelb, noch 5 Tage)"; closed: the date only."""
    from core.formatting import fmt_date

    due = fmt_date(due_on)
    if light not in LIGHT_WORDS or days_left is None:
        return due
    word = LIGHT_WORDS[light]
    if days_left < 0:
        return f"{due} ({word}, seit {-days_left} {'Tag' if days_left == -1 else 'Tagen'} überfällig)"
    if days_left == 0:
        return f"{due} ({word}, heute fällig)"
    return f"{due} ({word}, noch {days_left} {'Tag' if days_left == 1 else 'Tage'})"


def _view_deadline(view: RequestView) -> str:
    today = _today()
    return _deadline(view.due_on, view.light(today), (view.due_on - today).days if view.is_open else None)


def _exact_contacts(uow: UnitOfWork, email: str, phone: str | None) -> list[int]:
    """Contacts whose e-mail address (else phone number) matches the requester's exactly."""
    from core.gdpr.discovery import find_candidates

    candidates = [c for c in find_candidates(uow, email=email, phone=phone) if c.kind == "contact"]
    by_email = [c.id for c in candidates if "E-Mail" in c.matched_on]
    return by_email or [c.id for c in candidates if "Telefon" in c.matched_on]


@gdpr_app.command("request")
def request_command(
    type: str = typer.Option(..., "--type", help="access, rectification, erasure, restriction, portability, objection"),
    email: str = typer.Option(..., help="E-Mail-Adresse der anfragenden Person"),
    name: str | None = typer.Option(None, help="Name der anfragenden Person"),
    phone: str | None = typer.Option(None, help="Telefonnummer der anfragenden Person"),
    channel: str = typer.Option("email", help="Eingangsweg: email, letter, phone, web_form, in_person"),
    description: str | None = typer.Option(None, help="Was die Person verlangt (Wortlaut oder Zusammenfassung)"),
    received_at: str | None = typer.Option(
        None, help="Eingang, z. B. 2026-01-31 oder 2026-01-31T16:45 (Berliner Zeit; Standard: jetzt)"
    ),
    identity_verified_by: str | None = typer.Option(None, help="Wer die Identität bestätigt hat (Name)"),
    identity_method: str = typer.Option("known_address", help="known_address, callback, confirmation_link, …"),
) -> None:
    """Record a request; prints only its number on stdout (details on stderr) so scripts can capture it."""
    from core.formatting import fmt_datetime
    from core.gdpr.requests import confirm_subject, receive_request, record_identity
    from core.gdpr.vocabulary import CHANNELS, IDENTITY_METHODS, label, type_label
    from manage import fail, one_line_errors, require_migrated

    if identity_verified_by is not None and identity_method not in IDENTITY_METHODS:
        fail(f"--identity-method: erlaubt sind {', '.join(IDENTITY_METHODS)}.")
    received = _received_at(received_at)
    with one_line_errors():
        require_migrated()
        view = receive_request(
            _system_uow(), type=type, channel=channel, requester_name=name, requester_email=email,
            requester_phone=phone, description=description, received_at=received,
        )
        typer.echo(view.id)
        details = [
            f"Anfrage {view.id}: {type_label(view.type)}, eingegangen am {fmt_datetime(view.received_at)} "
            f"per {label(CHANNELS, view.channel)}; Frist: {_view_deadline(view)}."
        ]
        if identity_verified_by is not None:
            record_identity(
                _system_uow(), view.id, method=identity_method, result="confirmed", checked_by=identity_verified_by
            )
            method = label(IDENTITY_METHODS, identity_method)
            details.append(f"Identität bestätigt durch {identity_verified_by} ({method}).")
        contacts = _exact_contacts(_system_uow(), email, phone)
        if len(contacts) == 1:
            confirm_subject(_system_uow(), view.id, contact_ids=contacts)
            details.append(f"Betroffene Person: Kontakt {contacts[0]}.")
        elif contacts:
            details.append(
                f"{len(contacts)} Kontakte passen zur Anfrage (Nummern {', '.join(map(str, contacts))}); "
                "die Zuordnung trifft die/der Datenschutzbeauftragte in der Anfrage."
            )
        else:
            details.append("Kein Kontakt mit dieser E-Mail-Adresse oder Telefonnummer; die Zuordnung bleibt offen.")
    for line in details:
        typer.echo(line, err=True)


@gdpr_app.command("list")
def list_command(open_only: bool = typer.Option(False, "--open", help="nur offene Anfragen")) -> None:
    """Requests, newest first, with due date and traffic light (grün, gelb: höchstens 7 Tage, rot: überfällig)."""
    import pandas as pd

    from core.formatting import fmt_date
    from core.gdpr.requests import list_requests
    from core.gdpr.vocabulary import REQUEST_TYPES, STATUSES, label
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        frame = list_requests(_system_uow(), open_only=open_only)
    if frame.empty:
        typer.echo("Keine offenen Anfragen." if open_only else "Keine Anfragen.")
        return
    rows = [("Nr.", "Art", "Status", "Eingang", "Frist", "Anfragende Person", "Zuständig")]
    rows += [
        (
            str(r.id), REQUEST_TYPES[r.type].label_de, label(STATUSES, r.status), fmt_date(r.received_at),
            _deadline(r.due_on, r.light, None if pd.isna(r.days_left) else int(r.days_left)),
            r.requester or "", r.assignee or "–",
        )
        for r in frame.itertuples()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _log_line(entry: LogView) -> str:
    from core.formatting import fmt_datetime

    details = ", ".join(f"{key}={value}" for key, value in entry.details.items())
    action = LOG_ACTIONS.get(entry.action, entry.action)
    return f"  {entry.id:>6}  {fmt_datetime(entry.occurred_at)}  {action:<32} {entry.actor_name}" + (
        f"  ({details})" if details else ""
    )


@gdpr_app.command("show")
def show_command(request_id: int = typer.Option(..., help="Nummer der Anfrage")) -> None:
    """One request: requester, deadline, identity check, confirmed records, documents and its log."""
    from core.formatting import fmt_datetime
    from core.gdpr.documents import list_documents
    from core.gdpr.requests import get_request, request_log
    from core.gdpr.vocabulary import CHANNELS, STATUSES, label, type_label
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        view = get_request(_system_uow(), request_id)
        log = request_log(_system_uow(), request_id)
        documents = list_documents(_system_uow(), request_id)
    requester = ", ".join(v for v in (view.requester_name, view.requester_email, view.requester_phone) if v)
    lines: list[tuple[str, str | None]] = [
        ("Status", label(STATUSES, view.status)),
        ("Eingang", f"{fmt_datetime(view.received_at)} per {label(CHANNELS, view.channel)}"),
        ("Frist", _view_deadline(view)),
        ("Verlängert", f"bis {view.due_on:%d.%m.%Y}: {view.extension_reason}" if view.extended else None),
        ("Anfragende Person", requester),
        ("Anliegen", view.description),
        ("Identität", _identity(view)),
        ("Datensätze", _subject(view)),
        ("Zuständig", view.assignee_name),
        ("Ergebnis", view.outcome),
        ("Ablehnungsgrund", view.rejection_reason),
    ]
    typer.echo(f"Anfrage {view.id}: {type_label(view.type)}")
    for caption, value in lines:
        if value:
            typer.echo(f"  {caption + ':':<19}{value}")
    if documents:
        typer.echo("Dokumente:")
        for doc in documents:
            stored = "gespeichert" if doc.stored else "nur protokolliert"
            kind = DOCUMENT_KINDS.get(doc.kind, doc.kind)
            typer.echo(f"  {doc.id:>6}  {fmt_datetime(doc.created_at)}  {kind:<15} {doc.file_name} ({stored})")
    typer.echo("Protokoll:")
    for entry in log:
        typer.echo(_log_line(entry))


def _identity(view: RequestView) -> str:
    from core.formatting import fmt_datetime
    from core.gdpr.vocabulary import IDENTITY_METHODS, IDENTITY_RESULTS, label

    if view.identity_result is None:
        return "noch nicht geprüft"
    result, method = label(IDENTITY_RESULTS, view.identity_result), label(IDENTITY_METHODS, view.identity_method)
    note = f"; {view.identity_note}" if view.identity_note else ""
    return f"{result} – {method} ({view.identity_checked_by}, {fmt_datetime(view.identity_checked_at)}){note}"


def _subject(view: RequestView) -> str:
    parts = []
    if view.contact_ids:
        parts.append(f"Kontakte {', '.join(map(str, view.contact_ids))}")
    if view.account_ids:
        parts.append(f"Firmen {', '.join(map(str, view.account_ids))}")
    return "; ".join(parts) or "noch nicht bestätigt"


def _writable(out: Path) -> None:
    from manage import fail

    if not out.parent.is_dir():
        fail(f"Das Verzeichnis {out.parent} gibt es nicht.")
    if out.is_dir():
        fail(f"{out} ist ein Verzeichnis; bitte einen Dateinamen angeben.")


@gdpr_app.command("export")
def export_command(
    request_id: int = typer.Option(..., help="Nummer der Auskunfts- oder Übertragbarkeitsanfrage"),
    out: Path = typer.Option(..., help="Zieldatei, z. B. auskunft.zip"),
    portability: bool | None = typer.Option(
        None, "--portability/--no-portability",
        help="maschinenlesbare Daten nach Art. 20 (Standard: nach Art der Anfrage)",
    ),
) -> None:
    """Build the Art. 15 (or Art. 20) package; the download is logged in the request."""
    from core.formatting import fmt_number
    from core.gdpr.export import build_export
    from manage import one_line_errors, require_migrated

    _writable(out)
    with one_line_errors():
        require_migrated()
        package = build_export(_system_uow(), request_id, portability=portability)
        out.write_bytes(package.data)
    records, datasets = fmt_number(sum(package.counts.values())), len(package.counts)
    typer.echo(f"Auskunft gespeichert: {out} ({fmt_number(len(package.data))} Bytes)")
    typer.echo(f"SHA-256: {package.sha256}")
    typer.echo(f"Inhalt: {records} Datensätze aus {datasets} Datenbeständen ({package.file_name})")


@gdpr_app.command("erase")
def erase_command(
    request_id: int = typer.Option(..., help="Nummer der Löschanfrage (offen, Identität bestätigt)"),
    full_sweep: bool = typer.Option(
        False, "--full-sweep", help="jede Textspalte jeder Tabelle durchsuchen (PostgreSQL: etwa 1 Minute je Mio. Kontakte)"
    ),
) -> None:
    """Art. 17 erasure of the confirmed records; exit 1 when the verification still finds personal data."""
    from core.formatting import fmt_number
    from core.gdpr.erasure import erase
    from core.gdpr.registry import DATASETS
    from manage import fail, one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        result = erase(_system_uow(), request_id, full_sweep=full_sweep)
    typer.echo(f"Anfrage {result.request_id}: Löschung ausgeführt.")
    for key, count in result.counts.items():
        dataset = DATASETS.get(key)
        typer.echo(f"  {dataset.label_de if dataset else key}: {fmt_number(count)}")
    if result.holds:
        kept = fmt_number(result.holds)
        typer.echo(f"Aufbewahrungspflicht: {kept} Datensätze bleiben ohne Personenbezug bis zum Fristende gesperrt.")
    if result.certificate_id is not None:
        typer.echo(f"Löschprotokoll: Dokument {result.certificate_id} (speichern mit: python manage.py gdpr document "
                   f"--document-id {result.certificate_id} --out loeschprotokoll.pdf)")
    if not result.complete:
        found = "; ".join(result.residues) or "eine Prüfkette ist nicht intakt (siehe Löschprotokoll)"
        fail(f"Prüfung nach der Löschung unvollständig: {found}")
    typer.echo("Prüfung nach der Löschung: keine personenbezogenen Daten der Person mehr gefunden, Prüfketten intakt.")


@gdpr_app.command("document")
def document_command(
    document_id: int = typer.Option(..., help="Nummer des Dokuments (siehe gdpr show)"),
    out: Path = typer.Option(..., help="Zieldatei"),
) -> None:
    """Save a stored document of a request (the deletion certificate)."""
    from core.formatting import fmt_number
    from core.gdpr.documents import document_content
    from manage import one_line_errors, require_migrated

    _writable(out)
    with one_line_errors():
        require_migrated()
        file_name, content = document_content(_system_uow(), document_id)
        out.write_bytes(content)
    typer.echo(f"{file_name} gespeichert: {out} ({fmt_number(len(content))} Bytes)")


@gdpr_app.command("verify")
def verify_command() -> None:
    """Walk the request log's hash chain: exit 0 intact, 1 with the first broken entry named."""
    from core.database import session_factory
    from core.gdpr.requests import verify_log
    from core.settings import get_settings
    from manage import fail, one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        with session_factory(get_settings().database_url)() as session:
            result = verify_log(session)
    if not result.ok:
        fail(f"Anfragenprotokoll: {result.describe()}")
    typer.echo(f"Anfragenprotokoll: {result.describe()}")


@gdpr_app.command("record")
def record_command(out: Path = typer.Option(..., help="Zieldatei, z. B. verzeichnis.pdf")) -> None:
    """The record of processing activities (Art. 30 DSGVO) as PDF, built from the personal-data registry."""
    from core.formatting import fmt_number
    from core.gdpr.documents import processing_record_pdf
    from manage import one_line_errors, require_migrated

    _writable(out)
    with one_line_errors():
        require_migrated()
        pdf = processing_record_pdf(_system_uow())
        out.write_bytes(pdf)
    typer.echo(f"Verzeichnis von Verarbeitungstätigkeiten gespeichert: {out} ({fmt_number(len(pdf))} Bytes)")

