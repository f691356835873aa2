"""`python manage.py gdpr …` through its real entry point (`manage.main`, in this process) against SQLite and PostgreSQL: intake with the due date and the
identity check, the Art. 15 package, the Art. 17 erasure and its refusals, the request log's verification
(also after tampering), list/show and the Art. 30 record."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.contacts import create_contact
from core.gdpr.deadlines import due_date
from core.gdpr.requests import RequestView, get_request, request_log
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.append_only import append_only_ddl, drop_append_only_ddl
from db.models import Contact, GdprLogEntry
from tests.integration.test_cli import Bootstrapped, Cli, one_line_error, open_factory
from tests.integration.test_cli import database, postgres_db, sqlite_db  # noqa: F401 - fixtures


def add_contact(cli: Cli, first: str, last: str, email: str) -> int:
    with open_factory(cli.url) as factory:
        values = {"first_name": first, "last_name": last, "email": email}
        return create_contact(UnitOfWork(factory, actor=SYSTEM), values).id


def request_view(cli: Cli, request_id: int) -> RequestView:
    with open_factory(cli.url) as factory:
        return get_request(UnitOfWork(factory, actor=SYSTEM), request_id)


@contextmanager
def session_of(cli: Cli) -> Iterator[Session]:
    with open_factory(cli.url) as factory, factory() as session:
        yield session


def new_request(cli: Cli, *args: str) -> int:
    result = cli("gdpr", "request", *args)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+\n", result.stdout), "stdout holds only the request id"
    return int(result.stdout)


def test_request_prints_only_the_id_and_records_the_statutory_due_date(database: Bootstrapped) -> None:
    cli = database.cli
    contact = add_contact(cli, "Ottilie", "Frist", "ottilie.frist@kunde.example")

    result = cli(
        "gdpr", "request", "--type", "access", "--email", "Ottilie.Frist@kunde.example", "--name", "Ottilie Frist",
        "--received-at", "2026-01-31T16:45",
    )
    assert result.returncode == 0, result.stderr
    request_id = int(result.stdout)
    view = request_view(cli, request_id)
    assert (view.type, view.status, view.channel) == ("access", "received", "email")
    assert view.received_at == dt.datetime(2026, 1, 31, 15, 45, tzinfo=dt.timezone.utc)
    assert view.due_on == dt.date(2026, 3, 2), "28 Feb 2026 is a Saturday"
    assert view.requester_name == "Ottilie Frist" and view.identity_result is None
    assert view.contact_ids == [contact], "exactly one contact has the address: it is the subject"
    assert "Frist: 02.03.2026 (rot" in result.stderr and f"Kontakt {contact}" in result.stderr

    now_id = new_request(cli, "--type", "objection", "--email", "niemand.bekannt@kunde.example", "--channel", "letter")
    now = request_view(cli, now_id)
    assert now.due_on == due_date(now.received_at) and now.channel == "letter" and now.contact_ids == []


def test_identity_verified_by_confirms_the_identity_and_several_matches_are_left_to_the_officer(
    database: Bootstrapped,
) -> None:
    cli = database.cli
    first = add_contact(cli, "Konrad", "Doppel", "konrad.doppel@kunde.example")
    second = add_contact(cli, "Konrad", "Doppel", "konrad.doppel@kunde.example")

    result = cli(
        "gdpr", "request", "--type", "portability", "--email", "konrad.doppel@kunde.example",
        "--identity-verified-by", "Dr. Andreas Neumann", "--identity-method", "callback",
    )
    assert result.returncode == 0, result.stderr
    view = request_view(cli, int(result.stdout))
    assert (view.status, view.identity_result, view.identity_method) == ("in_progress", "confirmed", "callback")
    assert view.identity_checked_by == "Dr. Andreas Neumann" and view.contact_ids == []
    assert f"2 Kontakte passen zur Anfrage (Nummern {first}, {second})" in result.stderr

    bad_method = cli("gdpr", "request", "--type", "access", "--email", "x@kunde.example",
                     "--identity-verified-by", "N", "--identity-method", "hunch")
    assert "--identity-method" in one_line_error(bad_method)
    bad_type = cli("gdpr", "request", "--type", "complaint", "--email", "x@kunde.example")
    assert "type: unbekannte Art" in one_line_error(bad_type)
    assert "keine gültige E-Mail-Adresse" in one_line_error(cli("gdpr", "request", "--type", "access", "--email", "x"))


def test_erase_refuses_other_types_and_unverified_requests(database: Bootstrapped) -> None:
    cli = database.cli
    email = "ruth.bleibt@kunde.example"
    contact = add_contact(cli, "Ruth", "Bleibt", email)
    access = new_request(cli, "--type", "access", "--email", email, "--identity-verified-by", "Dr. Neumann")
    unverified = new_request(cli, "--type", "erasure", "--email", email)

    not_erasure = one_line_error(cli("gdpr", "erase", "--request-id", str(access)))
    assert f"Anfrage {access} ist keine Löschanfrage" in not_erasure
    refused = one_line_error(cli("gdpr", "erase", "--request-id", str(unverified)))
    assert f"Anfrage {unverified}" in refused and "Identität" in refused and "nicht bestätigt" in refused
    assert "gibt es nicht" in one_line_error(cli("gdpr", "erase", "--request-id", "999999"))
    with session_of(cli) as session:
        assert session.get(Contact, contact) is not None
    assert request_view(cli, unverified).status == "received"


def test_export_writes_the_package_and_logs_its_checksum(database: Bootstrapped, tmp_path: Path) -> None:
    cli = database.cli
    email = "paula.paket@kunde.example"
    add_contact(cli, "Paula", "Paket", email)
    request_id = new_request(cli, "--type", "access", "--email", email, "--identity-verified-by", "Dr. Neumann")
    out = tmp_path / "auskunft.zip"

    result = cli("gdpr", "export", "--request-id", str(request_id), "--out", str(out))
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert f"SHA-256: {digest}" in result.stdout and str(out) in result.stdout
    with zipfile.ZipFile(out) as package:
        names = package.namelist()
        assert "data.json" in names and email.encode() in package.read("data.json")
    with open_factory(cli.url) as factory:
        log = request_log(UnitOfWork(factory, actor=SYSTEM), request_id)
    assert any(digest in str(entry.details) for entry in log), "the download is logged with its checksum"

    missing_dir = cli("gdpr", "export", "--request-id", str(request_id), "--out", str(tmp_path / "fehlt" / "a.zip"))
    assert "gibt es nicht" in one_line_error(missing_dir)


def test_erase_removes_the_person_verifies_and_keeps_the_certificate(database: Bootstrapped, tmp_path: Path) -> None:
    cli = database.cli
    email = "egon.weg@kunde.example"
    contact = add_contact(cli, "Egon", "Weg", email)
    request_id = new_request(cli, "--type", "erasure", "--email", email, "--name", "Egon Weg",
                             "--identity-verified-by", "Dr. Neumann")

    result = cli("gdpr", "erase", "--request-id", str(request_id), "--full-sweep")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Anfrage {request_id}: Löschung ausgeführt." in result.stdout
    assert "  Kontakte: 1" in result.stdout
    assert "keine personenbezogenen Daten der Person mehr gefunden" in result.stdout
    document_id = int(re.search(r"Löschprotokoll: Dokument (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    with session_of(cli) as session:
        assert session.get(Contact, contact) is None
    assert request_view(cli, request_id).status == "completed"

    again = one_line_error(cli("gdpr", "erase", "--request-id", str(request_id)))
    assert f"Anfrage {request_id} ist bereits abgeschlossen" in again
    pdf = tmp_path / "loeschprotokoll.pdf"
    saved = cli("gdpr", "document", "--document-id", str(document_id), "--out", str(pdf))
    assert saved.returncode == 0, saved.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and email.encode() not in pdf.read_bytes()
    shown = cli("gdpr", "show", "--request-id", str(request_id))
    assert shown.returncode == 0, shown.stderr
    assert "Gelöscht" in shown.stdout and "Löschung geprüft" in shown.stdout and "gespeichert" in shown.stdout
    assert cli("gdpr", "verify").returncode == 0


def test_list_and_show_give_the_operator_deadlines_and_the_log(database: Bootstrapped) -> None:
    cli = database.cli
    email = "lisa.liste@kunde.example"
    contact = add_contact(cli, "Lisa", "Liste", email)
    request_id = new_request(cli, "--type", "restriction", "--email", email, "--name", "Lisa Liste",
                             "--channel", "web_form", "--description", "Bitte keine Werbung bis zur Klärung.",
                             "--identity-verified-by", "Dr. Neumann")
    view = request_view(cli, request_id)

    listed = cli("gdpr", "list", "--open")
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split()[:3] == ["Nr.", "Art", "Status"]
    line = next(line for line in lines if line.startswith(f"{request_id} "))
    assert "Einschränkung" in line and "In Bearbeitung" in line and "Lisa Liste" in line
    assert f"{view.due_on:%d.%m.%Y} (grün, noch " in line

    shown = cli("gdpr", "show", "--request-id", str(request_id))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"Anfrage {request_id}: Einschränkung (Art. 18)")
    for expected in ("Webformular", "Lisa Liste, lisa.liste@kunde.example", "Bitte keine Werbung bis zur Klärung.",
                     "Bestätigt – Anfrage von der hinterlegten E-Mail-Adresse (Dr. Neumann", f"Kontakte {contact}",
                     "Eingegangen", "Identität geprüft", "Datensätze der Person bestätigt"):
        assert expected in shown.stdout, expected
    assert "gibt es nicht" in one_line_error(cli("gdpr", "show", "--request-id", "999999"))


def test_verify_names_a_tampered_log_entry(database: Bootstrapped) -> None:
    cli = database.cli
    request_id = new_request(cli, "--type", "access", "--email", "tamara.test@kunde.example")
    intact = cli("gdpr", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "Kette intakt" in intact.stdout

    with session_of(cli) as session:
        entry = session.scalars(select(GdprLogEntry.id).where(GdprLogEntry.request_id == request_id)).one()
        dialect = session.get_bind().dialect.name
        for statement in drop_append_only_ddl("gdpr_log_entries", dialect):
            session.execute(text(statement))
        session.execute(text("UPDATE gdpr_log_entries SET action = 'rejected' WHERE id = :id"), {"id": entry})
        session.commit()
    try:
        line = one_line_error(cli("gdpr", "verify"))
        assert f"Eintrag {entry}" in line and "verändert" in line
    finally:
        with session_of(cli) as session:
            session.execute(text("UPDATE gdpr_log_entries SET action = 'received' WHERE id = :id"), {"id": entry})
            for statement in append_only_ddl("gdpr_log_entries", session.get_bind().dialect.name):
                session.execute(text(statement))
            session.commit()
    assert cli("gdpr", "verify").returncode == 0


def test_record_writes_the_processing_record_pdf(database: Bootstrapped, tmp_path: Path) -> None:
    out = tmp_path / "verzeichnis.pdf"
    result = database.cli("gdpr", "record", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF") and str(out) in result.stdout
