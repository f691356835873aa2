"""Double opt-in end to end in a real browser: the admin requests it on the consent page → the mail arrives at
the local SMTP server (aiosmtpd) → its link opens the public landing page, which confirms nothing by itself →
one click confirms → the contact's history shows request and confirmation with proof. A used link and an
expired one are refused with a clear page. Screenshots: test-artifacts/consent-*.png."""

from __future__ import annotations

import re
import sqlite3
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Servers
from tests.e2e.test_browser import expect_no_exception, heading, idle, log_in, open_from_sidebar, shot

pytestmark = pytest.mark.e2e

LINK = re.compile(r"http://\S+/p/doi/[\w.\-]+")


def database(servers: Servers) -> sqlite3.Connection:
    return sqlite3.connect(servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///"))


def contact_without_newsletter(servers: Servers, skip: tuple[int, ...] = ()) -> tuple[int, str, str]:
    """A demo contact with an e-mail address and no newsletter entry in the ledger (and no restriction)."""
    with database(servers) as db:
        row = db.execute(
            "SELECT c.id, c.email, c.first_name || ' ' || c.last_name FROM contacts c WHERE c.email IS NOT NULL AND c.id NOT IN ("
            " SELECT e.contact_id FROM consent_entries e JOIN consent_purposes p ON p.id = e.purpose_id"
            " WHERE p.key = 'newsletter') AND c.id NOT IN (SELECT contact_id FROM processing_restrictions)"
            f" AND c.id NOT IN ({','.join(map(str, skip or (0,)))}) ORDER BY c.id LIMIT 1"
        ).fetchone()
    assert row, "the demo data has no contact without newsletter consent"
    return int(row[0]), str(row[1]), str(row[2])


def ledger(servers: Servers, contact_id: int) -> list[tuple[str, str, str | None]]:
    """(action, source, doi_confirmed_at) of the contact's newsletter entries, oldest first."""
    with database(servers) as db:
        rows = db.execute(
            "SELECT e.action, e.source, e.doi_confirmed_at FROM consent_entries e JOIN consent_purposes p"
            " ON p.id = e.purpose_id WHERE p.key = 'newsletter' AND e.channel = 'email' AND e.contact_id = ?"
            " ORDER BY e.id",
            (contact_id,),
        ).fetchall()
    return [tuple(r) for r in rows]


def open_consent_page(page: Page, address: str, name: str) -> None:
    """Sidebar → Einwilligungen → find the contact by its e-mail address → pick it by name → Öffnen."""
    open_from_sidebar(page, "Einwilligungen")
    expect(heading(page, "Einwilligungen")).to_be_visible()
    idle(page)
    search = page.get_by_label("Kontakt suchen")
    search.fill(address)
    search.press("Enter")
    idle(page)
    page.get_by_role("combobox", name="Kontakt", exact=True).click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}( · |$)")).first.click()
    idle(page)
    page.get_by_role("button", name="Öffnen").click()
    expect(page.get_by_role("button", name="Double-Opt-in anfordern")).to_be_visible()
    idle(page)


