"""The Auskunft / Datenexport wizard: a compliance officer walks an access request with confirmed identity and
records from the person to the download (package checked, generation in the request log); a request without an
identity check says what to do first and does not go on; a portability request preselects Art. 20; sales reps
cannot open the page."""

from __future__ import annotations

import io
import itertools
import json
import zipfile

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.contacts import ContactView, create_contact
from core.database import session_factory
from core.gdpr.registry import DATASETS
from core.gdpr.requests import RequestView, confirm_subject, receive_request, record_identity, request_log
from core.permissions import Role
from core.uow import UnitOfWork
from tests.app.conftest import AppData, LoggedIn
from tests.conftest import FrozenClock

PAGE = "pages/gdpr_export.py"
NS = "gdpr_export"
_seq = itertools.count(1)


def assert_clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def uow(app_data: AppData, clock: FrozenClock, role: Role = Role.COMPLIANCE) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor(), clock=clock)


def person(app_data: AppData, clock: FrozenClock) -> ContactView:
    """A contact of its own for one test (the app database is shared by all tests)."""
    n = next(_seq)
    return create_contact(
        uow(app_data, clock, Role.ADMIN),
        {"first_name": "Greta", "last_name": f"Auskunft{n}", "email": f"greta.a{n}@example.de", "city": "Bonn",
         "account_id": app_data.account.id},
    )


def request_for(
    app_data: AppData, clock: FrozenClock, contact: ContactView, *, type: str = "access", confirmed: bool = True
) -> RequestView:
    view = receive_request(
        uow(app_data, clock), type=type, channel="email", requester_name=f"{contact.first_name} {contact.last_name}",
        requester_email=contact.email,
    )
    if confirmed:
        record_identity(uow(app_data, clock), view.id, method="known_address", result="confirmed")
        view = confirm_subject(uow(app_data, clock), view.id, contact_ids=[contact.id])
    return view


def open_wizard(
    logged_in: LoggedIn, request_id: int, role: Role = Role.COMPLIANCE, *, lang: str = "de", via_link: bool = False
) -> AppTest:
    """The page with the request preselected as the request page does it: in session state, or `?request=`."""
    st.cache_data.clear()  # the tests record requests through the services: no cached read may hide them
    at = logged_in(role, lang=lang)
    if via_link:
        at.query_params["request"] = str(request_id)
    else:
        at.session_state[f"{NS}__request_id"] = request_id
    return assert_clean(at.switch_page(PAGE).run())


def next_step(at: AppTest, step: int) -> AppTest:
    return assert_clean(at.button(key=f"{NS}__next_{step}").click().run())


def progress(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def test_officer_walks_from_the_request_to_the_download(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data, app_clock)
    request = request_for(app_data, app_clock, contact)
    at = open_wizard(logged_in, request.id)
    assert at.title[0].value.endswith("Auskunft / Datenexport")
    assert progress(at) == "Schritt 1 von 5: Betroffene Person"
    assert at.selectbox(key=f"{NS}__pick").value == request.id, "preselected from the session"
    assert f"**{contact.first_name} {contact.last_name}**  \n**{contact.email}**" in [m.value for m in at.markdown]
    assert any("Identität bestätigt" in s.value for s in at.success)
    assert any("1 Kontakt(e), 0 Firma" in s.value for s in at.success)
    assert not at.warning

    at = next_step(at, 0)
    assert progress(at) == "Schritt 2 von 5: Gefundene Daten"
    overview = at.dataframe[0].value
    counts = dict(zip(overview["Datenbestand"], overview["Einträge"]))
    assert counts["Kontakte"] == 1
    contacts = next(e for e in at.expander if e.label.startswith("Kontakte ·"))
    sample = contacts.dataframe[0].value
    assert list(sample["email"]) == [contact.email]

    at = next_step(at, 1)
    assert progress(at) == "Schritt 3 von 5: Vorschau"
    assert at.checkbox(key=f"{NS}__portability").value is False, "an access request exports everything"
    files = list(at.dataframe[0].value["Datei"])
    assert files[:3] == ["auskunft.pdf", "data.json", "data.schema.json"] and files[-1] == "LIESMICH.txt"
    assert "contacts.csv" in files

    at = next_step(at, 2)
    assert progress(at) == "Schritt 4 von 5: Erstellen"
    assert at.button(key=f"{NS}__next_3").disabled, "no download before the package exists"
    at = assert_clean(at.button(key=f"{NS}__build").click().run())
    package = at.session_state[f"{NS}__package"]
    assert any(package.file_name in s.value for s in at.success)
    assert at.code[0].value == package.sha256
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("data.json"))
    assert set(files) == set(names), "the preview names what the package holds"
    assert contact.email in json.dumps(data, ensure_ascii=False)

    at = next_step(at, 3)
    assert progress(at) == "Schritt 5 von 5: Herunterladen"
    download = at.get("download_button")[0]
    assert download.proto.label == "ZIP-Paket herunterladen"
    assert any(f"Protokoll der Anfrage Nr. {request.id} vermerkt" in i.value for i in at.info)
    logged = [e for e in request_log(uow(app_data, app_clock), request.id) if e.details.get("sha256") == package.sha256]
    assert len(logged) == 1, "one generation, one log entry"

    at = assert_clean(at.button(key=f"{NS}__again").click().run())
    assert progress(at) == "Schritt 1 von 5: Betroffene Person"
    assert at.selectbox(key=f"{NS}__pick").value is None


