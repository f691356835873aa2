"""End to end in a real browser: log in, every section, a contact created and edited, roles, logout.

Runs against `streamlit run` and uvicorn from conftest.py (own seeded SQLite database).
Screenshots (1440x900) go to test-artifacts/e2e-*.png.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ARTIFACTS, DEMO_PASSWORD, Servers

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

# Every section and page the admin's sidebar lists: (section, link, heading, screenshot name).
ADMIN_PAGES = [
    ("Vertrieb", "Verkaufschancen", "Verkaufschancen", "e2e-01a-verkaufschancen"),
    ("Vertrieb", "Pipeline", "Pipeline", "e2e-01b-pipeline"),
    ("Vertrieb", "Produkte", "Produkte", "e2e-01c-produkte"),
    ("Marketing", "Segmente", "Segmente", "e2e-01d-segmente"),
    ("Marketing", "Segment-Editor", "Neues Segment", "e2e-01e-segment-editor"),
    ("Stammdaten", "Firmen", "Firmen", "e2e-02-firmen"),
    ("Stammdaten", "Kontakte", "Kontakte", "e2e-03-kontakte"),
    ("Stammdaten", "Dubletten", "Dubletten", "e2e-03b-dubletten"),
    ("Stammdaten", "Zusammenführen", "Zusammenführen", "e2e-03c-zusammenfuehren"),
    ("Stammdaten", "Import-Assistent", "Import-Assistent", "e2e-03d-import"),
    ("Berichte", "Stammdaten-Bericht", "Stammdaten-Bericht", "e2e-04-stammdaten-bericht"),
    ("Berichte", "Trichteranalyse", "Trichteranalyse", "e2e-04a-trichteranalyse"),
    ("Berichte", "Umsatzprognose", "Umsatzprognose", "e2e-04b-umsatzprognose"),
    ("Compliance", "Audit-Protokoll", "Audit-Protokoll", "e2e-05-audit-protokoll"),
    ("Compliance", "Einwilligungen", "Einwilligungen", "e2e-05a-einwilligungen"),
    ("Compliance", "Einwilligungsverlauf", "Einwilligungsverlauf", "e2e-05b-einwilligungsverlauf"),
    ("Compliance", "Compliance-Übersicht", "Compliance-Übersicht", "e2e-05c-compliance-uebersicht"),
    ("Compliance", "Betroffenenanfragen", "Betroffenenanfragen", "e2e-05d-betroffenenanfragen"),
    ("Compliance", "Auskunft / Datenexport", "Datenexport", "e2e-05e-auskunft-datenexport"),  # no "/" in a heading name pattern
    ("Compliance", "Datenschutz-Cockpit", "Datenschutz-Cockpit", "e2e-05f-datenschutz-cockpit"),
    ("Administration", "Benutzer", "Benutzer", "e2e-06-benutzer"),
    ("Administration", "API-Schlüssel", "API-Schlüssel", "e2e-07-api-schluessel"),
    ("Administration", "Ereignisse", "Ereignisse", "e2e-08-ereignisse"),
    ("Administration", "Dublettenprüfung", "Dublettenprüfung", "e2e-08b-dublettenpruefung"),
    ("Administration", "Vertrieb einrichten", "Vertrieb einrichten", "e2e-08c-vertrieb-einrichten"),
    ("Administration", "Einwilligungstexte", "Einwilligungstexte", "e2e-08d-einwilligungstexte"),
    ("Administration", "Postausgang", "Postausgang", "e2e-08e-postausgang"),
]


# Helpers ----------------------------------------------------------------------------------------
def idle(page: Page) -> None:
    """Wait until the script run triggered by the last interaction has finished."""
    page.wait_for_selector(IDLE)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def last_company(servers: Servers) -> tuple[str, str]:
    """The company that sorts last: never among the picker's first matches without a search."""
    import sqlite3

    path = servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        name, city = db.execute("SELECT name, city FROM accounts ORDER BY name DESC LIMIT 1").fetchone()
    return str(name), str(city)


def heading(page: Page, text: str) -> Locator:
    """The page title (st.title renders an h1; a Material icon may precede the text)."""
    return page.get_by_role("heading", level=1, name=re.compile(rf"{re.escape(text)}$"))


def expect_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def log_in(page: Page, servers: Servers, username: str) -> None:
    page.goto(servers.ui)
    idle(page)
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Guten Tag, "))).to_be_visible()
    idle(page)


def kpi_value(page: Page, label: str) -> int:
    """The number a KPI card shows, German thousands separators removed ("2.000" -> 2000)."""
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").filter(has_text=label))
    text = metric.get_by_test_id("stMetricValue").inner_text().strip()
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*", text), f"KPI {label!r} shows {text!r}, not a number"
    return int(text.replace(".", ""))


def open_from_sidebar(page: Page, link: str) -> None:
    sidebar(page).get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(rf"{re.escape(link)}$")).click()


