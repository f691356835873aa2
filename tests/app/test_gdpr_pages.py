"""The GDPR request pages: who sees them, a request recorded through the dialog (with the deadline the service
computes), the identity check, finding the person's records, the deadline lights in the list and the cockpit,
the cockpit's figures, rejection and the type actions (objection, erasure, export hand-off), errors shown."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.components.navigation import Section, visible_sections
from core.contacts import ContactView, create_contact
from core.database import session_factory
from core.gdpr import deadlines
from core.gdpr.requests import (
    RequestView,
    confirm_subject,
    dashboard,
    get_request,
    list_requests,
    receive_request,
    record_identity,
    reject,
)
from core.permissions import Role
from core.uow import UnitOfWork
from tests.app.conftest import AppData, LoggedIn
from tests.conftest import FrozenClock

LIST = "pages/gdpr_requests.py"
DETAIL = "pages/gdpr_request_detail.py"
COCKPIT = "pages/gdpr_dashboard.py"
GDPR_URLS = {"gdpr-requests", "gdpr-export", "datenschutz-cockpit"}
_seq = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, clock: FrozenClock, role: Role = Role.COMPLIANCE) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor(), clock=clock)


def person(app_data: AppData, **values: str) -> ContactView:
    """A contact of its own for one test (the app database is shared by all tests)."""
    n = next(_seq)
    data = {"first_name": "Greta", "last_name": f"Betroffen{n}", "email": f"greta.b{n}@example.de"} | values
    return create_contact(UnitOfWork(session_factory(app_data.url), actor=app_data.users[Role.ADMIN].actor()), data)


def receive(app_data: AppData, clock: FrozenClock, type: str = "access", **values: object) -> RequestView:
    n = next(_seq)
    data: dict[str, object] = {"channel": "email", "requester_name": f"Paula Anfrage{n}"} | values
    return receive_request(uow(app_data, clock), type=type, **data)  # type: ignore[arg-type]


def ready(app_data: AppData, clock: FrozenClock, type: str, contact: ContactView) -> RequestView:
    """A request of `contact` with the identity confirmed and the contact confirmed as the person."""
    request = receive(app_data, clock, type, requester_name=contact.full_name, requester_email=contact.email)
    record_identity(uow(app_data, clock), request.id, method="known_address", result="confirmed")
    return confirm_subject(uow(app_data, clock), request.id, contact_ids=[contact.id])


def open_page(logged_in: LoggedIn, page: str, role: Role = Role.COMPLIANCE, **state: object) -> AppTest:
    st.cache_data.clear()  # the tests record requests through the services: no cached read may hide them
    at = logged_in(role)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert_clean(at)
    return at


def open_request(logged_in: LoggedIn, request_id: int, role: Role = Role.COMPLIANCE) -> AppTest:
    return open_page(logged_in, DETAIL, role, gdpr_request_detail__id=request_id)


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def row_labels(at: AppTest) -> list[str]:
    """The labels of the list's rows on the current page (the "Auswahl" picker lists exactly those)."""
    return list(next(m for m in at.multiselect if m.label == "Auswahl").options)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# Who sees the pages -------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.ADMIN, Role.COMPLIANCE], ids=lambda r: r.value)
