"""A deal's whole life in a real browser, as demo admin: created from the list, edited, moved, lost with a
reason, reopened, won; a second deal created and deleted. After each step the page is checked, a
screenshot saved (test-artifacts/opp-*.png), and the database must hold the step's audit entries and
outbox events. The demo seed may hold no deals: the test makes its own."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from core.subject_keys import decrypt
from tests.e2e.conftest import Servers
from tests.e2e.test_browser import expect_no_exception, heading, idle, log_in, open_from_sidebar, shot

pytestmark = pytest.mark.e2e

DEAL = "Fräszentrum Linie 3"
SECOND = "Wartungsvertrag Probe"


def database(servers: Servers) -> sqlite3.Connection:
    return sqlite3.connect(servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///"))


def deal_id(servers: Servers, name: str) -> int:
    with database(servers) as db:
        row = db.execute("SELECT id FROM opportunities WHERE name = ?", (name,)).fetchone()
    assert row, f"{name} is not in the database"
    return int(row[0])


def trail(servers: Servers, opportunity_id: int) -> tuple[list[tuple[str, str | None, str | None]], list[str]]:
    """(action, field, new value) of the deal's audit entries and the names of its events, oldest first.

    Free-text values (next step, description) are stored encrypted with their field's key: shown decrypted."""
    with database(servers) as db:
        audit = db.execute(
            "SELECT action, field, new_value, person_keys.key FROM audit_entries "
            "LEFT JOIN person_keys ON person_keys.id = audit_entries.subject_key_id "
            "WHERE entity = 'opportunity' AND entity_id = ? ORDER BY audit_entries.id",
            (str(opportunity_id),),
        ).fetchall()
        events = db.execute(
            "SELECT name FROM outbox_events WHERE entity = 'opportunity' AND entity_id = ? ORDER BY id",
            (str(opportunity_id),),
        ).fetchall()
    return [(action, field, decrypt(key, value)) for action, field, value, key in audit], [name for (name,) in events]


def facet(page: Page, label: str) -> Locator:
    """The value of a header key figure (a bordered block: caption, then the bold value)."""
    return page.locator(
        f"xpath=//div[@data-testid='stCaptionContainer']/p[normalize-space()='{label}']"
        "/ancestor::div[@data-testid='stVerticalBlock'][1]//strong"
    )


def toast(page: Page, text: str) -> None:
    expect(page.get_by_test_id("stToast").filter(has_text=text)).to_be_visible()


def current_stage(page: Page) -> Locator:
    return page.locator(".opp-path span.current, .opp-path span.won, .opp-path span.lost")


def dialog(page: Page) -> Locator:
    found = page.get_by_role("dialog")
    expect(found).to_be_visible()
    return found


def choose(page: Page, scope: Locator, label: str, option: str) -> None:
    """Pick an option of a selectbox (Streamlit renders the options in a popover list outside the widget)."""
    scope.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def fill_date(page: Page, scope: Locator, label: str, date: str) -> None:
    """Type a date into Streamlit's segmented date field (day, month, year segments advance by themselves)."""
    scope.get_by_role("spinbutton", name=f"day, {label}").click()
    page.keyboard.type(date.replace(".", ""))
    page.keyboard.press("Tab")
    idle(page)


def create_deal(page: Page, servers: Servers, name: str, amount: str, screenshot: str | None = None) -> int:
    open_from_sidebar(page, "Verkaufschancen")
    expect(heading(page, "Verkaufschancen")).to_be_visible()
    idle(page)
    page.get_by_role("button", name="Neue Verkaufschance").click()
    form = dialog(page)
    form.get_by_role("textbox", name="Bezeichnung").fill(name)
    with database(servers) as db:
        company, city = db.execute("SELECT name, city FROM accounts ORDER BY id LIMIT 1").fetchone()
    form.get_by_role("textbox", name="Firma suchen").fill(company)
    form.get_by_role("textbox", name="Firma suchen").press("Enter")
    idle(page)
    expect(form.get_by_role("textbox", name="Bezeichnung")).to_have_value(name)  # typed input survives the search
    choose(page, form, "Firma *", f"{company} ({city})")
    form.get_by_role("textbox", name="Betrag").fill(amount)
    form.get_by_role("textbox", name="Betrag").press("Tab")
    idle(page)
    fill_date(page, form, "Abschlussdatum", "31.03.2027")
    choose(page, form, "Quelle", "Messe")
    form.get_by_role("textbox", name="Wettbewerber").fill("Hermle")
    form.get_by_role("textbox", name="Wettbewerber").press("Tab")
    idle(page)
    if screenshot:
        shot(page, screenshot)
    form.get_by_role("button", name="Verkaufschance anlegen").click()
    expect(heading(page, name)).to_be_visible()
    idle(page)
    expect_no_exception(page)
    return deal_id(servers, name)