def api_get(servers: Servers, path: str, key: str) -> Any:
    request = urllib.request.Request(f"{servers.api}{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def history_rows(page: Page) -> list[list[str]]:
    """The change log's rows as texts. st.dataframe paints on a canvas; its cells are mirrored (debounced)
    in an accessibility table inside the canvas, which role locators do not reach, hence CSS."""
    grid = page.get_by_test_id("stTabPanel").filter(visible=True).get_by_test_id("stDataFrame")
    expect(grid).to_be_visible()
    rows = grid.locator("table[role='grid'] tbody tr[role='row']")
    expect(rows.first).to_be_attached()
    return [
        [(text or "").strip() for text in row.locator("td[role='gridcell']").all_text_contents()] for row in rows.all()
    ]


# Tests ------------------------------------------------------------------------------------------
def test_admin_start_page_shows_real_figures(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.admin")

    expect(page.get_by_role("heading", level=1, name=re.compile("Guten Tag, "))).to_be_visible()
    assert kpi_value(page, "Firmen gesamt") == 402  # 400 generated + 2 planted duplicates (0.5 %)
    assert kpi_value(page, "Kontakte gesamt") >= 2000
    assert kpi_value(page, "Aktive Benutzer") > 0
    expect(page.get_by_text(re.compile(r"Kette intakt: [\d.]+ Einträge geprüft"))).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("Administration", exact=True).first).to_be_visible()
    expect_no_exception(page)
    shot(page, "e2e-01-start")


def test_admin_navigates_every_section(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.admin")
    headers = sidebar(page).get_by_test_id("stNavSectionHeader")
    sections = ["Vertrieb", "Marketing", "Compliance", "Berichte", "Stammdaten", "Administration"]  # menu order; the text ends in an icon
    expect(headers).to_have_text([re.compile(rf"^{name}") for name in sections])
    assert set(sections) == {section for section, *_ in ADMIN_PAGES}
    expect(sidebar(page).get_by_test_id("stSidebarNavLink")).to_have_count(1 + len(ADMIN_PAGES))  # + Start

    for _section, link, title, name in ADMIN_PAGES:
        open_from_sidebar(page, link)
        expect(heading(page, title)).to_be_visible()
        idle(page)
        expect_no_exception(page)
        if link in ("Firmen", "Kontakte", "Segmente", "Verkaufschancen"):
            count = page.get_by_text(re.compile(rf"^[\d.]+ {link} · Seite 1 von \d+$"))
            expect(count).to_be_visible()
            grid = page.get_by_test_id("stCustomComponentV1").first.content_frame
            expect(grid.locator(".ag-center-cols-container .ag-row").first).to_be_visible()  # AG Grid rows
        elif link == "Stammdaten-Bericht":
            expect(page.get_by_role("heading", name="Firmen nach Branche")).to_be_visible()
        elif link == "Audit-Protokoll":
            expect(page.get_by_text(re.compile(r"^[\d.]+ Einträge, neueste zuerst$"))).to_be_visible()
        elif link == "Benutzer":
            expect(page.get_by_text(re.compile(r"^\d+ Benutzer$"))).to_be_visible()
        elif link == "Ereignisse":
            expect(page.get_by_text(re.compile(r"^[\d.]+ Ereignisse, neueste zuerst$"))).to_be_visible()
        elif link == "API-Schlüssel":
            expect(page.get_by_role("button", name="Schlüssel erzeugen")).to_be_visible()
        elif link == "Import-Assistent":
            expect(page.get_by_test_id("stFileUploader")).to_be_visible()
        page.wait_for_timeout(300)  # let charts and grids finish painting for the screenshot
        shot(page, name)


def test_create_and_edit_contact(page: Page, servers: Servers) -> None:
    from core.apikeys import create_api_key
    from core.database import session_factory
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork

    log_in(page, servers, "demo.admin")
    open_from_sidebar(page, "Kontakte")
    expect(heading(page, "Kontakte")).to_be_visible()
    idle(page)
    page.get_by_role("button", name="Neuer Kontakt").click()
    expect(heading(page, "Neuer Kontakt")).to_be_visible()
    idle(page)

    page.get_by_label("Vorname").fill("Erika")
    page.get_by_label("Nachname").fill("Musterfrau")
    # The picker lists only the first matches; the last company alphabetically must be searched for.
    name, city = last_company(servers)
    page.get_by_label("Firma suchen").fill(name.split()[0])
    page.get_by_label("Firma suchen").press("Enter")
    idle(page)
    expect(page.get_by_label("Vorname")).to_have_value("Erika")  # typed form input survives the search
    company = page.get_by_role("combobox", name="Firma", exact=True)
    company.click()
    page.get_by_role("option", name=f"{name} ({city})").click()
    expect(company).to_have_value(f"{name} ({city})")
    page.get_by_label("Position").fill("Einkäuferin")
    page.get_by_label("E-Mail").fill("erika.musterfrau@albers-werkzeugbau.de")
    page.get_by_label("Ort", exact=True).fill("Köln")
    expect(page.get_by_test_id("stDateInput").filter(has_text="Geburtsdatum")).to_be_visible()
    heading(page, "Neuer Kontakt").click()  # blur the last input (hides "Press Enter to submit form")
    shot(page, "e2e-09-kontakt-neu")
    page.get_by_role("button", name="Kontakt anlegen").click()

    expect(page.get_by_test_id("stToast").filter(has_text="Gespeichert.")).to_be_visible()
    expect(heading(page, "Erika Musterfrau")).to_be_visible()
    idle(page)
    expect_no_exception(page)
    expect(page.get_by_text(re.compile(r"Version 1$"))).to_be_visible()
    expect(page.get_by_text(name, exact=True)).to_be_visible()  # the Firma facet
    contact_id = int(re.search(r"[?&]id=(\d+)", page.url).group(1))  # type: ignore[union-attr]

    position = page.get_by_label("Position")
    expect(position).to_have_value("Einkäuferin")
    position.fill("Leiterin Einkauf")
    page.get_by_role("textbox", name="Grund der Änderung").fill("Beförderung laut E-Mail")
    page.get_by_role("button", name="Speichern").click()

    expect(page.get_by_text(re.compile(r"Version 2$"))).to_be_visible()
    idle(page)
    expect_no_exception(page)
    expect(page.get_by_text("Leiterin Einkauf", exact=True)).to_be_visible()  # the Position facet

    page.get_by_role("tab", name="Änderungsprotokoll").click()
    idle(page)
    expect(page.get_by_text(re.compile(r"^\d+ Einträge, neueste zuerst$"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Kette geprüft"))).to_be_visible()
    rows = history_rows(page)
    # Zeitpunkt, Objekt, Wer, Aktion, Feld, Alter Wert, Neuer Wert, Grund — newest first: the edit, then the creation.
    assert rows[0][1] == "Kontakt", rows
    assert rows[0][3:] == ["geändert", "Position", "Einkäuferin", "Leiterin Einkauf", "Beförderung laut E-Mail"], rows
    created = {row[4]: row[6] for row in rows[1:] if row[3] == "angelegt"}
    assert created["Vorname"] == "Erika" and created["Nachname"] == "Musterfrau", rows
    assert created["Firma"] == f"{name} ({city})", rows  # the company as the picker names it
    assert created["Position"] == "Einkäuferin" and created["Ort"] == "Köln", rows
    shot(page, "e2e-10-kontakt-aenderungsprotokoll")

    # The REST API (its own process, same database) sees the edited contact.
    uow = UnitOfWork(session_factory(servers.env["CRM_DATABASE_URL"]), actor=SYSTEM)
    key = create_api_key(uow, name="e2e-browser-test", scopes="contacts.read").key
    contact = api_get(servers, f"/api/v1/contacts/{contact_id}", key)
    assert (contact["first_name"], contact["last_name"]) == ("Erika", "Musterfrau")
    assert contact["account_name"] == name
    assert contact["job_title"] == "Leiterin Einkauf"
    assert contact["email"] == "erika.musterfrau@albers-werkzeugbau.de"
    assert contact["city"] == "Köln"
    assert contact["version"] == 2
    found = api_get(servers, "/api/v1/contacts?q=erika.musterfrau%40albers-werkzeugbau.de", key)
    assert [item["id"] for item in found["items"]] == [contact_id]


def test_sales_rep_sees_no_administration(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.vertrieb1")

    expect(page.get_by_role("heading", name="Meine Arbeit")).to_be_visible()
    assert kpi_value(page, "Meine Firmen") > 0
    headers = sidebar(page).get_by_test_id("stNavSectionHeader")
    expect(headers.filter(has_text="Stammdaten")).to_have_count(1)
    expect(headers.filter(has_text="Administration")).to_have_count(0)
    # Compliance shows only the consent pages: a sales rep records and checks consents, but reads no audit log.
    expect(headers.filter(has_text="Compliance")).to_have_count(1)
    links = sidebar(page).get_by_test_id("stSidebarNavLink")
    for hidden in ("Benutzer", "API-Schlüssel", "Ereignisse", "Audit-Protokoll", "Einwilligungstexte", "Postausgang",
                   "Betroffenenanfragen", "Datenschutz-Cockpit", "Auskunft / Datenexport"):
        expect(links.filter(has_text=hidden)).to_have_count(0)
    for shown in ("Kontakte", "Einwilligungen"):
        expect(links.filter(has_text=shown)).to_have_count(1)
    expect_no_exception(page)
    shot(page, "e2e-11-vertrieb-start")


def test_logout_returns_to_login_form(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.vertriebsleitung")

    sidebar(page).get_by_role("button", name="Abmelden").click()
    expect(page.get_by_text("Sie haben sich abgemeldet.")).to_be_visible()
    expect(page.get_by_label("Benutzername")).to_be_visible()
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    expect(sidebar(page).get_by_test_id("stSidebarNavLink")).to_have_count(0)
    shot(page, "e2e-12-abgemeldet")