def test_compliance_officer_and_admin_see_and_open_the_pages(
    role: Role, logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    compliance = [p.url_path for p in visible_sections(app_data.users[role].actor())[Section.COMPLIANCE]]
    assert GDPR_URLS <= set(compliance) and "gdpr-request-detail" not in compliance
    request = receive(app_data, app_clock)
    for page, title in ((LIST, "Betroffenenanfragen"), (COCKPIT, "Datenschutz-Cockpit")):
        at = open_page(logged_in, page, role)
        assert at.title[0].value.endswith(title)
    at = open_request(logged_in, request.id, role)
    assert at.title[0].value.endswith(f"Anfrage Nr. {request.id}: Auskunft (Art. 15)")
    assert [tab.label for tab in at.tabs] == ["Schritte", "Gefundene Daten", "Protokoll", "Dokumente"]
    shown = texts(at)
    assert "**Eingegangen**" in shown and "**🟢 28.12.2026 · noch 33 Tage**" in shown, "status and deadline facets"
    assert request.requester_name in [text.value for text in at.text], "the requester as plain text"


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MARKETING, Role.VIEWER], ids=lambda r: r.value)
def test_other_roles_get_neither_menu_entries_nor_the_pages(role: Role, logged_in: LoggedIn, app_data: AppData) -> None:
    listed = {p.url_path for pages in visible_sections(app_data.users[role].actor()).values() for p in pages}
    assert not GDPR_URLS & listed
    for page in (LIST, DETAIL, COCKPIT):
        at = open_page(logged_in, page, role)
        assert not at.title and any("Keine Berechtigung" in e.value for e in at.error)


