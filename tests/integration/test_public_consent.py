"""Public consent pages: the DOI landing page confirms nothing, its button confirms with proof; expired,
used, altered and replaced links are refused with a page that says why; one-click unsubscribe (RFC 8058)
takes effect at once; the preference centre grants and withdraws; security headers on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.deps import get_clock, get_factory
from api.main import app
from core.consent.doi import request_doi
from core.consent.gate import may_contact
from core.consent.links import preferences_url, unsubscribe_url
from core.consent.service import consent_matrix, grant_consent
from core.permissions import Actor, Role
from core.uow import UnitOfWork
from db.models import ConsentEntry, ConsentPurpose, EmailMessage
from tests.conftest import FrozenClock
from tests.factories.crm import make_contact
from tests.factories.identity import make_user

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(factory: sessionmaker[Session], clock: FrozenClock) -> Iterator[TestClient]:
    app.dependency_overrides[get_factory] = lambda: factory
    app.dependency_overrides[get_clock] = lambda: clock
    try:
        yield TestClient(app)
    finally:
        app.dependency_overrides.clear()


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


@pytest.fixture
def contact_id(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> int:
    return make_contact(
        factory, admin, clock=clock, first_name="Anna", last_name="Schmidt", email="anna.schmidt@example.de",
        postcode="50667", city="Köln",
    ).id


def path_of(url: str) -> str:
    return urlsplit(url).path


def request_link(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int) -> str:
    """Request the double opt-in and return the confirmation link's path as the queued mail carries it."""
    sent = request_doi(UnitOfWork(factory, actor=admin, clock=clock), contact_id=contact_id, purpose="newsletter",
                       source="webform")
    with factory() as session:
        body = session.get_one(EmailMessage, sent.email_message_id).body_text
    match = re.search(r"https?://\S+/p/doi/[\w.\-]+", body)
    assert match is not None, body
    return path_of(match.group(0))


def one_click(client: TestClient, link: str, **headers: str) -> httpx.Response:
    """The mail client's RFC 8058 request: a bare POST with the one-click body, no cookies, no form token."""
    return client.post(link, content=b"List-Unsubscribe=One-Click", headers=FORM | headers)


def ledger_size(factory: sessionmaker[Session], contact_id: int) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).where(ConsentEntry.contact_id == contact_id)) or 0


def latest(factory: sessionmaker[Session], contact_id: int) -> ConsentEntry:
    with factory() as session:
        entry = session.scalars(
            select(ConsentEntry).where(ConsentEntry.contact_id == contact_id).order_by(ConsentEntry.id.desc())
        ).first()
    assert entry is not None
    return entry


def gate(factory: sessionmaker[Session], clock: FrozenClock, contact_id: int, channel: str = "email",
         purpose: str = "newsletter") -> str:
    with factory() as session:
        return may_contact(session, contact_id, channel, purpose, clock()).reason