def test_request_without_identity_check_says_what_to_do_and_blocks(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    contact = person(app_data, app_clock)
    request = request_for(app_data, app_clock, contact, confirmed=False)
    at = open_wizard(logged_in, request.id, via_link=True)
    assert at.selectbox(key=f"{NS}__pick").value == request.id, "preselected from ?request="
    warnings = [w.value for w in at.warning]
    assert any("Identität noch nicht bestätigt" in w and "nicht geprüft" in w and f"Anfrage Nr. {request.id}" in w
               for w in warnings)
    assert any("Noch keine Datensätze der Person bestätigt" in w for w in warnings)
    link = at.get("page_link")[0]
    assert link.proto.label == f"Anfrage Nr. {request.id} öffnen" and link.proto.query_string == f"id={request.id}"
    assert at.button(key=f"{NS}__next_0").disabled
    at.session_state[f"{NS}__step"] = 2  # a stale step cannot skip the check
    at = assert_clean(at.run())
    assert progress(at) == "Schritt 1 von 5: Betroffene Person"
    assert at.button(key=f"{NS}__next_0").disabled


def test_portability_request_preselects_article_20(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    contact = person(app_data, app_clock)
    request = request_for(app_data, app_clock, contact, type="portability")
    at = next_step(next_step(open_wizard(logged_in, request.id, Role.ADMIN), 0), 1)
    assert at.checkbox(key=f"{NS}__portability").value is True
    contents = dict(zip(at.dataframe[0].value["Datei"], at.dataframe[0].value["Inhalt"]))
    assert "Art. 20" in contents["data.json"]
    assert any("Kontakte" in c.value for c in at.caption if c.value.startswith("Bereitgestellte Daten stammen aus"))
    at.checkbox(key=f"{NS}__portability").uncheck()
    at = assert_clean(at.run())
    contents = dict(zip(at.dataframe[0].value["Datei"], at.dataframe[0].value["Inhalt"]))
    assert contents["data.json"].startswith("Alle gefundenen Daten")
    at.checkbox(key=f"{NS}__portability").check()
    at = assert_clean(at.run())
    files = set(at.dataframe[0].value["Datei"])

    at = assert_clean(next_step(at, 2).button(key=f"{NS}__build").click().run())
    package = at.session_state[f"{NS}__package"]
    assert package.file_name.startswith(f"Datenuebertragung-Anfrage-{request.id}-")
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert set(archive.namelist()) == files, "the preview names what the Art. 20 package holds"
        data = json.loads(archive.read("data.json"))
    assert data["portability"] is True
    row = data["records"]["contacts"][0]
    assert row["city"] == "Bonn" and set(row) <= DATASETS["contacts"].provided, "only what the person provided"


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING, Role.VIEWER])
def test_roles_without_gdpr_read_cannot_open_the_page(logged_in: LoggedIn, role: Role) -> None:
    at = assert_clean(logged_in(role).switch_page(PAGE).run())
    assert any("Keine Berechtigung" in e.value for e in at.error)
    assert not at.title, "the page itself did not run"


def test_page_speaks_english(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    request = request_for(app_data, app_clock, person(app_data, app_clock), confirmed=False)
    at = open_wizard(logged_in, request.id, Role.ADMIN, lang="en")
    assert at.title[0].value.endswith("Access / data export")
    assert progress(at) == "Step 1 of 5: Data subject"
    assert any("Identity not confirmed yet" in w.value and "not checked" in w.value for w in at.warning)
    assert at.button(key=f"{NS}__next_0").label == "Next"
