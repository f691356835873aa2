"""Auskunft (Art. 15) end to end in a real browser: the admin records an access request for a demo contact's e-mail
on "Betroffenenanfragen", sees the export wizard refuse it before the identity check, confirms identity and the
person's record on the request page, walks the wizard to the ZIP and downloads it. The ZIP holds data.json with the
contact's e-mail, and its SHA-256 is the one in the request log. Screenshots: test-artifacts/gdpr-*.png."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, Servers
from tests.e2e.test_browser import expect_no_exception, heading, idle, log_in, open_from_sidebar

pytestmark = pytest.mark.e2e


def shot(page: Page, name: str) -> None:
    """A screenshot with transitions finished (the wizard's progress bar animates to its step)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled")


def database(servers: Servers) -> sqlite3.Connection:
    return sqlite3.connect(servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///"))


def demo_contact(servers: Servers) -> tuple[int, str, str]:
    """A demo contact with an e-mail address, no suspected duplicate (the search then finds just this one record)
    and no other contact with the same canonical address."""
    with database(servers) as db:
        row = db.execute(
            "SELECT c.id, c.email, c.first_name || ' ' || c.last_name FROM contacts c WHERE c.email IS NOT NULL"
            " AND (SELECT count(*) FROM contacts o WHERE o.match_email = c.match_email) = 1"
            " AND c.id NOT IN (SELECT id_a FROM duplicate_candidates WHERE entity = 'contact'"
            "                  UNION SELECT id_b FROM duplicate_candidates WHERE entity = 'contact')"
            " AND c.id NOT IN (SELECT contact_id FROM processing_restrictions) ORDER BY c.id DESC LIMIT 1"
        ).fetchone()
    assert row, "the demo data has no contact with an e-mail address"
    return int(row[0]), str(row[1]), str(row[2])


def logged_sha256(servers: Servers, request_id: int) -> list[str]:
    with database(servers) as db:
        rows = db.execute(
            "SELECT details FROM gdpr_log_entries WHERE request_id = ? ORDER BY id", (request_id,)
        ).fetchall()
    return [details["sha256"] for (raw,) in rows if "sha256" in (details := json.loads(raw))]


def choose(page: Page, box: str, option: str) -> None:
    page.get_by_role("combobox", name=box, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    idle(page)


def wizard_step(page: Page, n: int, title: str) -> None:
    expect(page.get_by_text(f"Schritt {n} von 5: {title}")).to_be_visible()
    idle(page)
    expect_no_exception(page)


def record_request(page: Page, name: str, address: str) -> int:
    """"Neue Anfrage" on the list page: an access request by e-mail (the dialog's defaults), returns its number."""
    open_from_sidebar(page, "Betroffenenanfragen")
    expect(heading(page, "Betroffenenanfragen")).to_be_visible()
    idle(page)
    page.get_by_role("button", name="Neue Anfrage").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("combobox", name="Art", exact=True)).to_have_value("Auskunft (Art. 15)")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("E-Mail-Adresse", exact=True).fill(address)
    dialog.get_by_label("Anliegen").fill("Bitte um Auskunft über meine gespeicherten Daten.")
    dialog.get_by_text("Anliegen").click()  # leave the text area, so its value reaches the app before the screenshot
    idle(page)
    shot(page, "gdpr-01-new-request")
    dialog.get_by_role("button", name="Anfrage erfassen").click()
    notice = page.get_by_text(re.compile(r"Anfrage Nr\. \d+ erfasst\. Antwortfrist: \d\d\.\d\d\.\d{4}\."))
    expect(notice).to_be_visible()
    idle(page)
    shot(page, "gdpr-02-recorded")
    match = re.search(r"Nr\. (\d+)", notice.inner_text())
    assert match
    return int(match.group(1))


def confirm_on_request_page(page: Page, request_id: int, contact_id: int) -> None:
    """Identity confirmed (request from the address on file), the contact found by its e-mail and confirmed."""
    expect(heading(page, f"Anfrage Nr. {request_id}: Auskunft (Art. 15)")).to_be_visible()
    idle(page)
    choose(page, "Ergebnis der Prüfung", "Bestätigt")
    page.get_by_role("button", name="Prüfung festhalten").click()
    expect(page.get_by_text("Identität: Bestätigt")).to_be_visible()
    idle(page)
    page.get_by_role("button", name="Suchen", exact=True).click()
    idle(page)
    page.get_by_test_id("stCheckbox").filter(has_text=f"(Kontakt Nr. {contact_id})").click()
    idle(page)
    shot(page, "gdpr-04-request-confirmed")
    page.get_by_role("button", name="Auswahl bestätigen").click()
    expect(page.get_by_text("Bestätigt: 1 Kontakt(e), 0 Firma/Firmen.", exact=True)).to_be_visible()
    idle(page)


def test_access_request_from_intake_to_the_downloaded_zip(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.admin")
    contact_id, address, name = demo_contact(servers)
    request_id = record_request(page, name, address)

    # Before the identity check the wizard says what to do first and does not go on.
    open_from_sidebar(page, "Auskunft / Datenexport")
    expect(heading(page, "Datenexport")).to_be_visible()  # ("/" cannot stand in a role selector's pattern)
    idle(page)
    page.get_by_role("combobox", name="Anfrage", exact=True).click()
    page.get_by_role("option", name=re.compile(rf"^Nr\. {request_id} · ")).click()
    idle(page)
    expect(page.get_by_text("Identität noch nicht bestätigt")).to_be_visible()
    expect(page.get_by_text("Noch keine Datensätze der Person bestätigt.")).to_be_visible()
    expect(page.get_by_role("button", name="Weiter")).to_be_disabled()
    shot(page, "gdpr-03-wizard-blocked")
    page.get_by_role("link", name=f"Anfrage Nr. {request_id} öffnen").click()

    confirm_on_request_page(page, request_id, contact_id)
    page.get_by_role("button", name="Auskunft erstellen").click()

    wizard_step(page, 1, "Betroffene Person")
    main = page.get_by_test_id("stMainBlockContainer")  # the request page's toasts say the same
    expect(main.get_by_text("Identität bestätigt:")).to_be_visible()
    expect(main.get_by_text("Datensätze der Person bestätigt:")).to_be_visible()
    shot(page, "gdpr-05-wizard-person")
    page.get_by_role("button", name="Weiter").click()

    wizard_step(page, 2, "Gefundene Daten")
    contacts = page.get_by_test_id("stExpander").filter(has_text="Kontakte ·").first
    contacts.click()
    idle(page)
    contacts.get_by_test_id("stDataFrame").evaluate("el => el.scrollIntoView({block: 'center'})")
    shot(page, "gdpr-06-wizard-data")
    page.get_by_role("button", name="Weiter").click()

    wizard_step(page, 3, "Vorschau")
    portability = page.get_by_role("checkbox", name=re.compile("Nur von der Person bereitgestellte Daten"))
    expect(portability).not_to_be_checked()
    shot(page, "gdpr-07-wizard-preview")
    page.get_by_role("button", name="Weiter").click()

    wizard_step(page, 4, "Erstellen")
    expect(page.get_by_role("button", name="Zum Herunterladen")).to_be_disabled()
    page.get_by_role("button", name="Paket erstellen").click()
    expect(page.get_by_text(re.compile(rf"Paket Auskunft-Anfrage-{request_id}-\d{{8}}\.zip erstellt\."))).to_be_visible()
    idle(page)
    shot(page, "gdpr-08-wizard-built")
    page.get_by_role("button", name="Zum Herunterladen").click()

    wizard_step(page, 5, "Herunterladen")
    expect(page.get_by_text(f"Die Erstellung wurde im Protokoll der Anfrage Nr. {request_id} vermerkt")).to_be_visible()
    shot(page, "gdpr-09-wizard-download")
    with page.expect_download() as info:
        page.get_by_role("button", name="ZIP-Paket herunterladen").click()
    download = info.value
    assert re.fullmatch(rf"Auskunft-Anfrage-{request_id}-\d{{8}}\.zip", download.suggested_filename)
    content = download.path().read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert {"data.json", "auskunft.pdf", "contacts.csv"} <= set(archive.namelist())
        data = json.loads(archive.read("data.json"))
    assert [row["email"] for row in data["records"]["contacts"]] == [address]
    assert logged_sha256(servers, request_id) == [hashlib.sha256(content).hexdigest()], "the download is the logged one"
