"""The import assistant: AppTest cannot drive st.file_uploader, so the tests put the parsed file into
session state (as step 1 does after reading an upload) and drive the wizard from the mapping step on."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.database import session_factory
from core.imports import read_file
from core.permissions import Role
from db.models import Contact, ImportRun
from tests.app.conftest import AppData, LoggedIn

PAGE = "pages/import_assistent.py"
CSV = (
    "Externe ID;Vorname;Nachname;Geburtsdatum;PLZ;Firma;Lieblingsfarbe\r\n"
    "APP-1;Anna;Import;01.02.1980;50667;Müller Maschinenbau;blau\r\n"
    "APP-2;Bernd;;1980-13-01;5066;;grün\r\n"
).encode("cp1252")


def at_mapping_step(logged_in: LoggedIn, role: Role = Role.SALES_MANAGER) -> AppTest:
    at = logged_in(role)
    at.session_state["import__entity"] = "contacts"
    at.session_state["import__table"] = read_file(CSV, "kontakte.csv")
    at.session_state["import__step"] = 1
    return at.switch_page(PAGE).run()


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_step_renders_for_a_sales_rep(logged_in: LoggedIn) -> None:
    at = clean(logged_in(Role.SALES_REP).switch_page(PAGE).run())
    assert at.title[0].value.endswith("Import-Assistent")
    assert at.radio(key="import__entity_choice").options == ["Kontakte", "Firmen"]
    at = clean(logged_in(Role.MARKETING).switch_page(PAGE).run())
    assert at.radio(key="import__entity_choice").options == ["Kontakte"], "marketing may not import companies"


def test_mapping_is_prefilled_and_check_shows_the_german_report(logged_in: LoggedIn, app_data: AppData) -> None:
    at = clean(at_mapping_step(logged_in))
    assert at.selectbox(key="import__map_0").value == "external_id"
    assert at.selectbox(key="import__map_5").value == "company"
    assert at.selectbox(key="import__map_6").value is None, "unknown column is not imported"
    at = clean(at.button(key="import__check").click().run())
    report = at.dataframe[1].value
    assert list(report.columns) == ["Zeile", "Spalte", "Wert", "Grund"]
    assert [tuple(r) for r in report.itertuples(index=False)] == [
        (3, "Nachname", "", "Pflichtfeld"),
        (3, "Geburtsdatum", "1980-13-01", "kein gültiges Datum: 1980-13-01 gibt es nicht"),
        (3, "PLZ", "5066", "deutsche Postleitzahl hat fünf Ziffern"),
    ]
    preview = at.dataframe[0].value
    assert list(preview["Vorname"]) == ["Anna", "Bernd"]
    assert [m.value for m in at.metric] == ["1", "0", "1", "0"]
    assert any("Lieblingsfarbe" in c.value for c in at.caption)

    at = clean(at.button(key="import__run").click().run())
    assert any("abgelehnt" in e.value for e in at.error), "all-or-nothing refuses the faulty file"
    with session_factory(app_data.url)() as session:
        assert session.scalar(select(Contact.id).where(Contact.external_id == "APP-1")) is None

    at = clean(at_mapping_step(logged_in).button(key="import__check").click().run())
    at.radio(key="import__mode").set_value("valid-rows")
    at = clean(at.button(key="import__run").click().run())
    assert any("teilweise" in w.value for w in at.warning)
    assert [m.value for m in at.metric][:2] == ["1", "0"]
    with session_factory(app_data.url)() as session:
        anna = session.scalars(select(Contact).where(Contact.external_id == "APP-1")).one()
        assert anna.account_id == app_data.account.id
        run = session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(1)).one()
        assert (run.status, run.rows_created, run.rows_rejected) == ("teilweise", 1, 1)


def test_mapping_without_last_name_is_refused(logged_in: LoggedIn) -> None:
    at = at_mapping_step(logged_in)
    at.selectbox(key="import__map_2").select_index(0)
    at = clean(at.button(key="import__check").click().run())
    assert any("Pflichtfeld ohne Spalte: Nachname" in e.value for e in at.error)
    assert at.selectbox(key="import__map_0").value == "external_id", "still on the mapping step"
