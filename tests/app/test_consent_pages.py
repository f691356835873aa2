"""The consent pages: every page for every role that may open it, grant / withdraw / double opt-in / restriction
/ suppression through the dialogs (checked through core), the ledger list with filters and the chain check,
the compliance overview, a new text version, and the "Einwilligungen" tab on the contact page."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.consent.ledger import verify_ledger
from core.consent.restrictions import add_restriction, restrictions_of
from core.consent.service import CellView, consent_matrix, grant_consent
from core.consent.texts import list_purposes, text_versions
from core.contacts import ContactView, create_contact
from core.database import session_factory
from core.permissions import Role
from core.settings import get_settings
from core.uow import UnitOfWork
from db.models import DoiRequest, EmailMessage
from tests.app.conftest import AppData, LoggedIn
from tests.conftest import FrozenClock
from tests.smtp import SmtpServer

pytest_plugins = ["tests.smtp"]  # the smtp_server fixture

MANAGEMENT = "pages/consent_management.py"
HISTORY = "pages/consent_history.py"
OVERVIEW = "pages/consent_uebersicht.py"
TEXTS = "pages/admin_einwilligungstexte.py"
CONTACT_PAGE = "pages/kontakt_detail.py"
CONFIGURE = (Role.ADMIN, Role.COMPLIANCE)
_seq = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, role: Role, clock: FrozenClock) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor(), clock=clock)


def person(app_data: AppData, **values: str) -> ContactView:
    """A contact of its own for one test (the app database is shared by all tests)."""
    n = next(_seq)
    data = {"first_name": "Klara", "last_name": f"Einwilligung{n}", "email": f"klara.e{n}@example.de"} | values
    return create_contact(UnitOfWork(session_factory(app_data.url), actor=app_data.users[Role.ADMIN].actor()), data)


def purpose_ids(app_data: AppData, clock: FrozenClock) -> dict[str, int]:
    return {p.key: p.id for p in list_purposes(uow(app_data, Role.ADMIN, clock))}


def cell(app_data: AppData, clock: FrozenClock, contact_id: int, channel: str, purpose: str) -> CellView:
    cells = consent_matrix(uow(app_data, Role.ADMIN, clock), contact_id)
    return next(c for c in cells if c.channel == channel and c.purpose_key == purpose)


def open_consent_page(logged_in: LoggedIn, role: Role, contact_id: int) -> AppTest:
    at = logged_in(role)
    at.session_state["consent_management__id"] = contact_id
    at.switch_page(MANAGEMENT).run()
    assert_clean(at)
    return at


def open_page(logged_in: LoggedIn, role: Role, page: str) -> AppTest:
    at = logged_in(role)
    at.switch_page(page).run()
    assert_clean(at)
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


BADGE = re.compile(r":\w+-badge\[(?::material/\w+: )?(.*)\]")


def badges(at: AppTest) -> list[str]:
    """The labels of the badges shown (st.badge is a Markdown directive)."""
    return [m.group(1) for m in (BADGE.fullmatch(md.value) for md in at.markdown) if m]


def button_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


# Every page × role --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_consent_page_renders_for_each_role_that_may_open_it(
    role: Role, logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data)
    at = open_consent_page(logged_in, role, contact.id)
    assert contact.full_name in at.title[0].value
    cells = consent_matrix(uow(app_data, role, app_clock), contact.id)
    assert len(cells) == 4 * len(list_purposes(uow(app_data, role, app_clock)))
    assert f"0 von {len(cells)} erteilt" in texts(at)
    assert badges(at).count("nicht erfasst") == len(cells)
    actions = {"consent_mgmt__grant", "consent_mgmt__revoke", "consent_mgmt__doi", "consent_mgmt__restrict"}
    if role is Role.VIEWER:
        assert not actions & button_keys(at)
        assert any("nichts erfassen" in i.value for i in at.info)
    else:
        assert actions <= button_keys(at)
    assert ("consent_mgmt__suppress" in button_keys(at)) is (role in CONFIGURE)

    for page, title in ((HISTORY, "Einwilligungsverlauf"), (OVERVIEW, "Compliance-Übersicht")):
        at = open_page(logged_in, role, page)
        assert title in at.title[0].value

    at = open_page(logged_in, role, TEXTS)
    if role in CONFIGURE:
        assert "Einwilligungstexte" in at.title[0].value
    else:
        assert not at.title and "Keine Berechtigung" in errors(at)


def test_picker_opens_the_chosen_contact_and_the_contact_page_links_here(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data, last_name="Auswahltest")
    at = open_page(logged_in, Role.MARKETING, MANAGEMENT)
    assert at.button(key="consent_mgmt__open").disabled
    at.text_input(key="consent_mgmt__search").input("Auswahltest").run()
    at.selectbox(key="consent_mgmt__pick").set_value(contact.id).run()
    at.button(key="consent_mgmt__open").click().run()
    assert_clean(at)
    assert contact.full_name in at.title[0].value
    at.button(key="consent_mgmt__other").click().run()
    assert_clean(at)
    assert at.title[0].value.endswith("Einwilligungen") and at.text_input(key="consent_mgmt__search") is not None

    at = logged_in(Role.SALES_REP)
    at.session_state["kontakt_detail__id"] = contact.id
    at.switch_page(CONTACT_PAGE).run()
    assert_clean(at)
    assert "Einwilligungen" in [tab.label for tab in at.tabs]
    matrix = next(d.value for d in at.dataframe if "Post" in d.value.columns)
    assert list(matrix.columns) == ["E-Mail", "SMS", "Telefon", "Post"]
    assert len(matrix) == len(list_purposes(uow(app_data, Role.ADMIN, app_clock)))
    assert set(matrix.to_numpy().ravel()) == {"nicht erfasst"}
    at.button(key="con_obj_consent__open").click().run()
    assert_clean(at)
    assert contact.full_name in at.title[0].value and "Einwilligungen" in at.tabs[0].label


# Actions ------------------------------------------------------------------------------------------
def test_grant_through_the_dialog_needs_evidence_and_records_a_ledger_entry(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data)
    newsletter = purpose_ids(app_data, app_clock)["newsletter"]
    at = open_consent_page(logged_in, Role.SALES_REP, contact.id)
    at.button(key="consent_mgmt__grant").click().run()
    at.selectbox(key="consent_mgmt_grant__channel").set_value("email").run()
    at.selectbox(key="consent_mgmt_grant__purpose").set_value(newsletter).run()
    at.selectbox(key="consent_mgmt_grant__source").set_value("phone").run()
    assert "Version" in texts(at) and "SHA-256" in texts(at), "the wording agreed to is shown"
    at.button(key="consent_mgmt_grant__go").click().run()
    assert_clean(at)
    assert "Nachweis" in errors(at), "consent needs its evidence"
    assert cell(app_data, app_clock, contact.id, "email", "newsletter").entry is None

    at.text_area(key="consent_mgmt_grant__evidence").input("Telefonat am 25.11.2026, Notiz 4711").run()
    at.button(key="consent_mgmt_grant__go").click().run()
    assert_clean(at)
    entry = cell(app_data, app_clock, contact.id, "email", "newsletter").entry
    assert entry is not None
    assert (entry.status, entry.legal_basis, entry.source) == ("granted", "consent", "phone")
    assert entry.evidence == "Telefonat am 25.11.2026, Notiz 4711" and entry.text_version is not None
    assert entry.actor_name == app_data.users[Role.SALES_REP].username
    assert any("Einwilligung „Newsletter“ per E-Mail erfasst." in toast.value for toast in at.toast)
    assert "1 von" in texts(at)
    assert "erteilt" in badges(at)
    proof = next(d.value for d in at.dataframe if "Angabe" in d.value.columns)
    shown = dict(zip(proof["Angabe"], proof["Wert"]))
    assert shown["Nachweis"] == "Telefonat am 25.11.2026, Notiz 4711" and shown["Quelle"] == "Telefon"
    assert shown["Textversion"] == f"Version {entry.text_version} · SHA-256 {entry.text_sha256}"
    assert shown["Adresse"] == contact.email and shown["Hash des Eintrags"] == entry.hash


def test_withdraw_with_a_reason(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    contact = person(app_data)
    grant_consent(uow(app_data, Role.MARKETING, app_clock), contact_id=contact.id, channel="email",
                  purpose="veranstaltungen", source="event", evidence="Messeformular")
    events = purpose_ids(app_data, app_clock)["veranstaltungen"]
    at = open_consent_page(logged_in, Role.MARKETING, contact.id)
    at.button(key="consent_mgmt__revoke").click().run()
    at.selectbox(key="consent_mgmt_revoke__channel").set_value("email").run()
    at.selectbox(key="consent_mgmt_revoke__purpose").set_value(events).run()
    assert "Aktueller Stand: erteilt" in texts(at)
    at.text_input(key="consent_mgmt_revoke__reason").input("Anruf: keine Einladungen mehr")
    at.button(key="consent_mgmt_revoke__go").click().run()
    assert_clean(at)
    entry = cell(app_data, app_clock, contact.id, "email", "veranstaltungen").entry
    assert entry is not None and (entry.action, entry.reason) == ("revoked", "Anruf: keine Einladungen mehr")
    assert any("widerrufen" in toast.value for toast in at.toast)
    ledger = at.dataframe[1].value  # the "Verlauf" tab: newest first
    assert list(ledger["Vorgang"])[:2] == ["widerrufen", "erteilt"]


def test_request_doi_sends_the_confirmation_mail_at_once(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("CRM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CRM_SMTP_STARTTLS", "false")
    get_settings.cache_clear()
    contact = person(app_data, email="doi.person@example.de")
    newsletter = purpose_ids(app_data, app_clock)["newsletter"]
    at = open_consent_page(logged_in, Role.SALES_MANAGER, contact.id)
    at.button(key="consent_mgmt__doi").click().run()
    assert "d***@example.de" in texts(at)
    at.selectbox(key="consent_mgmt_doi__purpose").set_value(newsletter).run()
    at.button(key="consent_mgmt_doi__go").click().run()
    assert_clean(at)
    assert [s.value for s in at.success] == ["Bestätigungs-E-Mail an d***@example.de gesendet."]
    [mail] = smtp_server.messages
    assert smtp_server.recipients == [["doi.person@example.de"]]
    assert "/p/doi/" in mail.get_body(("plain",)).get_content()
    with session_factory(app_data.url)() as session:
        request = session.scalars(select(DoiRequest).where(DoiRequest.contact_id == contact.id)).one()
        message = session.get(EmailMessage, request.email_message_id)
        assert message is not None and message.status == "sent"
    entry = cell(app_data, app_clock, contact.id, "email", "newsletter").entry
    assert entry is not None and (entry.action, entry.status) == ("requested", "pending")
    assert "ausstehend (DOI)" in badges(at)

    # A second request within the throttle window is refused with the service's message.
    at.button(key="consent_mgmt__doi").click().run()
    at.selectbox(key="consent_mgmt_doi__purpose").set_value(newsletter).run()
    at.button(key="consent_mgmt_doi__go").click().run()
    assert_clean(at)
    assert "erneuter Versand ist in" in errors(at)
    assert len(smtp_server.messages) == 1


def test_doi_mail_that_cannot_be_delivered_stays_queued(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp_server.stop()  # the SMTP server is down: the mail waits in the queue for the next attempt
    monkeypatch.setenv("CRM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("CRM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CRM_SMTP_STARTTLS", "false")
    get_settings.cache_clear()
    contact = person(app_data, email="warte.schlange@example.de")
    at = open_consent_page(logged_in, Role.SALES_REP, contact.id)
    at.button(key="consent_mgmt__doi").click().run()
    at.selectbox(key="consent_mgmt_doi__purpose").set_value(purpose_ids(app_data, app_clock)["umfragen"]).run()
    at.button(key="consent_mgmt_doi__go").click().run()
    assert_clean(at)
    assert [w.value for w in at.warning] == [
        "Die Bestätigungs-E-Mail an w***@example.de ist im Postausgang: "
        "Zustellung fehlgeschlagen, ein neuer Versuch ist geplant."
    ]
    with session_factory(app_data.url)() as session:
        request = session.scalars(select(DoiRequest).where(DoiRequest.contact_id == contact.id)).one()
        message = session.get(EmailMessage, request.email_message_id)
        assert message is not None and message.status == "queued" and message.attempts == 1


def test_restriction_noted_by_marketing_and_lifted_by_compliance(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data)
    at = open_consent_page(logged_in, Role.MARKETING, contact.id)
    at.button(key="consent_mgmt__restrict").click().run()
    at.radio(key="consent_mgmt_restrict__kind").set_value("objection").run()
    at.button(key="consent_mgmt_restrict__go").click().run()
    assert "Begründung" in errors(at), "a reason is required"
    at.text_area(key="consent_mgmt_restrict__reason").input("Schreiben vom 24.11.2026")
    at.button(key="consent_mgmt_restrict__go").click().run()
    assert_clean(at)
    [objection] = restrictions_of(uow(app_data, Role.ADMIN, app_clock), contact.id)
    assert (objection.kind, objection.reason, objection.active) == ("objection", "Schreiben vom 24.11.2026", True)
    assert "Widerspruch gegen Direktwerbung (Art. 21)" in badges(at)
    assert f"consent_mgmt__lift_{objection.id}" not in button_keys(at), "marketing may note but not lift"

    at = open_consent_page(logged_in, Role.COMPLIANCE, contact.id)
    at.button(key=f"consent_mgmt__lift_{objection.id}").click().run()
    at.text_input(key="consent_mgmt_lift__reason").input("Person hat den Widerspruch zurückgenommen")
    at.button(key="consent_mgmt_lift__go").click().run()
    assert_clean(at)
    [lifted] = restrictions_of(uow(app_data, Role.ADMIN, app_clock), contact.id)
    assert not lifted.active and lifted.lifted_reason == "Person hat den Widerspruch zurückgenommen"
    assert not any(b.startswith("Widerspruch") for b in badges(at))


def test_restricted_contact_cannot_be_granted_consent(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data)
    add_restriction(uow(app_data, Role.COMPLIANCE, app_clock), contact_id=contact.id, kind="restriction",
                    reason="Richtigkeit bestritten")
    at = open_consent_page(logged_in, Role.ADMIN, contact.id)
    at.button(key="consent_mgmt__grant").click().run()
    at.text_area(key="consent_mgmt_grant__evidence").input("Formular")
    at.button(key="consent_mgmt_grant__go").click().run()
    assert_clean(at)
    assert "eingeschränkt (Art. 18 DSGVO)" in errors(at)
    assert all(c.entry is None for c in consent_matrix(uow(app_data, Role.ADMIN, app_clock), contact.id))


def test_suppress_the_contacts_addresses_after_confirmation(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data, phone="+49 221 5550123")
    at = open_consent_page(logged_in, Role.COMPLIANCE, contact.id)
    assert any(f.value == "**nicht gesperrt**" for f in at.markdown)
    at.button(key="consent_mgmt__suppress").click().run()
    assert contact.email in texts(at) and "+49 221 5550123" in texts(at)
    at.selectbox(key="consent_mgmt_suppress__reason").set_value("complaint").run()
    at.button(key="consent_mgmt_suppress__go").click().run()
    assert_clean(at)
    assert any("2 Adresse(n) gesperrt, 0 waren bereits gesperrt." in toast.value for toast in at.toast)
    assert any(f.value == "**gesperrt: E-Mail, Telefon**" for f in at.markdown)
    assert "Adresse auf der Sperrliste" in badges(at)


# Ledger list and chain check ---------------------------------------------------------------------
def test_history_filters_by_contact_channel_and_action_and_checks_the_chain(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data, last_name="Verlaufstest", mobile="+49 171 5550199")
    other = person(app_data)
    entries = [
        grant_consent(uow(app_data, Role.SALES_REP, app_clock), contact_id=target.id, channel=channel,
                      purpose="produktinformationen", source="sales", evidence="Vertragsformular")
        for target, channel in ((contact, "email"), (contact, "sms"), (other, "email"))
    ]
    at = open_page(logged_in, Role.VIEWER, HISTORY)
    at.text_input(key="consent_hist__search").input(str(contact.id)).run()
    assert_clean(at)
    assert any(c.value.startswith("2 Einträge") for c in at.caption)
    day = app_clock().date()  # 25.11.2026, the day of the entries (Europe/Berlin)
    at.date_input(key="consent_hist__filter_since").set_value(day).run()
    at.date_input(key="consent_hist__filter_until").set_value(day).run()
    assert any(c.value.startswith("2 Einträge") for c in at.caption), "both ends of the period are included"
    at.date_input(key="consent_hist__filter_since").set_value(day + dt.timedelta(days=1)).run()
    assert any("Keine Treffer" in i.value for i in at.info)
    at.date_input(key="consent_hist__filter_since").set_value(None)
    at.date_input(key="consent_hist__filter_until").set_value(None).run()
    at.text_input(key="consent_hist__search").input("Verlaufstest").run()
    assert any(c.value.startswith("2 Einträge") for c in at.caption), "a unique name finds the contact"
    at.selectbox(key="consent_hist__filter_channel").set_value("sms").run()
    assert any(c.value.startswith("1 Einträge") for c in at.caption)
    at.selectbox(key="consent_hist__filter_channel").set_value(None)
    at.selectbox(key="consent_hist__filter_action").set_value("revoked").run()
    assert any("Keine Treffer" in i.value for i in at.info)

    at.button(key="consent_hist__check").click().run()
    assert_clean(at)
    with session_factory(app_data.url)() as session:
        checked = verify_ledger(session).checked
    assert [s.value for s in at.success] == [f"Kette intakt: {checked} Einträge geprüft."]

    at.selectbox(key="consent_hist__filter_action").set_value(None).run()
    next(m for m in at.multiselect if m.label == "Auswahl").set_value([entries[1]]).run()
    at.button(key="consent_hist__open").click().run()
    assert_clean(at)
    assert contact.full_name in at.title[0].value, "Öffnen leads to the entry's contact"


def test_history_link_from_the_consent_page_filters_by_the_contact(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data)
    grant_consent(uow(app_data, Role.ADMIN, app_clock), contact_id=contact.id, channel="email",
                  purpose="umfragen", source="webform", evidence="Webformular Umfrage 2026")
    at = logged_in(Role.COMPLIANCE)
    at.query_params["contact_id"] = str(contact.id)
    at.switch_page(HISTORY).run()
    assert_clean(at)
    assert at.selectbox(key="consent_hist__filter_contact_id").value == contact.id
    assert any(c.value.startswith("1 Einträge") for c in at.caption)


# Overview and texts ------------------------------------------------------------------------------
def test_overview_shows_key_figures_rates_and_expiring_proofs(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data)
    grant_consent(uow(app_data, Role.ADMIN, app_clock), contact_id=contact.id, channel="email", purpose="newsletter",
                  source="event", evidence="Messe", valid_until=app_clock() + dt.timedelta(days=10))
    at = open_page(logged_in, Role.MARKETING, OVERVIEW)
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Offene Double-Opt-ins", "Überfällige Double-Opt-ins", "Bestätigungsquote DOI"]
    rates = next(d.value for d in at.dataframe if "Opt-in-Quote" in d.value.columns)
    row = rates[(rates["Zweck"] == "Newsletter") & (rates["Kanal"] == "E-Mail")].iloc[0]
    assert row["Opt-in-Quote"].endswith("%")
    expiring = at.dataframe[-1].value
    assert contact.id in list(expiring["Kontakt-Nr."])


def test_texts_admin_creates_version_2_and_refuses_an_unchanged_text(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    at = open_page(logged_in, Role.COMPLIANCE, TEXTS)
    umfragen = purpose_ids(app_data, app_clock)["umfragen"]
    at.selectbox(key="consent_texts__text_purpose").set_value(umfragen).run()
    before = [v for v in text_versions(uow(app_data, Role.ADMIN, app_clock), umfragen) if v.language == "de"]
    latest = before[0]
    key = f"consent_texts__text_{umfragen}_de_{latest.version}"
    assert at.text_area(key=f"{key}__body").value == latest.body, "prefilled with the current wording"
    at.button(key=f"FormSubmitter:{key}__form-Als Version {latest.version + 1} speichern").click().run()
    assert "unverändert" in errors(at)

    at.text_area(key=f"{key}__body").input(latest.body + " Die Teilnahme ist freiwillig.")
    at.button(key=f"FormSubmitter:{key}__form-Als Version {latest.version + 1} speichern").click().run()
    assert_clean(at)
    after = [v for v in text_versions(uow(app_data, Role.ADMIN, app_clock), umfragen) if v.language == "de"]
    assert [v.version for v in after] == [latest.version + 1, *[v.version for v in before]]
    assert after[0].body.endswith("Die Teilnahme ist freiwillig.") and after[0].sha256 != latest.sha256
    assert after[1].body == latest.body, "the old version is kept as it was"
    assert any(f"Version {latest.version + 1} (Deutsch) angelegt." in toast.value for toast in at.toast)


def test_texts_admin_creates_and_deactivates_a_purpose(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    key = f"webinare{next(_seq)}"
    at = open_page(logged_in, Role.ADMIN, TEXTS)
    form = "FormSubmitter:consent_texts__new_purpose-Zweck anlegen"
    at.text_input(key="consent_texts__new_key").input("Falscher Schlüssel!")
    at.text_input(key="consent_texts__new_name_de").input("Webinare")
    at.text_input(key="consent_texts__new_name_en").input("Webinars")
    at.button(key=form).click().run()
    assert "Schlüssel" in errors(at), "the key's rule is named by its label"
    at.text_input(key="consent_texts__new_key").input(key)
    at.button(key=form).click().run()
    assert_clean(at)
    created = next(p for p in list_purposes(uow(app_data, Role.ADMIN, app_clock), include_inactive=True) if p.key == key)
    assert created.active and created.marketing and not created.tracking

    at.selectbox(key="consent_texts__activation_purpose").set_value(created.id).run()
    at.button(key="consent_texts__activation_go").click().run()
    assert "Begründung" in errors(at) and created.id in purpose_ids(app_data, app_clock).values()
    at.text_input(key=f"consent_texts__activation_reason_{created.id}_True").input("Testzweck, wird nicht gebraucht")
    at.button(key="consent_texts__activation_go").click().run()
    assert_clean(at)
    assert created.id not in purpose_ids(app_data, app_clock).values(), "deactivated: no longer offered"
    assert any("Zweck „Webinare“ deaktiviert." in toast.value for toast in at.toast)


def test_suppression_list_add_and_lift_an_address(logged_in: LoggedIn, app_data: AppData) -> None:
    address = f"gesperrt{next(_seq)}@example.de"
    at = open_page(logged_in, Role.COMPLIANCE, TEXTS)
    submit = "FormSubmitter:consent_texts__suppress-Sperren"
    before = len(next(d.value for d in at.dataframe if "Hash" in d.value.columns)) if any(
        "Hash" in d.value.columns for d in at.dataframe) else 0
    at.text_input(key="consent_texts__suppress_address").input(address)
    at.button(key=submit).click().run()
    assert_clean(at)
    assert any("Adresse gesperrt." in toast.value for toast in at.toast)
    table = next(d.value for d in at.dataframe if "Hash" in d.value.columns)
    assert len(table) == before + 1 and table.iloc[0]["Art"] == "E-Mail" and table.iloc[0]["Grund"] == "manuell gesperrt"
    assert address not in table.to_string(), "only the keyed hash is stored"
    entry_id = int(table.iloc[0]["Nr."])

    at.selectbox(key="consent_texts__lift_pick").set_value(entry_id).run()
    at.button(key="consent_texts__lift").click().run()
    assert "Danach darf die Adresse wieder angeschrieben werden" in texts(at), "a dialog asks first"
    at.button(key="consent_texts__lift_yes").click().run()
    assert "Begründung" in errors(at), "lifting needs a reason"
    at.text_input(key="consent_texts__lift_reason").input("irrtümlich gesperrt")
    at.button(key="consent_texts__lift_yes").click().run()
    assert_clean(at)
    assert any(f"Sperre Nr. {entry_id} aufgehoben." in toast.value for toast in at.toast)
    table = next((d.value for d in at.dataframe if "Hash" in d.value.columns), None)
    assert table is None or entry_id not in list(table["Nr."])


def test_consent_page_in_english(logged_in: LoggedIn, app_data: AppData) -> None:
    contact = person(app_data)
    at = logged_in(Role.ADMIN, lang="en")
    at.session_state["consent_management__id"] = contact.id
    at.switch_page(MANAGEMENT).run()
    assert_clean(at)
    assert at.button(key="consent_mgmt__grant").label == "Record consent"
    assert [tab.label for tab in at.tabs] == ["Consents", "History", "Restrictions", "Preference centre"]
    assert "not recorded" in badges(at) and "E-mail" in texts(at)
    for page, title in ((HISTORY, "Consent history"), (OVERVIEW, "Compliance overview"), (TEXTS, "Consent texts")):
        at.switch_page(page).run()
        assert_clean(at)
        assert at.title[0].value.endswith(title)
    assert {"Purposes", "Texts", "Suppression list", "Deutsch", "English"} <= {tab.label for tab in at.tabs}
