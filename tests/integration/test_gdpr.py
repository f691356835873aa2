"""Data-subject requests on SQLite and PostgreSQL: the workflow and its hash-chained log, deadlines and
extension, discovery across modules via the registry, the Art. 15/20 package, Art. 17 erasure inside one
transaction (business figures kept, retention holds, shredded keys, suppression), Art. 18 and Art. 21."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.addresses import add_address
from core.consent.doi import request_doi
from core.consent.gate import may_contact
from core.consent.ledger import verify_ledger
from core.consent.service import grant_consent
from core.contacts import update_contact
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.gdpr.discovery import discover, find_candidates
from core.gdpr.documents import document_content, list_documents, processing_record_pdf
from core.gdpr.erasure import erase
from core.gdpr.export import build_export
from core.gdpr.processing import apply_objection, apply_restriction
from core.gdpr.requests import (
    complete,
    confirm_subject,
    dashboard,
    extend,
    get_request,
    list_requests,
    receive_request,
    record_identity,
    reject,
    request_log,
    verify_log,
)
from core.permissions import SYSTEM, Actor, Role
from core.sales.contact_roles import add_contact_role
from core.sales.orders import accept_quote
from core.sales.quotes import add_line, create_quote, send_quote
from core.uow import UnitOfWork
from db.models import (
    Contact,
    GdprRequest,
    Opportunity,
    OutboxEvent,
    PersonKey,
    ProcessingRestriction,
    Quote,
    RetentionHold,
    SalesOrder,
    Suppression,
)
from exports.gdpr_package import validate
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity

EMAIL = "Xaveria.Quellenbrink@kunde-beispiel.de"


@dataclass
class World:
    factory: sessionmaker[Session]
    clock: FrozenClock
    officer: Actor

    def uow(self, actor: Actor | None = None) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=actor or self.officer, clock=self.clock)

    def request(
        self, type: str = "access", *, verified: bool = True, contact_ids: list[int] | None = None, **values: object
    ) -> int:
        data = {"requester_name": "Xaveria Quellenbrink", "requester_email": EMAIL} | values
        view = receive_request(self.uow(), type=type, channel="email", **data)  # type: ignore[arg-type]
        if verified:
            record_identity(self.uow(), view.id, method="known_address", result="confirmed")
        if contact_ids:
            confirm_subject(self.uow(), view.id, contact_ids=contact_ids)
        return view.id

    def count(self, model: type, *where: object) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def w(factory: sessionmaker[Session], clock: FrozenClock) -> World:
    return World(
        factory, clock, make_user(factory, Role.COMPLIANCE, display_name="Clara Compliance", clock=clock).actor()
    )


@dataclass(frozen=True)
class Person:
    contact_id: int
    account_id: int
    opportunity_id: int
    quote_id: int
    order_id: int


def rich_person(w: World) -> Person:
    """A contact with a company, a deal role, a quote and an order, consent, a DOI mail, an address and history."""
    admin = make_user(w.factory, Role.ADMIN, clock=w.clock).actor()
    account = make_account(w.factory, admin, clock=w.clock, name="Beispiel Kunde GmbH")
    contact = make_contact(
        w.factory,
        admin,
        clock=w.clock,
        first_name="Xaveria",
        last_name="Quellenbrink",
        email=EMAIL,
        phone="+49 221 9876543",
        mobile="+49 171 5550123",
        account_id=account.id,
        postcode="50667",
        city="Köln",
    )
    uow = UnitOfWork(w.factory, actor=admin, clock=w.clock)
    update_contact(uow, contact.id, {"job_title": "Einkaufsleiterin"}, expected_version=contact.version)
    add_address(
        uow,
        owner=("contact", contact.id),
        values={"type": "post", "street": "Zypressenweg", "house_number": "17a", "postcode": "50667", "city": "Köln"},
    )
    opportunity = make_opportunity(
        w.factory, admin, clock=w.clock, account_id=account.id, next_step="Rückruf bei Xaveria Quellenbrink am Montag"
    )
    add_contact_role(uow, opportunity.id, contact_id=contact.id, role="Entscheider", is_primary=True)
    quote = create_quote(uow, opportunity_id=opportunity.id)
    quote = add_line(
        uow,
        quote.id,
        {"description": "Wartung", "quantity": "1", "unit_price": "1000", "vat_rate": "19"},
        expected_version=quote.version,
    )
    quote = send_quote(uow, quote.id, expected_version=quote.version)
    order = accept_quote(uow, quote.id, expected_version=quote.version)
    grant_consent(
        uow,
        contact_id=contact.id,
        channel="email",
        purpose="newsletter",
        source="sales",
        evidence="Unterschriebenes Formular vom 20.11.",
        ip="203.0.113.7",
    )
    request_doi(uow, contact_id=contact.id, purpose="produktinformationen", source="sales")
    return Person(contact.id, account.id, opportunity.id, quote.id, order.id)


# --- workflow, deadlines, log ----------------------------------------------------------------------------


def test_a_request_gets_its_deadline_and_every_step_is_in_the_chained_log(w: World) -> None:
    received = dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.timezone.utc)
    view = receive_request(
        w.uow(),
        type="access",
        channel="letter",
        requester_name="Xaveria Quellenbrink",
        requester_email=EMAIL,
        received_at=received,
    )
    assert view.status == "received" and view.due_on == dt.date(2026, 3, 2)  # 28 Feb 2026 is a Saturday
    assert view.requester_email == EMAIL

    view = record_identity(
        w.uow(), view.id, method="id_document", result="doubtful", note="Adresse weicht ab; Ausweiskopie angefordert"
    )
    assert view.status == "identity_check"
    view = record_identity(w.uow(), view.id, method="callback", result="confirmed")
    assert view.status == "in_progress" and view.identity_checked_by == w.officer.name
    view = complete(w.uow(), view.id, outcome="Auskunft per Post versandt")
    assert view.status == "completed" and view.closed_at is not None

    assert [s.action for s in request_log(w.uow(), view.id)] == [
        "received",
        "identity_checked",
        "identity_checked",
        "completed",
    ]
    with w.factory() as session:
        assert verify_log(session).ok
        stored = session.get(GdprRequest, view.id)
        assert stored.requester_email.startswith("enc:") and EMAIL not in stored.requester_email
    names = [e.name for e in _events(w, view.id)]
    assert names == ["crm.gdpr.request_received", "crm.gdpr.identity_verified", "crm.gdpr.completed"]


def _events(w: World, request_id: int) -> list[OutboxEvent]:
    with w.factory() as session:
        return list(
            session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.entity == "gdpr_request", OutboxEvent.entity_id == str(request_id))
                .order_by(OutboxEvent.id)
            )
        )


def test_the_request_log_rejects_changes_and_verification_names_a_tampered_entry(w: World) -> None:
    request_id = w.request()
    with w.factory() as session:
        with pytest.raises(Exception, match="append-only"):
            session.execute(text("UPDATE gdpr_log_entries SET action = 'x' WHERE request_id = :r"), {"r": request_id})
            session.flush()


def test_extension_needs_a_reason_within_the_first_month_and_happens_once(w: World) -> None:
    request_id = w.request()
    with pytest.raises(ValidationFailed):
        extend(w.uow(), request_id, months=2, reason="  ")
    with pytest.raises(ValidationFailed):
        extend(w.uow(), request_id, months=3, reason="zu viel")
    view = extend(w.uow(), request_id, months=2, reason="Umfangreiche Daten aus drei Systemen")
    assert view.extended and view.due_on == dt.date(2027, 2, 25) and view.original_due_on == dt.date(2026, 12, 28)
    with pytest.raises(Conflict, match="bereits verlängert"):
        extend(w.uow(), request_id, months=1, reason="noch mehr")

    late = w.request()
    w.clock.advance(days=40)
    with pytest.raises(Conflict, match="nur innerhalb dieser Frist"):
        extend(w.uow(), late, months=1, reason="zu spät")


def test_closed_requests_stay_closed_and_rejection_needs_a_reason(w: World) -> None:
    request_id = w.request(verified=False)
    with pytest.raises(ValidationFailed):
        reject(w.uow(), request_id, reason="")
    reject(w.uow(), request_id, reason="Identität nicht bestätigt")
    with pytest.raises(Conflict, match="abgelehnt"):
        record_identity(w.uow(), request_id, method="callback", result="confirmed")
    erasure = w.request("erasure")
    with pytest.raises(Conflict, match="Löschung"):
        complete(w.uow(), erasure, outcome="erledigt")


def test_bad_input_is_named_field_by_field(w: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        receive_request(w.uow(), type="delete", channel="fax")
    assert set(err.value.fields) == {"type", "channel", "requester"}
    with pytest.raises(ValidationFailed) as err:
        receive_request(w.uow(), type="access", channel="email", requester_email="kein-at-zeichen")
    assert "requester_email" in err.value.fields
    with pytest.raises(NotFound):
        get_request(w.uow(), 999_999)


def test_only_compliance_and_admins_handle_requests(w: World) -> None:
    rep = make_user(w.factory, Role.SALES_REP, clock=w.clock).actor()
    with pytest.raises(PermissionDenied):
        receive_request(w.uow(rep), type="access", channel="email", requester_email=EMAIL)
    with pytest.raises(PermissionDenied):
        list_requests(w.uow(rep))


def test_list_and_dashboard_show_traffic_lights_and_handling_time(w: World) -> None:
    overdue = w.request(received_at=w.clock.current - dt.timedelta(days=45))
    soon = w.request(received_at=w.clock.current - dt.timedelta(days=27))
    fresh = w.request()
    done = w.request()
    w.clock.advance(days=3)
    complete(w.uow(), done, outcome="Auskunft erteilt")

    frame = list_requests(w.uow(), open_only=True).set_index("id")
    assert frame.loc[overdue, "light"] == "red" and frame.loc[soon, "light"] == "yellow"
    assert frame.loc[fresh, "light"] == "green" and done not in frame.index
    board = dashboard(w.uow())
    assert (board.open, board.overdue, board.due_soon, board.completed) == (3, 1, 1, 1)
    assert board.average_handling_days == 3.0


# --- discovery, export ---------------------------------------------------------------------------------------


def test_the_person_is_found_by_email_phone_and_fuzzy_name(w: World) -> None:
    person = rich_person(w)
    make_contact(w.factory, SYSTEM, clock=w.clock, first_name="Xaver", last_name="Müller", email="x.mueller@example.de")

    by_email = find_candidates(w.uow(), email="  XAVERIA.quellenbrink+crm@Kunde-Beispiel.de ")
    assert [(c.kind, c.id, c.matched_on) for c in by_email][:1] == [("contact", person.contact_id, ("E-Mail",))]
    by_phone = find_candidates(w.uow(), phone="0171 / 555 01 23")
    assert by_phone[0].id == person.contact_id and "Telefon" in by_phone[0].matched_on
    by_name = find_candidates(w.uow(), name="Quellenbrinck, Xaveria")
    assert by_name[0].id == person.contact_id and by_name[0].matched_on == ("Name",)
    with pytest.raises(ValidationFailed):
        find_candidates(w.uow())


def test_discovery_groups_every_module_with_its_legal_ground(w: World) -> None:
    person = rich_person(w)
    found = discover(w.uow(), contact_ids=[person.contact_id])
    keys = {g.key for g in found.groups}
    assert {
        "contacts",
        "addresses",
        "opportunity_contacts",
        "opportunities",
        "quotes",
        "sales_orders",
        "consent_entries",
        "doi_requests",
        "email_messages",
        "audit_entries",
        "outbox_events",
    } <= keys
    consent = found.group("consent_entries")
    assert consent is not None and "Art. 7" in consent.purpose and consent.rows[0]["ip"] == "203.0.113.7"
    orders = found.group("sales_orders")
    assert orders is not None and orders.erasure == "retain" and "8 Jahre" in orders.retention


def test_the_access_package_holds_every_discovered_record_and_validates(w: World) -> None:
    person = rich_person(w)
    request_id = w.request(contact_ids=[person.contact_id])
    found = discover(w.uow(), contact_ids=[person.contact_id], rows_per_group=None)

    package = build_export(w.uow(), request_id)

    archive = zipfile.ZipFile(io.BytesIO(package.data))
    data = json.loads(archive.read("data.json"))
    validate(data)
    for group in found.groups:
        if group.key == "person_keys":
            continue
        assert len(data["records"][group.key]) == group.count, group.key
        assert f"{group.key}.csv" in archive.namelist()
    assert data["records"]["contacts"][0]["email"] == EMAIL
    assert data["records"]["gdpr_requests"][0]["requester_email"] == EMAIL, "decrypted with the request's key"
    report = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read("auskunft.pdf"))).pages)
    for expected in ("Art. 15", "Zwecke", "Empfänger", "Beschwerde", "Quellenbrink", "Entscheider"):
        assert expected in report, expected
    assert [s.action for s in request_log(w.uow(), request_id)][-1] == "document_access"
    documents = list_documents(w.uow(), request_id)
    assert documents[-1].sha256 == package.sha256 and not documents[-1].stored


def test_portability_keeps_only_what_the_person_provided(w: World) -> None:
    person = rich_person(w)
    request_id = w.request("portability", contact_ids=[person.contact_id])
    data = json.loads(zipfile.ZipFile(io.BytesIO(build_export(w.uow(), request_id).data)).read("data.json"))
    assert data["portability"] is True
    assert set(data["records"]["contacts"][0]) <= {
        "salutation",
        "title",
        "first_name",
        "last_name",
        "job_title",
        "email",
        "phone",
        "mobile",
        "birth_date",
        "postcode",
        "city",
        "country",
    }
    assert "audit_entries" not in data["records"] and "sales_orders" not in data["records"]


def test_export_refuses_unverified_or_unconfirmed_requests(w: World) -> None:
    person = rich_person(w)
    unverified = w.request(verified=False)
    with pytest.raises(Conflict, match="Identität"):
        build_export(w.uow(), unverified)
    no_subject = w.request()
    with pytest.raises(Conflict, match="Daten finden"):
        build_export(w.uow(), no_subject)
    erasure = w.request("erasure", contact_ids=[person.contact_id])
    with pytest.raises(Conflict, match="keine Auskunfts"):
        build_export(w.uow(), erasure)


# --- erasure ---------------------------------------------------------------------------------------------


def test_erasure_removes_the_person_keeps_figures_holds_records_and_shreds_keys(w: World) -> None:
    person = rich_person(w)
    with w.factory() as session:
        amount = session.get(Opportunity, person.opportunity_id).amount
        gross = session.get(SalesOrder, person.order_id).gross_total
    request_id = w.request("erasure", contact_ids=[person.contact_id])

    result = erase(w.uow(), request_id)

    assert result.counts["contacts"] == 1 and result.counts["opportunity_contacts"] == 1
    assert result.holds == 2 and result.shredded_keys >= 1 and result.suppressed == 3
    assert not [r for r in result.residues if not r.startswith("Write-Ahead-Log")], result.residues
    with w.factory() as session:
        assert session.get(Contact, person.contact_id) is None
        opportunity = session.get(Opportunity, person.opportunity_id)
        assert opportunity.amount == amount and opportunity.next_step == "[gelöscht]"
        order, quote = session.get(SalesOrder, person.order_id), session.get(Quote, person.quote_id)
        assert order.gross_total == gross and order.contact_id is None and quote.contact_id is None
        holds = session.scalars(select(RetentionHold).where(RetentionHold.request_id == request_id)).all()
        assert {(h.entity, h.release_on) for h in holds} == {
            ("quotes", dt.date(2032, 12, 31)),
            ("sales_orders", dt.date(2034, 12, 31)),
        }
        assert (
            session.scalar(
                select(PersonKey.key).where(
                    PersonKey.subject_type == "contact", PersonKey.subject_id == str(person.contact_id)
                )
            )
            is None
        )
        assert session.scalar(select(func.count()).select_from(Suppression).where(Suppression.reason == "erased")) == 3
        assert audit.verify_chain(session).ok and verify_ledger(session).ok and verify_log(session).ok
        events = session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.entity == "contact", OutboxEvent.entity_id == str(person.contact_id)
            )
        ).all()
        assert events and "Quellenbrink" not in json.dumps(events, ensure_ascii=False)
    view = get_request(w.uow(), request_id)
    assert view.status == "completed"
    certificate = [d for d in list_documents(w.uow(), request_id) if d.kind == "certificate"]
    name, pdf = document_content(w.uow(), certificate[0].id)
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF") and b"Quellenbrink" not in pdf
    assert [e.name for e in _events(w, request_id)][-2:] == ["crm.gdpr.erased", "crm.gdpr.completed"]


def test_erasure_is_refused_unless_open_verified_and_of_type_erasure(w: World) -> None:
    person = rich_person(w)
    access = w.request("access", contact_ids=[person.contact_id])
    with pytest.raises(Conflict, match="keine Löschanfrage"):
        erase(w.uow(), access)
    unverified = w.request("erasure", verified=False)
    with pytest.raises(Conflict, match="Identität"):
        erase(w.uow(), unverified)
    assert w.count(Contact, Contact.id == person.contact_id) == 1


# --- restriction and objection ---------------------------------------------------------------------------


def test_restriction_blocks_the_gate_and_edits_until_lifted(w: World) -> None:
    person = rich_person(w)
    request_id = w.request("restriction", contact_ids=[person.contact_id])
    view = apply_restriction(w.uow(), request_id, reason="Richtigkeit bestritten (Art. 18 Abs. 1 lit. a)")
    assert view.status == "completed"
    with w.factory() as session:
        assert may_contact(session, person.contact_id, "email", "newsletter", w.clock()).reason == "restricted"
        version = session.get(Contact, person.contact_id).version
    with pytest.raises(Conflict, match="Art. 18"):
        update_contact(
            w.uow(make_user(w.factory, Role.ADMIN, clock=w.clock).actor()),
            person.contact_id,
            {"city": "Bonn"},
            expected_version=version,
        )
    assert w.count(ProcessingRestriction, ProcessingRestriction.kind == "restriction") == 1


def test_objection_stops_all_marketing_at_once_and_for_good(w: World) -> None:
    person = rich_person(w)
    request_id = w.request("objection", contact_ids=[person.contact_id])
    apply_objection(w.uow(), request_id)
    with w.factory() as session:
        for channel, purpose in (
            ("email", "newsletter"),
            ("sms", "veranstaltungen"),
            ("phone", "produktinformationen"),
        ):
            assert not may_contact(session, person.contact_id, channel, purpose, w.clock()).allowed
    assert w.count(Suppression, Suppression.reason == "objection") == 3
    assert [e.name for e in _events(w, request_id)][-2:] == ["crm.gdpr.objected", "crm.gdpr.completed"]


def test_the_record_of_processing_activities_is_generated_from_the_registry(w: World) -> None:
    pdf = processing_record_pdf(w.uow())
    assert pdf.startswith(b"%PDF")


def test_the_full_sweep_reports_a_copy_the_registry_could_not_know_about(w: World) -> None:
    person = rich_person(w)
    with w.factory() as session:
        session.execute(
            text("UPDATE pipelines SET name = :n WHERE id = (SELECT min(id) FROM pipelines)"),
            {"n": "Projekte mit xaveria.quellenbrink@kunde-beispiel.de"},
        )
        session.commit()
    request_id = w.request("erasure", contact_ids=[person.contact_id])

    result = erase(w.uow(), request_id, full_sweep=True)

    assert not result.complete
    assert "pipelines.name: 1 Zeile(n)" in result.residues
    certificate = [d for d in list_documents(w.uow(), request_id) if d.kind == "certificate"][0]
    text_of_pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(document_content(w.uow(), certificate.id)[1])).pages)
    assert "RESTE GEFUNDEN" in text_of_pdf and "pipelines.name" in text_of_pdf
    assert [s.action for s in request_log(w.uow(), request_id)][-1] == "verified"
