"""The import's double opt-in flag (core/imports/doi.py) on SQLite and PostgreSQL: request rows, ledger entries
and queued confirmation mails in the import's own transaction; contacts that cannot be asked are named, not
fatal; a rejected import asks nobody; the confirmation link of an imported contact grants the consent."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.consent.doi import confirm_doi
from core.consent.gate import may_contact
from core.consent.ledger import verify_ledger
from core.consent.service import entry_views, grant_consent
from core.consent.suppression import suppress_address
from core.errors import PermissionDenied, ValidationFailed
from core.imports import DONE, REJECTED, DoiOption, read_file, run_import
from core.permissions import Actor, Role
from core.uow import UnitOfWork
from db.models import ConsentEntry, Contact, DoiRequest, EmailMessage, ImportRun, OutboxEvent
from tests.conftest import FrozenClock
from tests.factories.crm import make_contact
from tests.factories.identity import make_user

HEADER = "Externe ID;Vorname;Nachname;E-Mail;Telefon"
ROWS = (
    "D-1;Anna;Alt;anna.alt@example.de;",
    "D-2;Bernd;Brandt;;+49 221 123456",
    "D-3;Cem;Cay;cem.cay@example.de;",
)
NEWSLETTER = DoiOption("newsletter", "de")


def table(*rows: str) -> object:
    return read_file("\r\n".join((HEADER, *rows)).encode(), "doi.csv")


def user_uow(factory: sessionmaker[Session], clock: FrozenClock, role: Role = Role.MARKETING) -> UnitOfWork:
    return UnitOfWork(factory, actor=make_user(factory, role, clock=clock).actor(), clock=clock)


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def contact_id(factory: sessionmaker[Session], external_id: str) -> int:
    with factory() as session:
        return session.scalars(select(Contact.id).where(Contact.external_id == external_id)).one()


def test_every_imported_contact_with_an_email_gets_a_request_ledger_entry_and_mail(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    uow = user_uow(factory, clock)
    result = run_import(uow, table(*ROWS), entity="contacts", doi=DoiOption("produktinformationen", "en"))

    assert result.status == DONE and result.created == 3 and result.doi_requested == 2
    assert "2 Bestätigungs-E-Mails (Double-Opt-in) eingereiht" in result.summary()
    doi_note = "Double-Opt-in „Produktinformationen“ – Bestätigungs-E-Mails eingereiht: 2; ohne E-Mail-Adresse: 1."
    assert doi_note in result.notes
    with factory() as session:
        requests = session.scalars(select(DoiRequest).order_by(DoiRequest.id)).all()
        entries = session.scalars(select(ConsentEntry).order_by(ConsentEntry.id)).all()
        mails = session.scalars(select(EmailMessage).order_by(EmailMessage.id)).all()
        completed = session.scalars(select(OutboxEvent).where(OutboxEvent.name == "crm.import.completed")).one()
        requested_events = session.scalar(
            select(func.count()).where(OutboxEvent.name == "crm.consent.doi_requested")
        )
        verification = verify_ledger(session)
    alt, cay = contact_id(factory, "D-1"), contact_id(factory, "D-3")
    assert [(r.contact_id, r.source, r.status, r.language, r.address) for r in requests] == [
        (alt, "import", "pending", "en", "anna.alt@example.de"),
        (cay, "import", "pending", "en", "cem.cay@example.de"),
    ]
    assert all(r.requested_at == clock.current and r.actor_name == uow.actor.name for r in requests)
    assert [(e.contact_id, e.action, e.status, e.source, e.doi_request_id) for e in entries] == [
        (alt, "requested", "pending", "import", requests[0].id),
        (cay, "requested", "pending", "import", requests[1].id),
    ]
    assert [(m.to_address, m.category, m.status, m.language, m.id) for m in mails] == [
        ("anna.alt@example.de", "doi", "queued", "en", requests[0].email_message_id),
        ("cem.cay@example.de", "doi", "queued", "en", requests[1].email_message_id),
    ]
    assert completed.payload["doi_requested"] == 2 and requested_events == 2
    assert verification.ok
    with factory() as session:
        assert may_contact(session, alt, "email", "produktinformationen", clock.current).reason == "pending"


def test_contacts_that_cannot_be_asked_are_named_and_the_import_still_completes(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    uow = user_uow(factory, clock, Role.ADMIN)
    existing = make_contact(factory, uow.actor, clock=clock, external_id="D-1", email="anna.alt@example.de")
    grant_consent(uow, contact_id=existing.id, channel="email", purpose="newsletter", source="sales",
                  evidence="Unterschriebenes Formular vom 20.11.")
    suppress_address(uow, address="cem.cay@example.de", reason="bounce")

    result = run_import(uow, table(*ROWS), entity="contacts", doi=NEWSLETTER)

    assert result.status == DONE and (result.created, result.updated) == (2, 1) and result.doi_requested == 0
    summary = "Double-Opt-in „Newsletter“ – Bestätigungs-E-Mails eingereiht: 0; ohne E-Mail-Adresse: 1; nicht angefordert: 2."
    assert summary in result.notes
    assert "Zeile 2: Für „Newsletter“ per E-Mail liegt bereits eine Einwilligung vor." in result.notes
    assert "Zeile 4: Keine Bestätigungs-E-Mail: Adresse steht auf der Sperrliste." in result.notes
    assert count(factory, DoiRequest) == count(factory, EmailMessage) == 0


def test_an_existing_contact_named_by_external_id_is_asked_at_its_stored_address(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    uow = user_uow(factory, clock)
    existing = make_contact(factory, uow.actor, clock=clock, external_id="D-9", email="dora.dietz@example.de")

    result = run_import(uow, table("D-9;Dora;Dietz;;"), entity="contacts", doi=NEWSLETTER)

    assert (result.created, result.doi_requested) == (0, 1)
    with factory() as session:
        request = session.scalars(select(DoiRequest)).one()
    assert (request.contact_id, request.address) == (existing.id, "dora.dietz@example.de")


def test_a_rejected_import_requests_nothing(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    uow = user_uow(factory, clock)
    result = run_import(uow, table(*ROWS, "D-4;Dieter;;kein-at-zeichen;"), entity="contacts", doi=NEWSLETTER)

    assert result.status == REJECTED and result.doi_requested == 0
    assert count(factory, Contact) == count(factory, DoiRequest) == count(factory, ConsentEntry) == 0
    assert count(factory, EmailMessage) == 0 and count(factory, ImportRun) == 1


def test_the_option_is_checked_before_anything_is_written(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    uow = user_uow(factory, clock, Role.ADMIN)
    with pytest.raises(ValidationFailed) as unknown:
        run_import(uow, table(*ROWS), entity="contacts", doi=DoiOption("werbepost"))
    with pytest.raises(ValidationFailed) as language:
        run_import(uow, table(*ROWS), entity="contacts", doi=DoiOption("newsletter", "fr"))
    with pytest.raises(ValidationFailed) as accounts:
        run_import(uow, read_file(b"Name\r\nAcme GmbH\r\n", "f.csv"), entity="accounts", doi=NEWSLETTER)
    key = Actor(user_id=None, name="Importschlüssel", scopes=frozenset({"contacts.read", "contacts.write"}))
    with pytest.raises(PermissionDenied):
        run_import(UnitOfWork(factory, actor=key, clock=clock), table(*ROWS), entity="contacts", doi=NEWSLETTER)

    assert "werbepost" in unknown.value.fields["doi_purpose"]
    assert "de oder en" in language.value.fields["doi_language"]
    assert "nur beim Import von Kontakten" in accounts.value.fields["doi"]
    assert count(factory, Contact) == count(factory, ImportRun) == count(factory, DoiRequest) == 0


def test_the_confirmation_link_of_an_imported_contact_grants_the_consent(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    uow = user_uow(factory, clock)
    run_import(uow, table(ROWS[0]), entity="contacts", doi=NEWSLETTER)
    with factory() as session:
        mail = session.scalars(select(EmailMessage)).one()
    token = re.search(r"/p/doi/([A-Za-z0-9_.\-]+)", mail.body_text)
    assert token is not None

    clock.advance(hours=3)
    confirm_doi(factory, token.group(1), ip="203.0.113.7", user_agent="Mozilla/5.0", clock=clock)

    alt = contact_id(factory, "D-1")
    with factory() as session:
        assert may_contact(session, alt, "email", "newsletter", clock.current).allowed
        ids = session.scalars(select(ConsentEntry.id).order_by(ConsentEntry.id)).all()
    confirmed = entry_views(uow, ids)[-1]
    assert (confirmed.action, confirmed.source, confirmed.ip) == ("confirmed", "import", "203.0.113.7")