def test_deal_lifecycle_in_the_browser(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.admin")

    # 1. Create from the list page.
    opp = create_deal(page, servers, DEAL, "48.000", screenshot="opp-00-new-form")
    expect(facet(page, "Betrag")).to_have_text("48.000,00 €")
    expect(facet(page, "Gewichteter Betrag")).to_have_text("4.800,00 €")
    expect(facet(page, "Wahrscheinlichkeit")).to_have_text("10 %")
    expect(facet(page, "Abschlussdatum")).to_have_text("31.03.2027")
    expect(current_stage(page)).to_have_text("Qualifizierung ✓")
    shot(page, "opp-01-created")
    audit, events = trail(servers, opp)
    assert ("created", "amount", "48000") in audit and ("created", "lead_source", "Messe") in audit, audit
    assert events == ["crm.opportunity.created"]

    # 2. Edit amount and next step.
    page.get_by_role("textbox", name="Betrag").fill("52.500,50")
    page.get_by_role("textbox", name="Nächster Schritt").fill("Vorführung im Werk vereinbaren")
    page.get_by_role("textbox", name="Grund der Änderung").fill("Neues Angebot mit Spannvorrichtung")
    page.get_by_role("button", name="Speichern").click()
    toast(page, "Gespeichert.")
    expect(facet(page, "Betrag")).to_have_text("52.500,50 €")
    expect(page.get_by_role("textbox", name="Nächster Schritt")).to_have_value("Vorführung im Werk vereinbaren")
    idle(page)
    expect_no_exception(page)
    heading(page, DEAL).scroll_into_view_if_needed()
    shot(page, "opp-02-edited")
    audit, events = trail(servers, opp)
    assert ("updated", "amount", "52500.50") in audit, audit
    assert ("updated", "next_step", "Vorführung im Werk vereinbaren") in audit, audit
    assert events[-1] == "crm.opportunity.updated"

    # 3. Move to another stage with the stage button.
    page.get_by_role("button", name="Angebot").click()
    toast(page, "Nach „Angebot“ verschoben.")
    expect(current_stage(page)).to_have_text("Angebot ✓")
    expect(facet(page, "Wahrscheinlichkeit")).to_have_text("50 %")
    expect(facet(page, "Prognosekategorie")).to_have_text("Best Case")
    idle(page)
    shot(page, "opp-03-moved")
    audit, events = trail(servers, opp)
    assert ("stage_changed", "status", None) not in audit
    assert any(a == "stage_changed" and f == "stage_id" for a, f, _ in audit), audit
    assert events[-1] == "crm.opportunity.stage_changed"

    # 4. Lost: the reason is required.
    page.get_by_role("button", name="Verloren").click()
    lost = dialog(page)
    lost.get_by_role("button", name="Verloren").click()
    expect(lost.get_by_text("Bitte einen Verlustgrund wählen.")).to_be_visible()
    choose(page, lost, "Verlustgrund *", "Wettbewerber gewählt")
    lost.get_by_role("textbox", name="Begründung").fill("Hermle war schneller lieferbar")
    lost.get_by_role("button", name="Verloren").click()
    toast(page, "Als verloren abgeschlossen.")
    expect(current_stage(page)).to_have_text("Verloren ✓")
    expect(page.get_by_text("Verloren: Wettbewerber gewählt – Hermle war schneller lieferbar")).to_be_visible()
    expect(page.get_by_role("button", name="Wiedereröffnen")).to_be_visible()
    idle(page)
    shot(page, "opp-04-lost")
    audit, events = trail(servers, opp)
    assert ("lost", "status", "lost") in audit, audit
    assert ("lost", "close_reason_text", "Hermle war schneller lieferbar") in audit, audit
    assert events[-1] == "crm.opportunity.lost"

    # 5. Reopen: the stage before closing is proposed.
    page.get_by_role("button", name="Wiedereröffnen").click()
    reopen = dialog(page)
    expect(reopen.get_by_role("combobox", name="Phase")).to_have_value("Angebot")
    reopen.get_by_role("button", name="Wiedereröffnen").click()
    toast(page, "Wiedereröffnet in „Angebot“.")
    expect(current_stage(page)).to_have_text("Angebot ✓")
    idle(page)
    shot(page, "opp-05-reopened")
    audit, events = trail(servers, opp)
    assert ("reopened", "status", "open") in audit, audit
    assert events[-1] == "crm.opportunity.reopened"

    # 6. Won, with a won reason.
    page.get_by_role("button", name="Gewonnen").click()
    won = dialog(page)
    choose(page, won, "Gewinngrund", "Service und Support")
    won.get_by_role("button", name="Gewonnen").click()
    toast(page, "Als gewonnen abgeschlossen.")
    expect(current_stage(page)).to_have_text("Gewonnen ✓")
    expect(facet(page, "Wahrscheinlichkeit")).to_have_text("100 %")
    expect(facet(page, "Abgeschlossen am")).to_have_text(re.compile(r"^\d{2}\.\d{2}\.\d{4}$"))
    expect(page.get_by_text("Gewonnen: Service und Support")).to_be_visible()
    idle(page)
    shot(page, "opp-06-won")
    audit, events = trail(servers, opp)
    assert ("won", "status", "won") in audit, audit
    assert events == [
        "crm.opportunity.created",
        "crm.opportunity.updated",
        "crm.opportunity.stage_changed",
        "crm.opportunity.lost",
        "crm.opportunity.reopened",
        "crm.opportunity.won",
    ]

    # The stage history shows every step; the change log the audited fields.
    page.get_by_role("tab", name="Phasenverlauf").click()
    panel = page.get_by_test_id("stTabPanel").filter(visible=True)
    expect(panel.get_by_test_id("stDataFrame")).to_be_visible()
    idle(page)
    panel.get_by_test_id("stDataFrame").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot(page, "opp-07-phasenverlauf")
    page.get_by_role("tab", name="Änderungsprotokoll").click()
    expect(page.get_by_text(re.compile(r"Kette geprüft"))).to_be_visible()
    idle(page)
    page.get_by_test_id("stTabPanel").filter(visible=True).get_by_test_id("stDataFrame").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot(page, "opp-08-aenderungsprotokoll")

    # 7. A second deal, created and deleted.
    second = create_deal(page, servers, SECOND, "7.200")
    expect(facet(page, "Betrag")).to_have_text("7.200,00 €")
    page.get_by_text("Verkaufschance löschen").click()
    page.get_by_role("button", name="Löschen").click()
    confirm = dialog(page)
    expect(confirm.get_by_text(SECOND)).to_be_visible()
    shot(page, "opp-09-delete-confirm")
    confirm.get_by_role("button", name="Löschen").click()
    expect(heading(page, "Verkaufschancen")).to_be_visible()
    toast(page, "1 Verkaufschance(n) gelöscht.")
    idle(page)
    expect_no_exception(page)
    with database(servers) as db:
        assert db.execute("SELECT count(*) FROM opportunities WHERE id = ?", (second,)).fetchone() == (0,)
    audit, events = trail(servers, second)
    assert [a for a, *_ in audit if a != "created"] and {a for a, *_ in audit} == {"created", "deleted"}, audit
    assert events == ["crm.opportunity.created", "crm.opportunity.deleted"]

    # The list opens on the open deals; with "gewonnen" added to the status filter it shows the won deal, not the
    # deleted one.
    status = page.get_by_test_id("stMultiSelect").filter(has_text="Status")
    expect(status.get_by_text("offen", exact=True)).to_be_visible()
    choose(page, status, "Status", "gewonnen")
    idle(page)
    page.get_by_label("Suche").fill(DEAL)  # the kanban test has its own "Fräszentrum"
    page.get_by_label("Suche").press("Enter")
    expect(page.get_by_text(re.compile(r"^1 Verkaufschancen · Seite 1 von 1$"))).to_be_visible()
    grid = page.get_by_test_id("stCustomComponentV1").first.content_frame
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(1)
    expect(grid.get_by_text(DEAL)).to_be_visible()
    expect(grid.get_by_text("Gewonnen", exact=True)).to_be_visible()  # the stage
    idle(page)
    page.wait_for_timeout(500)
    shot(page, "opp-10-liste")

    # Downloads are built when clicked, outside the script run, yet as the logged-in user with the filter shown.
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert DEAL in exported and exported.count("\n") == 2, exported