def html(response: httpx.Response, status: int = 200) -> str:
    """The page's HTML after checking status and the headers every public page carries."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-robots-tag"].startswith("noindex")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert "<script" not in response.text
    assert response.cookies == {} and "set-cookie" not in response.headers
    return response.text


def test_landing_page_shows_the_wording_and_confirms_nothing(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    before = ledger_size(factory, contact_id)

    page = html(client.get(link))
    assert '<html lang="de">' in page and "Einwilligung bestätigen" in page
    assert "Newsletter" in page and "Einwilligung: Newsletter" in page and "Version 1" in page
    assert "a***@example.de" in page and "anna.schmidt" not in page
    assert "27. November 2026, 10:00 Uhr" in page  # 48 h after 09:00 UTC, in Berlin time
    assert re.search(r'<form method="post" action="/p/doi/[\w.\-]+\?lang=de">', page)
    assert page.count("<button") == 1

    html(client.get(link))  # a link scanner fetching twice changes nothing either
    assert ledger_size(factory, contact_id) == before
    assert gate(factory, clock, contact_id) == "pending"


def test_the_button_confirms_with_ip_and_user_agent_as_proof(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    clock.advance(hours=2)

    page = html(client.post(link, headers={"User-Agent": BROWSER}))
    assert "Vielen Dank – Ihre Einwilligung ist bestätigt" in page
    assert "Einwilligung: Newsletter" in page and "25. November 2026, 12:00 Uhr" in page
    preferences = re.search(r'href="(https?://[^"]+/p/preferences/[^"]+)"', page)
    assert preferences is not None and path_of(preferences.group(1)) == path_of(preferences_url(contact_id))

    cells = consent_matrix(UnitOfWork(factory, actor=admin), contact_id)
    proof = next(c.entry for c in cells if c.channel == "email" and c.purpose_key == "newsletter")
    assert proof is not None
    assert (proof.action, proof.status, proof.source, proof.legal_basis) == (
        "confirmed", "granted", "webform", "consent",
    )
    assert (proof.ip, proof.user_agent, proof.address) == ("testclient", BROWSER, "anna.schmidt@example.de")
    assert proof.doi_requested_at == clock.current.replace(hour=9) and proof.doi_confirmed_at == clock.current
    assert proof.actor_name == "Betroffene Person (öffentlicher Link)"
    assert gate(factory, clock, contact_id) == "allowed"


def test_expired_link_is_refused_with_410(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    clock.advance(hours=48, seconds=1)
    before = ledger_size(factory, contact_id)

    page = html(client.get(link), 410)
    assert "Link abgelaufen" in page and "bis 27. November 2026, 10:00 Uhr gültig" in page
    assert "neue Bestätigungs-E-Mail an" in page and "<form" not in page
    refused = html(client.post(link, headers={"User-Agent": BROWSER}), 410)
    assert "Dieser Bestätigungslink ist abgelaufen." in refused
    assert ledger_size(factory, contact_id) == before
    assert gate(factory, clock, contact_id) == "pending"


def test_used_link_is_refused_with_409(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    html(client.post(link))
    confirmed = ledger_size(factory, contact_id)
    clock.advance(minutes=5)

    again = html(client.post(link), 409)
    assert "Link nicht mehr gültig" in again and "bereits am 25.11.26, 10:00 bestätigt" in again
    opened = html(client.get(link), 409)
    assert "Bereits bestätigt" in opened and "am 25. November 2026, 10:00 Uhr bestätigt" in opened
    assert "/p/preferences/" in opened and "<form" not in opened
    assert ledger_size(factory, contact_id) == confirmed


def test_altered_token_is_refused_with_400(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    altered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")

    for response in (client.get(altered), client.post(altered), client.get("/p/doi/abc")):
        page = html(response, 400)
        assert "Link ungültig" in page and "vollständig" in page
    for kind in ("unsubscribe", "preferences"):
        assert "Link ungültig" in html(client.get(f"/p/{kind}/{altered.rsplit('/', 1)[1]}"), 400)
    assert gate(factory, clock, contact_id) == "pending"


def test_link_replaced_by_a_resend_is_refused(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    old = request_link(factory, admin, clock, contact_id)
    clock.advance(minutes=11)
    new = request_link(factory, admin, clock, contact_id)
    assert new != old

    assert "neuere Bestätigungs-E-Mail ersetzt" in html(client.get(old), 409)
    assert "neuere Bestätigungs-E-Mail ersetzt" in html(client.post(old), 409)
    assert gate(factory, clock, contact_id) == "pending"
    assert "Ihre Einwilligung ist bestätigt" in html(client.post(new))
    assert gate(factory, clock, contact_id) == "allowed"


def test_revoked_request_shows_that_it_was_withdrawn(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    html(one_click(client, path_of(unsubscribe_url(contact_id, newsletter_id(factory)))))

    assert "Anfrage beendet" in html(client.get(link), 409)
    assert "zurückgezogen oder ersetzt" in html(client.post(link), 409)
    assert gate(factory, clock, contact_id) == "revoked"


def newsletter_id(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalars(select(ConsentPurpose.id).where(ConsentPurpose.key == "newsletter")).one()


def test_one_click_unsubscribe_revokes_at_once(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    html(client.post(request_link(factory, admin, clock, contact_id)))
    assert gate(factory, clock, contact_id) == "allowed"
    link = path_of(unsubscribe_url(contact_id, newsletter_id(factory)))
    before = ledger_size(factory, contact_id)

    page = html(client.get(link))
    assert "Abmelden" in page and "Newsletter" in page and "E-Mail" in page and "a***@example.de" in page
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page
    assert "/p/preferences/" in page and ledger_size(factory, contact_id) == before

    done = html(one_click(client, link, **{"User-Agent": "Mail-Client/1.0"}))
    assert "Sie wurden abgemeldet" in done and "/p/preferences/" in done
    assert gate(factory, clock, contact_id) == "revoked"
    entry = latest(factory, contact_id)
    assert (entry.action, entry.source) == ("revoked", "unsubscribe")

    assert "Sie wurden abgemeldet" in html(one_click(client, link))  # idempotent
    assert ledger_size(factory, contact_id) == before + 1
    assert "bereits abgemeldet" in html(client.get(link))


def test_unsubscribe_page_in_english(
    client: TestClient, factory: sessionmaker[Session], contact_id: int
) -> None:
    link = path_of(unsubscribe_url(contact_id, newsletter_id(factory)))
    page = html(client.get(link, headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"}))
    assert '<html lang="en">' in page and "Unsubscribe" in page and "E-mail" in page
    assert '?lang=en"' in page  # the form and the preference link keep the language

    done = html(one_click(client, f"{link}?lang=en"))
    assert "You have been unsubscribed" in done and "Newsletter" in done


def test_preference_centre_grants_and_withdraws(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = path_of(preferences_url(contact_id))
    before = ledger_size(factory, contact_id)

    page = html(client.get(link))
    assert "Ihre Kommunikationseinstellungen" in page and "Hallo Anna Schmidt" in page
    assert "Speichern" in page and "Von allem abmelden" in page
    assert 'value="email:newsletter">' in page and 'value="post:veranstaltungen">' in page
    assert re.search(r'value="sms:newsletter" disabled>', page)  # no mobile number
    assert "keine Adresse für diesen Kanal hinterlegt" in page
    assert 'value="sms:tracking"' not in page  # tracking is offered by e-mail only
    assert ledger_size(factory, contact_id) == before

    clock.advance(minutes=1)
    ticked = "cell=email%3Anewsletter&cell=post%3Averanstaltungen&action=save"
    saved = html(client.post(link, content=ticked, headers=FORM | {"User-Agent": BROWSER}))
    assert "Ihre Einstellungen wurden gespeichert." in saved
    assert 'value="email:newsletter" checked>' in saved and 'value="post:veranstaltungen" checked>' in saved
    assert gate(factory, clock, contact_id) == "allowed"
    assert gate(factory, clock, contact_id, "post", "veranstaltungen") == "allowed"
    entry = latest(factory, contact_id)
    assert (entry.action, entry.source, entry.legal_basis, entry.text_id is not None) == (
        "granted", "preference_centre", "consent", True,
    )

    clock.advance(minutes=1)
    cleared = html(client.post(link, content="cell=post%3Averanstaltungen&action=save", headers=FORM))
    assert 'value="email:newsletter">' in cleared
    assert gate(factory, clock, contact_id) == "revoked"
    assert gate(factory, clock, contact_id, "post", "veranstaltungen") == "allowed"

    everything = html(client.post(link, content="cell=post%3Averanstaltungen&action=all", headers=FORM))
    assert "Sie wurden von allen Zwecken und Kanälen abgemeldet." in everything and " checked" not in everything
    assert gate(factory, clock, contact_id, "post", "veranstaltungen") == "revoked"
    assert ledger_size(factory, contact_id) == before + 4


def test_preference_centre_refuses_a_tampered_form(
    client: TestClient, factory: sessionmaker[Session], contact_id: int
) -> None:
    link = path_of(preferences_url(contact_id))
    before = ledger_size(factory, contact_id)

    page = html(client.post(link, content="cell=fax%3Anewsletter", headers=FORM), 422)
    assert "Ungültige Auswahl „fax:newsletter“" in page
    assert "Unbekannte Aktion" in html(client.post(link, content="action=delete", headers=FORM), 422)
    assert ledger_size(factory, contact_id) == before


def test_preference_centre_in_english(client: TestClient, contact_id: int) -> None:
    page = html(client.get(f"{path_of(preferences_url(contact_id))}?lang=en"))
    assert '<html lang="en">' in page and "Your communication preferences" in page and "Save" in page
    assert "no address for this channel" in page and "Product information" in page


def test_landing_page_in_english_keeps_the_wording_as_sent(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    link = request_link(factory, admin, clock, contact_id)
    page = html(client.get(f"{link}?lang=en"))
    assert "Confirm consent" in page and "27 November 2026, 10:00" in page
    assert '<section class="wording" lang="de"' in page and "Einwilligung: Newsletter" in page
    assert "Link valid until" in html(client.get(link, headers={"Accept-Language": "en"}))
    clock.advance(days=3)
    assert "This confirmation link was valid until" in html(client.get(f"{link}?lang=en"), 410)
    assert "This confirmation link has expired." in html(client.post(f"{link}?lang=en"), 410)


def test_grant_elsewhere_shows_in_the_preference_centre(
    client: TestClient, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, contact_id: int
) -> None:
    grant_consent(
        UnitOfWork(factory, actor=admin, clock=clock), contact_id=contact_id, channel="post",
        purpose="produktinformationen", source="event", evidence="Messe-Formular 12",
    )
    page = html(client.get(path_of(preferences_url(contact_id))))
    assert 'value="post:produktinformationen" checked>' in page
