"""`python manage.py consent …` through its real entry point (`manage.main`, in this process) against SQLite and PostgreSQL, with the confirmation
mail delivered to a real local SMTP server (aiosmtpd) through CRM_SMTP_HOST/CRM_SMTP_PORT."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from db.append_only import append_only_ddl, drop_append_only_ddl
from tests.integration.test_cli import Bootstrapped, open_factory, one_line_error
from tests.integration.test_cli import database, postgres_db, sqlite_db  # noqa: F401 - fixtures
from tests.smtp import SmtpServer

LINK = re.compile(r"https?://\S+/p/doi/[\w.\-]+")


def smtp_env(server: SmtpServer) -> dict[str, str]:
    return {"CRM_SMTP_HOST": server.host, "CRM_SMTP_PORT": str(server.port), "CRM_SMTP_STARTTLS": "false"}


def test_request_doi_mails_the_link_and_show_reports_the_pending_state(
    database: Bootstrapped, smtp_server: SmtpServer
) -> None:
    cli = database.cli
    address = f"cli.doi.{cli.url[:6]}@example.de"
    missing = cli("consent", "request-doi", "--email", address, "--channel", "email", "--purpose", "newsletter")
    assert "Kein Kontakt" in one_line_error(missing)

    result = cli(
        "consent", "request-doi", "--email", address, "--channel", "email", "--purpose", "newsletter",
        "--first-name", "Clara", "--last-name", "Cli", **smtp_env(smtp_server),
    )
    assert result.returncode == 0, result.stderr
    assert "Bestätigungs-E-Mail an c***@example.de gesendet" in result.stdout
    mail = smtp_server.wait_for(1)[-1]
    assert mail["To"] == address
    assert LINK.search(mail.get_body(("plain",)).get_content())

    again = cli("consent", "request-doi", "--email", address, "--purpose", "newsletter", **smtp_env(smtp_server))
    assert "erneuter Versand ist in" in one_line_error(again)

    shown = cli("consent", "show", "--email", address.upper(), "--json")
    assert shown.returncode == 0, shown.stderr
    cells = {(c["channel"], c["purpose"]): c for c in json.loads(shown.stdout)["consents"]}
    assert cells[("email", "newsletter")]["status"] == "pending"
    assert cells[("email", "newsletter")]["doi_requested_at"] is not None
    assert cells[("sms", "umfragen")]["status"] is None
    plain = cli("consent", "show", "--email", address)
    assert "ausstehend (DOI)" in plain.stdout and "keine Einwilligung erfasst" in plain.stdout


def test_may_contact_exit_codes(database: Bootstrapped) -> None:
    cli = database.cli
    refused = cli("consent", "may-contact", "--email", "niemand@example.de", "--channel", "email", "--purpose", "newsletter")
    assert refused.returncode == 3 and "NICHT ERLAUBT" in refused.stdout
    bad = cli("consent", "may-contact", "--email", "x@example.de", "--channel", "fax", "--purpose", "newsletter")
    assert "Kanal" in one_line_error(bad)

    from core.consent.service import grant_consent
    from core.contacts import create_contact
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork

    address = f"allowed.{cli.url[:6]}@example.de"
    with open_factory(cli.url) as factory:
        contact = create_contact(UnitOfWork(factory, actor=SYSTEM), {"first_name": "A", "last_name": "B", "email": address})
        grant_consent(
            UnitOfWork(factory, actor=SYSTEM), contact_id=contact.id, channel="email", purpose="umfragen",
            source="sales", evidence="Formular",
        )
    allowed = cli("consent", "may-contact", "--email", address, "--channel", "email", "--purpose", "umfragen")
    assert allowed.returncode == 0 and allowed.stdout.startswith("ERLAUBT"), allowed.stdout + allowed.stderr
    other = cli("consent", "may-contact", "--email", address, "--channel", "email", "--purpose", "newsletter")
    assert other.returncode == 3 and "keine Einwilligung erfasst" in other.stdout


def test_verify_detects_tampering_with_the_ledger(database: Bootstrapped) -> None:
    cli = database.cli
    from core.consent.service import grant_consent
    from core.contacts import create_contact
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork

    with open_factory(cli.url) as factory:
        contact = create_contact(
            UnitOfWork(factory, actor=SYSTEM), {"first_name": "T", "last_name": "Amper", "email": "t@example.de"}
        )
        entry = grant_consent(
            UnitOfWork(factory, actor=SYSTEM), contact_id=contact.id, channel="email", purpose="umfragen",
            source="sales", evidence="Formular",
        )
    intact = cli("consent", "verify")
    assert intact.returncode == 0 and "Kette intakt" in intact.stdout, intact.stderr

    with open_factory(cli.url) as factory, factory() as session:
        dialect = session.get_bind().dialect.name
        for statement in drop_append_only_ddl("consent_entries", dialect):
            session.execute(text(statement))
        session.execute(text("UPDATE consent_entries SET legal_basis = 'legitimate_interest' WHERE id = :id"), {"id": entry})
        session.commit()
    try:
        broken = cli("consent", "verify")
        line = one_line_error(broken)
        assert f"Eintrag {entry}" in line and "verändert" in line
    finally:
        with open_factory(cli.url) as factory, factory() as session:
            session.execute(text("UPDATE consent_entries SET legal_basis = 'consent' WHERE id = :id"), {"id": entry})
            for statement in append_only_ddl("consent_entries", session.get_bind().dialect.name):
                session.execute(text(statement))
            session.commit()
    assert cli("consent", "verify").returncode == 0
