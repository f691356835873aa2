"""REST API for consent: matrix, grant and withdraw, double opt-in with the mail sent at once, the consent
gate, purposes and the ledger by cursor; scopes (403), validation (422 with field messages) as problem+json."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.message import EmailMessage as MimeMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import app
from api.routers.consent import get_mail_backend
from core.email.delivery import DeliveryError
from core.events import recent_events
from core.permissions import Actor, Role
from db.models import EmailMessage
from tests.conftest import FrozenClock
from tests.integration.api_support import app_client, bearer as new_key, ok, problem
from tests.factories.crm import make_contact
from tests.factories.identity import make_user

API = "/api/v1"
PHONE_CONSENT = {
    "channel": "phone",
    "purpose": "produktinformationen",
    "source": "phone",
    "evidence": "Telefonat am 24.11.2026, Gesprächsnotiz 4711",
}


class RecordingBackend:
    """A mail backend that keeps what it was handed."""

    def __init__(self) -> None:
        self.sent: list[MimeMessage] = []

    def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
        self.sent.append(mime)


class DownServer:
    def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
        raise DeliveryError("SMTP-Server nicht erreichbar", whole_server=True)


@pytest.fixture
def mailbox() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
def client(factory: sessionmaker[Session], clock: FrozenClock, mailbox: RecordingBackend) -> Iterator[TestClient]:
    with app_client(factory, clock, {get_mail_backend: lambda: mailbox}) as client:
        yield client


def bearer(factory: sessionmaker[Session], *scopes: str, name: str = "Webformular") -> dict[str, str]:
    return new_key(factory, *scopes, name=name)


@pytest.fixture
def auth(factory: sessionmaker[Session]) -> dict[str, str]:
    return bearer(factory, "consent.read", "consent.write")


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


@pytest.fixture
def contact_id(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> int:
    return make_contact(
        factory, admin, clock=clock, first_name="Anna", last_name="Schmidt", email="anna.schmidt@example.de",
        phone="+49 221 123456",
    ).id




def gate(client: TestClient, auth: dict[str, str], contact_id: int, channel: str, purpose: str) -> dict[str, Any]:
    params = {"contact_id": contact_id, "channel": channel, "purpose": purpose}
    return ok(client.get(f"{API}/consent/may-contact", params=params, headers=auth))


def test_grant_shows_in_matrix_and_gate_and_revoke_takes_effect(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], clock: FrozenClock, contact_id: int
) -> None:
    url = f"{API}/contacts/{contact_id}/consents"
    empty = ok(client.get(url, headers=auth))
    assert empty["contact_id"] == contact_id and len(empty["items"]) == 5 * 4
    assert {c["status"] for c in empty["items"]} == {None}
    assert gate(client, auth, contact_id, "phone", "produktinformationen") | {"at": None} == {
        "contact_id": contact_id,
        "channel": "phone",
        "purpose": "produktinformationen",
        "at": None,
        "allowed": False,
        "reason": "missing",
        "description": "keine Einwilligung erfasst",
    }

    granted = ok(client.post(url, json=PHONE_CONSENT | {"ip": "203.0.113.7"}, headers=auth), 201)
    assert (granted["action"], granted["status"], granted["legal_basis"], granted["source"]) == (
        "granted", "granted", "consent", "phone",
    )
    assert (granted["evidence"], granted["ip"], granted["address"]) == (
        PHONE_CONSENT["evidence"], "203.0.113.7", "+49 221 123456",
    )
    assert granted["actor_name"] == "api:Webformular" and granted["text_version"] == 1
    assert granted["occurred_at"] == "2026-11-25T09:00:00Z"
    cell = next(c for c in ok(client.get(url, headers=auth))["items"]
                if (c["channel"], c["purpose_key"]) == ("phone", "produktinformationen"))
    assert cell["status"] == "granted" and cell["entry"] == granted
    decision = gate(client, auth, contact_id, "phone", "produktinformationen")
    assert (decision["allowed"], decision["reason"], decision["at"]) == (True, "allowed", "2026-11-25T09:00:00Z")

    clock.advance(hours=1)
    body = {"channel": "phone", "purpose": "produktinformationen", "reason": "Anruf: keine Werbung mehr"}
    revoked = ok(client.post(f"{url}/revoke", json=body, headers=auth))
    assert revoked["changed"] is True
    assert (revoked["entry"]["action"], revoked["entry"]["reason"]) == ("revoked", "Anruf: keine Werbung mehr")
    assert gate(client, auth, contact_id, "phone", "produktinformationen")["reason"] == "revoked"
    assert ok(client.post(f"{url}/revoke", json=body, headers=auth)) == {"changed": False, "entry": None}

    with factory() as session:
        names = list(recent_events(session, name_prefix="crm.consent.")["name"])
    assert names == ["crm.consent.revoked", "crm.consent.granted"]


def test_grant_validation_names_the_fields(client: TestClient, auth: dict[str, str], contact_id: int) -> None:
    url = f"{API}/contacts/{contact_id}/consents"

    no_proof = problem(client.post(url, json=PHONE_CONSENT | {"evidence": "  "}, headers=auth), 422)
    assert no_proof["errors"] == {"evidence": "Nachweis angeben (z. B. unterschriebenes Formular, Gesprächsnotiz)"}
    assert no_proof["type"] == "urn:crm:problem:validation-failed"
    no_order = problem(
        client.post(url, json={"channel": "email", "purpose": "newsletter", "legal_basis": "existing_customer"},
                    headers=auth),
        422,
    )
    assert no_order["errors"] == {"order_id": "Auftrag angeben, der die Bestandskundenbeziehung begründet"}
    sms = problem(client.post(url, json=PHONE_CONSENT | {"channel": "sms"}, headers=auth), 422)
    assert sms["errors"] == {"channel": "Für diesen Kanal ist beim Kontakt keine Adresse hinterlegt."}

    wrong = problem(
        client.post(
            url,
            json={"channel": "fax", "purpose": "newsletter", "source": "preference_centre", "colour": "blau",
                  "valid_until": "2027-01-01T00:00:00", "ip": "localhost"},
            headers=auth,
        ),
        422,
    )
    assert set(wrong["errors"]) == {"channel", "source", "colour", "valid_until", "ip"}
    assert wrong["errors"]["channel"].startswith("ungültiger Wert (erlaubt: 'email', 'sms', 'phone' or 'post')")
    assert "preference_centre" not in wrong["errors"]["source"]  # the suite's own sources are not for clients
    assert wrong["errors"]["colour"] == "unbekanntes Feld"
    assert wrong["errors"]["valid_until"] == "Zeitpunkt mit Zeitzone angeben, z. B. 2027-12-31T23:59:59+01:00"
    assert wrong["errors"]["ip"] == "keine gültige IP-Adresse"
    past = problem(client.post(url, json=PHONE_CONSENT | {"valid_until": "2026-01-01T00:00:00Z"}, headers=auth), 422)
    assert past["errors"] == {"valid_until": "muss in der Zukunft liegen"}

    unknown_purpose = problem(client.post(url, json=PHONE_CONSENT | {"purpose": "lotterie"}, headers=auth), 404)
    assert "Bekannte Zwecke: newsletter" in unknown_purpose["detail"]
    problem(client.post(f"{API}/contacts/999999/consents", json=PHONE_CONSENT, headers=auth), 404)
    problem(client.get(f"{API}/contacts/999999/consents", headers=auth), 404)


def test_scopes_are_enforced(
    client: TestClient, factory: sessionmaker[Session], auth: dict[str, str], contact_id: int
) -> None:
    reader = bearer(factory, "consent.read", name="Auswertung")
    others = bearer(factory, "contacts.read", name="Adressabgleich")
    url = f"{API}/contacts/{contact_id}/consents"

    denied = problem(client.post(url, json=PHONE_CONSENT, headers=reader), 403)
    assert denied["detail"] == "Keine Berechtigung: Einwilligungen erfassen und widerrufen, Double-Opt-in anfordern."
    assert denied["type"] == "urn:crm:problem:permission-denied"
    problem(client.post(f"{url}/revoke", json={"channel": "email", "purpose": "newsletter"}, headers=reader), 403)
    problem(client.post(f"{API}/contacts/{contact_id}/doi-requests", json={"purpose": "newsletter"}, headers=reader),
            403)
    ok(client.get(url, headers=reader))
    assert gate(client, reader, contact_id, "email", "newsletter")["reason"] == "missing"

    params = {"contact_id": contact_id, "channel": "email", "purpose": "newsletter"}
    for path, query in ((url, None), (f"{API}/consent/may-contact", params), (f"{API}/consent/purposes", None),
                        (f"{API}/consent/entries", None)):
        problem(client.get(path, params=query, headers=others), 403)
        unauthenticated = problem(client.get(path, params=query), 401)
        assert unauthenticated["title"] == "Anmeldung fehlgeschlagen"


def test_doi_request_sends_the_confirmation_mail_at_once(
    client: TestClient, auth: dict[str, str], clock: FrozenClock, contact_id: int, mailbox: RecordingBackend
) -> None:
    url = f"{API}/contacts/{contact_id}/doi-requests"

    created = ok(client.post(url, json={"purpose": "newsletter", "ip": "198.51.100.4"}, headers=auth), 201)
    assert (created["resent"], created["mail_status"], created["expires_at"]) == (False, "sent", "2026-11-27T09:00:00Z")
    assert len(mailbox.sent) == 1 and mailbox.sent[0]["To"] == "anna.schmidt@example.de"
    assert mailbox.sent[0]["Subject"] == "Bitte bestätigen Sie Ihre Einwilligung: Newsletter"
    assert "/p/doi/" in mailbox.sent[0].get_body(("plain",)).get_content()
    pending = gate(client, auth, contact_id, "email", "newsletter")
    assert (pending["reason"], pending["description"]) == ("pending", "Double-Opt-in noch nicht bestätigt")
    entries = ok(client.get(f"{API}/consent/entries", params={"contact_id": contact_id}, headers=auth))["items"]
    assert [(e["action"], e["doi_request_id"], e["ip"]) for e in entries] == [
        ("requested", created["request_id"], "198.51.100.4")
    ]

    clock.advance(seconds=30)
    too_soon = problem(client.post(url, json={"purpose": "newsletter"}, headers=auth), 409)
    assert "erneuter Versand ist in 10 Minute(n) möglich" in too_soon["detail"]
    clock.advance(minutes=10)
    resent = ok(client.post(url, json={"purpose": "newsletter", "language": "en"}, headers=auth))
    assert (resent["request_id"], resent["resent"], resent["mail_status"]) == (created["request_id"], True, "sent")
    assert len(mailbox.sent) == 2

    english = ok(client.post(url, json={"purpose": "veranstaltungen", "language": "en"}, headers=auth), 201)
    assert english["request_id"] != created["request_id"]
    assert mailbox.sent[-1]["Subject"] == "Please confirm your consent: Events"
    bad = problem(client.post(url, json={"purpose": "newsletter", "language": "fr"}, headers=auth), 422)
    assert bad["errors"] == {"language": "ungültiger Wert (erlaubt: 'de' or 'en')"}


def test_doi_request_stays_queued_when_the_mail_server_is_down(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], contact_id: int
) -> None:
    app.dependency_overrides[get_mail_backend] = DownServer
    created = ok(client.post(f"{API}/contacts/{contact_id}/doi-requests", json={"purpose": "umfragen"}, headers=auth),
                 201)
    assert created["mail_status"] == "queued"  # the mail job retries it; the request itself stands
    with factory() as session:
        message = session.get_one(EmailMessage, created["email_message_id"])
        assert (message.status, message.attempts, message.last_error) == ("queued", 1, "SMTP-Server nicht erreichbar")
    assert gate(client, auth, contact_id, "email", "umfragen")["reason"] == "pending"


def test_doi_request_is_refused_when_consent_exists(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], admin: Actor, contact_id: int,
    mailbox: RecordingBackend,
) -> None:
    granted = {"channel": "email", "purpose": "newsletter", "source": "webform", "evidence": "Formular 17"}
    ok(client.post(f"{API}/contacts/{contact_id}/consents", json=granted, headers=auth), 201)

    refused = problem(client.post(f"{API}/contacts/{contact_id}/doi-requests", json={"purpose": "newsletter"},
                                  headers=auth), 409)
    assert refused["detail"] == "Für „Newsletter“ per E-Mail liegt bereits eine Einwilligung vor."
    assert mailbox.sent == []
    no_address = make_contact(factory, admin, first_name="Otto", last_name="Ohnemail", email=None).id
    missing = problem(client.post(f"{API}/contacts/{no_address}/doi-requests", json={"purpose": "newsletter"},
                                  headers=auth), 422)
    assert missing["errors"] == {"email": "Der Kontakt hat keine E-Mail-Adresse."}


def test_may_contact_at_a_time_and_its_errors(
    client: TestClient, auth: dict[str, str], clock: FrozenClock, contact_id: int
) -> None:
    ok(client.post(f"{API}/contacts/{contact_id}/consents", json=PHONE_CONSENT, headers=auth), 201)
    path = f"{API}/consent/may-contact"
    params = {"contact_id": contact_id, "channel": "phone", "purpose": "produktinformationen"}

    before = ok(client.get(path, params=params | {"at": "2026-11-25T08:59:59+00:00"}, headers=auth))
    assert (before["allowed"], before["reason"]) == (False, "missing")
    assert ok(client.get(path, params=params, headers=auth))["allowed"] is True
    unknown = ok(client.get(path, params=params | {"contact_id": 999999}, headers=auth))
    assert unknown["reason"] == "unknown_contact"

    invalid = problem(client.get(path, params=params | {"channel": "fax", "at": "morgen"}, headers=auth), 422)
    assert set(invalid["errors"]) == {"channel", "at"}
    naive = problem(client.get(path, params=params | {"at": "2026-11-25T10:00:00"}, headers=auth), 422)
    assert naive["errors"] == {"at": "Zeitpunkt mit Zeitzone angeben, z. B. 2027-12-31T23:59:59+01:00"}
    missing = problem(client.get(path, params={"contact_id": contact_id}, headers=auth), 422)
    assert missing["errors"] == {"channel": "Pflichtfeld", "purpose": "Pflichtfeld"}
    problem(client.get(path, params=params | {"purpose": "lotterie"}, headers=auth), 404)


def test_purposes(client: TestClient, auth: dict[str, str]) -> None:
    purposes = ok(client.get(f"{API}/consent/purposes", headers=auth))["items"]
    assert [p["key"] for p in purposes] == ["newsletter", "produktinformationen", "veranstaltungen", "umfragen",
                                            "tracking"]
    tracking = purposes[-1]
    assert (tracking["tracking"], tracking["marketing"], tracking["active"]) == (True, True, True)
    assert purposes[2]["name_en"] == "Events"
    assert len(ok(client.get(f"{API}/consent/purposes", params={"include_inactive": True}, headers=auth))["items"]) == 5


def test_ledger_entries_by_cursor(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], admin: Actor, clock: FrozenClock,
    contact_id: int,
) -> None:
    other = make_contact(factory, admin, clock=clock, first_name="Bernd", last_name="Bauer", email="b@example.de").id
    for purpose in ("newsletter", "umfragen", "veranstaltungen"):
        for who in (contact_id, other):
            body = {"channel": "email", "purpose": purpose, "source": "event", "evidence": "Messe 2026"}
            ok(client.post(f"{API}/contacts/{who}/consents", json=body, headers=auth), 201)
            clock.advance(minutes=1)
    path = f"{API}/consent/entries"

    first = client.get(path, params={"contact_id": contact_id, "limit": 2}, headers=auth)
    page = ok(first)
    assert [e["purpose_key"] for e in page["items"]] == ["newsletter", "umfragen"]
    assert page["items"][0]["id"] < page["items"][1]["id"] == page["next_after"]
    assert first.headers["Link"] == (
        f'<http://testserver{path}?contact_id={contact_id}&limit=2&after={page["next_after"]}>; rel="next"'
    )
    last = client.get(path, params={"contact_id": contact_id, "limit": 2, "after": page["next_after"]}, headers=auth)
    assert [e["purpose_key"] for e in ok(last)["items"]] == ["veranstaltungen"]
    assert ok(last)["next_after"] is None and "Link" not in last.headers

    everything = ok(client.get(path, params={"limit": 200}, headers=auth))["items"]
    assert [e["contact_id"] for e in everything] == [contact_id, other] * 3
    assert all(a["id"] < b["id"] for a, b in zip(everything, everything[1:]))
    assert problem(client.get(path, params={"limit": 500}, headers=auth), 422)["errors"] == {
        "limit": "darf höchstens 200 sein"
    }
    assert problem(client.get(path, params={"after": -1}, headers=auth), 422)["errors"] == {
        "after": "muss mindestens 0 sein"
    }


def test_openapi_documents_the_consent_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths[f"{API}/contacts/{{contact_id}}/consents"]["post"]["summary"] == (
        "Einwilligung erfassen · Record a consent"
    )
    assert paths[f"{API}/consent/may-contact"]["get"]["tags"] == ["Einwilligungen"]
    for path in (f"{API}/contacts/{{contact_id}}/consents/revoke", f"{API}/contacts/{{contact_id}}/doi-requests",
                 f"{API}/consent/purposes", f"{API}/consent/entries"):
        assert path in paths
    assert not [p for p in paths if p.startswith("/p/")]  # the public pages are for browsers, not the API