def request_in_ui(page: Page, servers: Servers, address: str, name: str) -> str:
    """Request the newsletter DOI on the consent page; returns the link from the mail that arrived."""
    open_consent_page(page, address, name)
    page.get_by_role("button", name="Double-Opt-in anfordern").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("combobox", name="Zweck").click()
    page.get_by_role("option", name="Newsletter", exact=True).click()
    shot(page, "consent-01-doi-dialog")
    before = len(servers.smtp.messages)
    dialog.get_by_role("button", name="Bestätigungs-E-Mail senden").click()
    expect(page.get_by_text(re.compile(r"Bestätigungs-E-Mail an \S+ gesendet"))).to_be_visible()
    idle(page)
    mails = [m for m in servers.smtp.wait_for(before + 1)[before:] if m["To"] == address]
    assert mails, f"no confirmation mail to {address}"
    mail = mails[-1]
    assert "Newsletter" in mail["Subject"] or "bestätigen" in mail["Subject"].lower(), mail["Subject"]
    match = LINK.search(mail.get_body(("plain",)).get_content())
    assert match, "the mail holds no confirmation link"
    return match.group(0)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_double_opt_in_from_request_to_confirmation(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.admin")
    contact_id, address, name = contact_without_newsletter(servers)
    link = request_in_ui(page, servers, address, name)
    shot(page, "consent-02-requested")
    assert [a for a, _, _ in ledger(servers, contact_id)] == ["requested"]

    # A link scanner only GETs the link: nothing changes.
    assert status_of(link) == 200
    assert [a for a, _, _ in ledger(servers, contact_id)] == ["requested"]

    page.goto(link)
    confirm = page.get_by_role("button", name="Einwilligung bestätigen")
    expect(confirm).to_be_visible()
    expect(page.get_by_text("Newsletter").first).to_be_visible()
    shot(page, "consent-03-landing")
    confirm.click()
    expect(page.get_by_text(re.compile("Vielen Dank"))).to_be_visible()
    shot(page, "consent-04-confirmed")
    entries = ledger(servers, contact_id)
    assert [a for a, _, _ in entries] == ["requested", "confirmed"] and entries[1][2] is not None

    # The same link again: refused, and it says why.
    page.goto(link)
    expect(page.get_by_text(re.compile("bereits am .* bestätigt")).first).to_be_visible()
    expect(page.get_by_role("button", name="Einwilligung bestätigen")).to_have_count(0)
    shot(page, "consent-05-link-used")
    assert status_of(link) == 409

    # The contact's consent page: granted, and the history holds request and confirmation with proof.
    log_in(page, servers, "demo.admin")
    open_consent_page(page, address, name)
    expect_no_exception(page)
    page.get_by_role("tab", name=re.compile("Verlauf")).click()
    panel = page.get_by_test_id("stTabPanel").filter(visible=True)
    expect(panel.get_by_test_id("stDataFrame")).to_be_visible()
    with database(servers) as db:
        (entries_in_db,) = db.execute("SELECT count(*) FROM consent_entries WHERE contact_id = ?", (contact_id,)).fetchone()
    expect(panel.get_by_text(f"{entries_in_db} Einträge, neueste zuerst.")).to_be_visible()  # fresh, not cached
    page.wait_for_timeout(300)
    shot(page, "consent-06-history")
    with database(servers) as db:
        ip, requested, confirmed = db.execute(
            "SELECT ip, doi_requested_at, doi_confirmed_at FROM consent_entries WHERE contact_id = ? AND action = 'confirmed'",
            (contact_id,),
        ).fetchone()
    assert ip and ip.startswith("enc:"), "the IP is kept as proof, encrypted with the person's key"
    assert requested and confirmed and requested < confirmed


def test_an_expired_link_is_refused_with_a_clear_page(page: Page, servers: Servers) -> None:
    log_in(page, servers, "demo.admin")
    taken = tuple(c for c, in database(servers).execute("SELECT contact_id FROM doi_requests").fetchall())
    contact_id, address, name = contact_without_newsletter(servers, skip=taken)
    link = request_in_ui(page, servers, address, name)
    with database(servers) as db:
        db.execute(
            "UPDATE doi_requests SET expires_at = '2020-01-01 00:00:00.000000' WHERE contact_id = ? AND status = 'pending'",
            (contact_id,),
        )
    page.goto(link)
    expect(page.get_by_role("heading", name="Link abgelaufen")).to_be_visible()
    expect(page.get_by_role("button", name="Einwilligung bestätigen")).to_have_count(0)
    shot(page, "consent-07-link-expired")
    assert status_of(link) == 410
    assert [a for a, _, _ in ledger(servers, contact_id)] == ["requested"]