# List and "Neue Anfrage" --------------------------------------------------------------------------
def test_new_request_through_the_dialog_shows_the_computed_deadline(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    at = open_page(logged_in, LIST)
    at.button(key="gdpr_list__new").click().run()
    at.selectbox(key="gdpr_new__type").set_value("erasure").run()
    at.selectbox(key="gdpr_new__channel").set_value("letter").run()
    at.button(key="gdpr_new__go").click().run()
    assert_clean(at)
    assert "Name, E-Mail-Adresse oder Telefonnummer" in errors(at), "the service's message, in the open dialog"

    at.text_input(key="gdpr_new__name").input("Hanna Neuanfrage")
    at.text_input(key="gdpr_new__email").input("hanna.neu@example.de")
    at.text_area(key="gdpr_new__description").input("Bitte löschen Sie alle meine Daten.")
    at.button(key="gdpr_new__go").click().run()
    assert_clean(at)
    created = list_requests(uow(app_data, app_clock))
    row = created[created["requester"] == "Hanna Neuanfrage"].iloc[0]
    request = get_request(uow(app_data, app_clock), int(row["id"]))
    assert (request.type, request.channel, request.status) == ("erasure", "letter", "received")
    assert request.requester_email == "hanna.neu@example.de"
    assert request.received_at == app_clock().replace(second=0, microsecond=0), "default: now"
    # received on Wednesday 25.11.2026: one month ends on Christmas, moved past the holidays and Sunday
    assert request.due_on == dt.date(2026, 12, 28)
    assert [s.value for s in at.success] == [f"Anfrage Nr. {request.id} erfasst. Antwortfrist: 28.12.2026."]
    assert any(f"🟢 Nr. {request.id} · Löschung (Art. 17) · Hanna Neuanfrage" == label for label in row_labels(at))

    at.button(key="gdpr_list__open_created").click().run()
    assert_clean(at)
    assert at.title[0].value.endswith(f"Anfrage Nr. {request.id}: Löschung (Art. 17)")


def test_list_marks_overdue_requests_red_and_filters_open_ones(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    overdue = receive(app_data, app_clock, "rectification", received_at=app_clock() - dt.timedelta(days=61))
    due_soon = receive(
        app_data, app_clock, "objection", received_at=dt.datetime(2026, 10, 28, 9, tzinfo=dt.timezone.utc)
    )
    closed = receive(app_data, app_clock, "objection")
    reject(uow(app_data, app_clock), closed.id, reason="Keine Werbung erhalten, nichts zu tun")
    at = open_page(logged_in, LIST)
    labels = row_labels(at)
    red = f"🔴 Nr. {overdue.id} · Berichtigung (Art. 16) · {overdue.requester_name}"
    yellow = f"🟡 Nr. {due_soon.id} · Widerspruch (Art. 21) · {due_soon.requester_name}"  # due Mon 30.11.2026
    assert red in labels and yellow in labels
    assert labels.index(red) < labels.index(yellow), "most urgent first"
    assert not any(f"Nr. {closed.id} " in label for label in labels), "only open ones by default"

    at.text_input(key="gdpr_list__search").input(str(overdue.requester_name)).run()
    assert row_labels(at) == [red]
    at.text_input(key="gdpr_list__search").input("").run()
    at.selectbox(key="gdpr_list__filter_type").set_value("objection").run()
    assert yellow in row_labels(at) and all("Widerspruch" in label for label in row_labels(at))
    at.selectbox(key="gdpr_list__filter_status").set_value("rejected").run()
    assert any("Keine Treffer" in i.value for i in at.info)
    at.toggle(key="gdpr_list__open_only").set_value(False).run()
    assert_clean(at)
    assert f"— Nr. {closed.id} · Widerspruch (Art. 21) · {closed.requester_name}" in row_labels(at)


# The request page -------------------------------------------------------------------------------
def test_identity_check_moves_the_status_and_a_doubt_needs_a_note(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    request = receive(app_data, app_clock)
    at = open_request(logged_in, request.id)
    assert at.button(key="gdpr_req_identity__go").disabled, "a result must be chosen"
    at.selectbox(key="gdpr_req_identity__result").set_value("doubtful").run()
    at.button(key="gdpr_req_identity__go").click().run()
    assert_clean(at)
    assert "welche Angaben angefordert wurden" in errors(at)
    assert get_request(uow(app_data, app_clock), request.id).status == "received"

    at.text_area(key="gdpr_req_identity__note").input("Geburtsdatum erfragt: Absender weicht ab")
    at.button(key="gdpr_req_identity__go").click().run()
    assert_clean(at)
    assert get_request(uow(app_data, app_clock), request.id).status == "identity_check"

    at.selectbox(key="gdpr_req_identity__method").set_value("callback").run()
    at.selectbox(key="gdpr_req_identity__result").set_value("confirmed").run()
    at.button(key="gdpr_req_identity__go").click().run()
    assert_clean(at)
    checked = get_request(uow(app_data, app_clock), request.id)
    assert (checked.status, checked.identity_method) == ("in_progress", "callback")
    assert checked.identity_result == "confirmed"
    assert checked.identity_checked_by == app_data.users[Role.COMPLIANCE].display_name
    assert any("Identitätsprüfung festgehalten: Bestätigt." in toast.value for toast in at.toast)
    assert any(f.value == "**In Bearbeitung**" for f in at.markdown), "the status facet"
    assert "Identität: Bestätigt" in texts(at)


def test_candidate_search_lists_the_seeded_contact_and_confirms_it(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = app_data.contact  # Jürgen Weiß, j.weiss@example.de
    request = receive(app_data, app_clock, requester_name="Jürgen Weiss", requester_email="J.Weiss@example.de")
    at = open_request(logged_in, request.id)
    assert at.text_input(key="gdpr_req_find__email").value == "J.Weiss@example.de", "prefilled from the request"
    assert any("Noch keine Datensätze bestätigt" in i.value for i in at.info), "Gefundene Daten: nothing confirmed yet"
    at.button(key="gdpr_req_find__go").click().run()
    assert_clean(at)
    found = at.checkbox(key=f"gdpr_req_find__pick_contact_{contact.id}")
    assert "Jürgen Weiß" in found.label and "Übereinstimmung 100 %" in found.label and "E-Mail" in found.label
    assert not found.value
    found.check().run()
    at.button(key="gdpr_req_find__confirm").click().run()
    assert_clean(at)
    assert get_request(uow(app_data, app_clock), request.id).contact_ids == [contact.id]
    assert "Bestätigt: 1 Kontakt(e), 0 Firma/Firmen." in texts(at)
    overview = next(d.value for d in at.dataframe if {"Datenbestand", "Rechtsgrundlage"} <= set(d.value.columns))
    assert "Kontakte" in list(overview["Datenbestand"])
    assert any(e.label.startswith("Kontakte (") for e in at.expander)


def test_candidate_search_with_a_wrong_address_shows_the_error(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    request = receive(app_data, app_clock)
    at = open_request(logged_in, request.id)
    at.text_input(key="gdpr_req_find__email").input("keine-adresse")
    at.button(key="gdpr_req_find__go").click().run()
    assert_clean(at)
    assert "keine gültige E-Mail-Adresse" in errors(at)


def test_reject_needs_a_reason_in_the_dialog(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    request = receive(app_data, app_clock)
    at = open_request(logged_in, request.id)
    at.button(key="gdpr_req__reject").click().run()
    at.button(key="gdpr_req_reject__go").click().run()
    assert_clean(at)
    assert "Ablehnungsgrund angeben" in errors(at), "shown, not raised"
    assert get_request(uow(app_data, app_clock), request.id).status == "received"

    at.text_area(key="gdpr_req_reject__reason").input("Identität trotz Nachfrage nicht nachgewiesen")
    at.button(key="gdpr_req_reject__go").click().run()
    assert_clean(at)
    rejected = get_request(uow(app_data, app_clock), request.id)
    assert (rejected.status, rejected.rejection_reason) == ("rejected", "Identität trotz Nachfrage nicht nachgewiesen")
    assert any("Abgelehnt am" in s.value for s in at.error)
    assert "gdpr_req__reject" not in {b.key for b in at.button}, "a closed request offers no further steps"
    log = next(d.value for d in at.dataframe if "Schritt" in d.value.columns)
    assert list(log["Schritt"]) == ["eingegangen", "abgelehnt"]
    assert "Grund: Identität trotz Nachfrage nicht nachgewiesen" in log.iloc[1]["Angaben"]


def test_extension_and_assignment(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    request = receive(app_data, app_clock)
    officer = app_data.users[Role.ADMIN]
    at = open_request(logged_in, request.id)
    at.button(key="gdpr_req_extend__go").click().run()
    assert_clean(at)
    assert "Grund der Verlängerung" in errors(at)
    at.radio(key="gdpr_req_extend__months").set_value(2)
    at.text_input(key="gdpr_req_extend__reason").input("Daten aus mehreren Systemen")
    at.button(key="gdpr_req_extend__go").click().run()
    assert_clean(at)
    extended = get_request(uow(app_data, app_clock), request.id)
    assert extended.extended and extended.due_on == deadlines.due_date(request.received_at, extension_months=2)
    assert "Frist verlängert bis 25.02.2027 (ursprünglich 28.12.2026)" in texts(at)

    at.selectbox(key="gdpr_req_assign__user").set_value(officer.id).run()
    at.button(key="gdpr_req_assign__go").click().run()
    assert_clean(at)
    assert get_request(uow(app_data, app_clock), request.id).assignee_id == officer.id
    assert any(f.value == f"**{officer.display_name}**" for f in at.markdown)


def test_objection_is_applied_from_the_request_page(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    request = ready(app_data, app_clock, "objection", person(app_data))
    at = open_request(logged_in, request.id)
    at.button(key="gdpr_req_object__go").click().run()
    assert_clean(at)
    done = get_request(uow(app_data, app_clock), request.id)
    assert done.status == "completed" and done.outcome.startswith("Werbewiderspruch umgesetzt")
    assert any("Werbewiderspruch umgesetzt" in toast.value for toast in at.toast)
    assert any("Abgeschlossen am" in s.value for s in at.success)


def test_erasure_shows_the_plan_needs_the_number_and_offers_the_certificate(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data, last_name="Loeschkandidatin")
    request = ready(app_data, app_clock, "erasure", contact)
    at = open_request(logged_in, request.id)
    at.button(key="gdpr_req__erase").click().run()
    assert_clean(at)
    plan = next(d.value for d in at.dataframe if "Bei Löschung" in d.value.columns and "Modul" in d.value.columns)
    assert "Kontakte" in list(plan["Datenbestand"])
    assert at.button(key="gdpr_req_erase__go").disabled
    at.text_input(key="gdpr_req_erase__confirm").input(str(request.id + 1000)).run()
    assert at.button(key="gdpr_req_erase__go").disabled, "the wrong number does not unlock it"
    at.text_input(key="gdpr_req_erase__confirm").input(str(request.id)).run()
    at.button(key="gdpr_req_erase__go").click().run()
    assert_clean(at)
    done = get_request(uow(app_data, app_clock), request.id)
    assert done.status == "completed"
    assert any(s.value.startswith("Löschung vollständig") for s in at.success), [e.value for e in at.error]
    downloads = [d for d in at.get("download_button") if d.proto.id and "certificate" in d.proto.id]
    assert downloads and downloads[0].proto.label == "Löschprotokoll herunterladen"
    documents = next(d.value for d in at.dataframe if "SHA-256" in d.value.columns)
    assert list(documents["Art"]) == ["Löschprotokoll"] and list(documents["Inhalt"]) == ["gespeichert"]


def test_access_request_hands_over_to_the_export_wizard(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    request = ready(app_data, app_clock, "access", person(app_data))
    at = open_request(logged_in, request.id)
    at.button(key="gdpr_req__export").click().run()
    assert_clean(at)
    assert at.session_state["gdpr_export__request_id"] == request.id
    assert at.title[0].value.endswith("Auskunft / Datenexport")


def test_log_tab_checks_the_chain(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    request = receive(app_data, app_clock)
    at = open_request(logged_in, request.id)
    at.button(key="gdpr_req__check").click().run()
    assert_clean(at)
    assert any(s.value.startswith("Kette intakt:") for s in at.success)


# The cockpit -------------------------------------------------------------------------------------
def test_cockpit_shows_the_services_figures_and_the_open_requests_by_deadline(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    overdue = receive(app_data, app_clock, "erasure", received_at=app_clock() - dt.timedelta(days=62))
    receive(app_data, app_clock, "portability")
    at = open_page(logged_in, COCKPIT)
    figures = dashboard(uow(app_data, app_clock))
    shown = metrics(at)
    assert shown["Offene Anfragen"] == str(figures.open) and figures.open >= 2
    assert shown["Davon fällig in 7 Tagen"] == str(figures.due_soon)
    assert shown["Überfällig"] == str(figures.overdue) and figures.overdue >= 1
    assert shown["Verspätet abgeschlossen"] == str(figures.closed_late)
    table = next(d.value for d in at.dataframe if "Ampel" in d.value.columns)
    assert len(table) == figures.open
    assert list(table["Ampel"])[0] == "🔴", "sorted by due date: the most overdue first"
    row = table[table["Nr."] == overdue.id].iloc[0]
    assert (row["Ampel"], row["Art"]) == ("🔴", "Löschung (Art. 17)")
    at.selectbox(key="gdpr_cockpit__pick").set_value(overdue.id).run()
    at.button(key="gdpr_cockpit__open").click().run()
    assert_clean(at)
    assert at.title[0].value.endswith(f"Anfrage Nr. {overdue.id}: Löschung (Art. 17)")


def test_cockpit_checks_the_request_log(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    receive(app_data, app_clock)
    at = open_page(logged_in, COCKPIT, Role.ADMIN)
    at.button(key="gdpr_cockpit__check").click().run()
    assert_clean(at)
    assert any(s.value.startswith("Kette intakt:") for s in at.success)


def test_pages_in_english(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    request = receive(app_data, app_clock, "restriction")
    at = logged_in(Role.COMPLIANCE, lang="en")
    at.switch_page(LIST).run()
    assert_clean(at)
    assert at.title[0].value.endswith("Data-subject requests")
    at.session_state["gdpr_request_detail__id"] = request.id
    at.switch_page(DETAIL).run()
    assert_clean(at)
    assert at.title[0].value.endswith(f"Request no. {request.id}: Restriction (Art. 18)")
    assert [tab.label for tab in at.tabs] == ["Steps", "Data found", "Log", "Documents"]
    at.switch_page(COCKPIT).run()
    assert_clean(at)
    assert at.title[0].value.endswith("Data protection cockpit")
