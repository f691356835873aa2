"""REST API: Bearer keys, CRUD with optimistic locking, problem+json errors, paging, audit and outbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.apikeys import AUTH_CACHE_TTL, create_api_key, revoke_api_key
from core.audit import trail
from core.events import recent_events
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import ApiKey
from tests.conftest import FrozenClock
from tests.integration.api_support import app_client, bearer as new_key, problem

ACCOUNTS = "/api/v1/accounts"
CONTACTS = "/api/v1/contacts"
ALL_SCOPES = [
    "accounts.read",
    "accounts.write",
    "accounts.delete",
    "contacts.read",
    "contacts.write",
    "contacts.delete",
]
FIRMA = {"name": "Müller Maschinenbau", "legal_form": "GmbH", "postcode": "50667", "city": "Köln"}


@pytest.fixture
def client(factory: sessionmaker[Session], clock: FrozenClock) -> Iterator[TestClient]:
    """The app running inside the test's rolled-back transaction, with the frozen clock."""
    with app_client(factory, clock) as client:
        yield client


def bearer(factory: sessionmaker[Session], *scopes: str, name: str = "ERP-Anbindung") -> dict[str, str]:
    return new_key(factory, *scopes, name=name)


@pytest.fixture
def auth(factory: sessionmaker[Session]) -> dict[str, str]:
    return bearer(factory, *ALL_SCOPES)



def create(client: TestClient, auth: dict[str, str], path: str, values: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=values, headers=auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_checks_the_database_without_auth(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_account_round_trip(client: TestClient, auth: dict[str, str], clock: FrozenClock) -> None:
    created = client.post(ACCOUNTS, json=FIRMA | {"industry": "Maschinenbau", "employees": 120}, headers=auth)
    assert created.status_code == 201, created.text
    account = created.json()
    assert created.headers["Location"].endswith(f"{ACCOUNTS}/{account['id']}")
    assert created.headers["ETag"] == '"1"'
    assert account["version"] == 1 and account["contact_count"] == 0
    assert account["created_at"] == "2026-11-25T09:00:00Z"

    fetched = client.get(created.headers["Location"], headers=auth)
    assert fetched.status_code == 200 and fetched.json() == account
    assert fetched.headers["ETag"] == '"1"'

    clock.advance(minutes=5)
    updated = client.patch(
        f"{ACCOUNTS}/{account['id']}",
        json={"city": "Bonn", "postcode": "53111"},
        headers=auth | {"If-Match": fetched.headers["ETag"]},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] == '"2"'
    assert updated.json()["updated_at"] == "2026-11-25T09:05:00Z"
    unchanged = {"city": "Köln", "postcode": "50667", "version": 1, "updated_at": account["updated_at"]}
    assert updated.json() | unchanged == account

    deleted = client.delete(f"{ACCOUNTS}/{account['id']}", headers=auth | {"If-Match": '"2"'})
    assert deleted.status_code == 204 and deleted.content == b""
    gone = problem(client.get(f"{ACCOUNTS}/{account['id']}", headers=auth), 404)
    assert gone["detail"] == f"Firma {account['id']} gibt es nicht."


def test_contact_round_trip_with_version_in_body(client: TestClient, auth: dict[str, str]) -> None:
    account = create(client, auth, ACCOUNTS, FIRMA)
    person = {"first_name": "Jürgen", "last_name": "Weiß", "email": "J.Weiss@Example.DE", "birth_date": "1970-03-01"}
    contact = create(client, auth, CONTACTS, person | {"account_id": account["id"]})
    assert contact["email"] == "J.Weiss@example.de"
    assert contact["account_name"] == FIRMA["name"]
    assert contact["birth_date"] == "1970-03-01"
    assert client.get(f"{ACCOUNTS}/{account['id']}", headers=auth).json()["contact_count"] == 1

    updated = client.patch(
        f"{CONTACTS}/{contact['id']}", json={"job_title": "Einkaufsleiter", "version": 1}, headers=auth
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["job_title"] == "Einkaufsleiter" and updated.json()["version"] == 2

    listed = client.get(CONTACTS, params={"account_id": account["id"]}, headers=auth).json()
    assert [c["id"] for c in listed["items"]] == [contact["id"]]
    assert listed["items"][0]["account_name"] == FIRMA["name"]

    assert client.delete(f"{CONTACTS}/{contact['id']}", headers=auth | {"If-Match": "2"}).status_code == 204
    problem(client.get(f"{CONTACTS}/{contact['id']}", headers=auth), 404)


def test_missing_bad_and_revoked_keys_are_rejected(client: TestClient, factory: sessionmaker[Session]) -> None:
    missing = problem(client.get(ACCOUNTS), 401)
    assert "Authorization: Bearer" in missing["detail"]
    bad = client.get(ACCOUNTS, headers={"Authorization": "Bearer crm_0000_falsch"})
    assert problem(bad, 401)["detail"] == "Ungültiger API-Schlüssel."
    assert client.get(ACCOUNTS, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401

    created = create_api_key(UnitOfWork(factory, actor=SYSTEM), name="Altsystem", scopes="accounts.read")
    headers = {"Authorization": f"Bearer {created.key}"}
    assert client.get(ACCOUNTS, headers=headers).status_code == 200
    revoke_api_key(UnitOfWork(factory, actor=SYSTEM), created.id)
    revoked = client.get(ACCOUNTS, headers=headers)
    assert problem(revoked, 401)["detail"] == "Dieser API-Schlüssel wurde widerrufen."
    for response in (bad, revoked):
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_revoked_by_another_process_is_refused_within_the_check_interval(
    client: TestClient, factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Workers remember a checked key briefly; a revocation they do not see (admin page, CLI) still ends it."""
    created = create_api_key(UnitOfWork(factory, actor=SYSTEM), name="Webshop", scopes="accounts.read")
    headers = {"Authorization": f"Bearer {created.key}"}
    assert client.get(ACCOUNTS, headers=headers).status_code == 200
    with factory() as session:  # what another process's revoke_api_key writes, without this worker knowing
        session.execute(update(ApiKey).where(ApiKey.id == created.id).values(revoked_at=clock()))
        session.commit()
    clock.advance(seconds=AUTH_CACHE_TTL.total_seconds() - 1)
    assert client.get(ACCOUNTS, headers=headers).status_code == 200
    clock.advance(seconds=1)
    assert problem(client.get(ACCOUNTS, headers=headers), 401)["detail"] == "Dieser API-Schlüssel wurde widerrufen."


def test_missing_scope_is_forbidden(
    client: TestClient, factory: sessionmaker[Session], auth: dict[str, str]
) -> None:
    account = create(client, auth, ACCOUNTS, FIRMA)
    read_only = bearer(factory, "accounts.read", name="Nur-Lesen")
    assert client.get(f"{ACCOUNTS}/{account['id']}", headers=read_only).status_code == 200
    denied = problem(client.post(ACCOUNTS, json=FIRMA, headers=read_only), 403)
    assert denied["detail"] == "Keine Berechtigung: Firmen anlegen und bearbeiten."
    problem(client.delete(f"{ACCOUNTS}/{account['id']}", headers=read_only | {"If-Match": "1"}), 403)
    problem(client.get(CONTACTS, headers=read_only), 403)
    assert client.get(f"{ACCOUNTS}/{account['id']}", headers=auth).json()["version"] == 1


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (FIRMA | {"email": "info(at)mueller.de"}, {"email": "keine gültige E-Mail-Adresse"}),
        (FIRMA | {"postcode": "5066"}, {"postcode": "deutsche Postleitzahl hat fünf Ziffern"}),
        (
            {"name": "X", "employees": -1, "bundesland": "NRW"},
            {
                "name": "zu kurz (mindestens 2 Zeichen)",
                "employees": "muss mindestens 0 sein",
                "bundesland": "unbekanntes Feld",
            },
        ),
    ],
)
def test_bad_input_gets_german_field_messages(
    client: TestClient, auth: dict[str, str], values: dict[str, Any], errors: dict[str, str]
) -> None:
    body = problem(client.post(ACCOUNTS, json=values, headers=auth), 422)
    assert body["errors"] == errors
    assert body["type"] == "urn:crm:problem:validation-failed"
    assert client.get(ACCOUNTS, headers=auth).json()["total"] == 0


def test_malformed_requests_are_problems_too(client: TestClient, auth: dict[str, str]) -> None:
    paging = problem(client.get(ACCOUNTS, params={"page_size": 500, "page": 0, "sort": "umsatz"}, headers=auth), 422)
    assert paging["errors"]["page_size"] == "darf höchstens 200 sein"
    assert paging["errors"]["page"] == "muss mindestens 1 sein"
    assert paging["errors"]["sort"].startswith("ungültiger Wert (erlaubt: 'id', 'name'")
    broken = client.post(ACCOUNTS, content=b'{"name": ', headers=auth | {"Content-Type": "application/json"})
    assert problem(broken, 422)["errors"] == {"body": "kein gültiges JSON"}
    not_an_object = problem(client.post(ACCOUNTS, json=[FIRMA], headers=auth), 422)
    assert not_an_object["errors"] == {"body": "muss ein JSON-Objekt sein"}
    assert problem(client.get(f"{ACCOUNTS}/abc", headers=auth), 422)["errors"] == {"item_id": "keine ganze Zahl"}
    problem(client.get("/api/v1/gibt-es-nicht", headers=auth), 404)
    problem(client.put(ACCOUNTS, json=FIRMA, headers=auth), 405)


def test_unknown_ids_are_not_found(client: TestClient, auth: dict[str, str]) -> None:
    assert problem(client.get(f"{CONTACTS}/999999", headers=auth), 404)["detail"] == "Kontakt 999999 gibt es nicht."
    problem(client.patch(f"{ACCOUNTS}/999999", json={"city": "Bonn"}, headers=auth | {"If-Match": "1"}), 404)
    problem(client.delete(f"{CONTACTS}/999999", headers=auth | {"If-Match": "1"}), 404)
    orphan = client.post(CONTACTS, json={"first_name": "A", "last_name": "B", "account_id": 999999}, headers=auth)
    assert problem(orphan, 422)["errors"] == {"account_id": "Firma 999999 gibt es nicht"}


def test_stale_version_conflicts_and_loses_nothing(client: TestClient, auth: dict[str, str]) -> None:
    account = create(client, auth, ACCOUNTS, FIRMA)
    url = f"{ACCOUNTS}/{account['id']}"
    first = client.patch(url, json={"industry": "Chemie"}, headers=auth | {"If-Match": '"1"'})
    assert first.status_code == 200

    stale = problem(client.patch(url, json={"industry": "Handel"}, headers=auth | {"If-Match": '"1"'}), 409)
    assert "inzwischen von jemand anderem geändert" in stale["detail"]
    problem(client.delete(url, headers=auth | {"If-Match": '"1"'}), 409)
    current = client.get(url, headers=auth).json()
    assert (current["industry"], current["version"]) == ("Chemie", 2)

    required = problem(client.patch(url, json={"industry": "Handel"}, headers=auth), 428)
    assert "If-Match" in required["detail"]
    problem(client.delete(url, headers=auth), 428)
    mismatch = client.patch(url, json={"industry": "Handel", "version": 1}, headers=auth | {"If-Match": "2"})
    assert problem(mismatch, 422)["errors"] == {"version": "widerspricht dem If-Match-Header (2)"}
    assert problem(client.patch(url, json={}, headers=auth | {"If-Match": "*"}), 422)["errors"].keys() == {"If-Match"}
    assert client.get(url, headers=auth).json()["industry"] == "Chemie"


def test_account_with_contacts_cannot_be_deleted(client: TestClient, auth: dict[str, str]) -> None:
    account = create(client, auth, ACCOUNTS, FIRMA)
    create(client, auth, CONTACTS, {"first_name": "Eva", "last_name": "Schmidt", "account_id": account["id"]})
    body = problem(client.delete(f"{ACCOUNTS}/{account['id']}", headers=auth | {"If-Match": "1"}), 409)
    assert "hat noch 1 Kontakt(e)" in body["detail"]


def test_paging_search_filters_and_sorting(client: TestClient, auth: dict[str, str]) -> None:
    cities = [("Aachen", "52062"), ("Berlin", "10115"), ("Köln", "50667"), ("Dresden", "01067"), ("Köln", "50668")]
    for n, (city, postcode) in enumerate(cities, start=1):
        industry = "Chemie" if n % 2 else "Handel"
        create(client, auth, ACCOUNTS, {"name": f"Firma {n}", "city": city, "postcode": postcode, "industry": industry})

    page = client.get(ACCOUNTS, params={"page": 2, "page_size": 2, "sort": "name", "desc": True}, headers=auth).json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 2, 2)
    assert [a["name"] for a in page["items"]] == ["Firma 3", "Firma 2"]
    row_fields = {"id", "name", "legal_form", "industry", "postcode", "city", "owner_name", "contacts", "updated_at"}
    assert set(page["items"][0]) == row_fields | {"version"}

    found = client.get(ACCOUNTS, params={"q": "köln"}, headers=auth).json()
    assert sorted(a["name"] for a in found["items"]) == ["Firma 3", "Firma 5"]
    chemie = client.get(ACCOUNTS, params={"industry": "Chemie", "city": ["Aachen", "Dresden"]}, headers=auth).json()
    assert [a["name"] for a in chemie["items"]] == ["Firma 1"]
    either = client.get(ACCOUNTS, params={"city": ["Aachen", "Dresden"]}, headers=auth).json()
    assert either["total"] == 2
    beyond = client.get(ACCOUNTS, params={"page": 9}, headers=auth).json()
    assert beyond["items"] == [] and beyond["total"] == 5


def test_writes_are_audited_and_evented(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session]
) -> None:
    account = create(client, auth, ACCOUNTS, FIRMA)
    contact = create(client, auth, CONTACTS, {"first_name": "Eva", "last_name": "Schmidt", "account_id": account["id"]})
    client.patch(f"{CONTACTS}/{contact['id']}", json={"last_name": "Schmitt"}, headers=auth | {"If-Match": "1"})
    client.delete(f"{CONTACTS}/{contact['id']}", headers=auth | {"If-Match": "2"})
    moved = {"city": "Bonn", "postcode": "53111"}
    client.patch(f"{ACCOUNTS}/{account['id']}", json=moved, headers=auth | {"If-Match": "1"})

    with factory() as session:
        account_log = trail(session, entity="account", entity_id=account["id"])
        contact_log = trail(session, entity="contact", entity_id=contact["id"])
        events = recent_events(session, limit=10)
    assert set(account_log.actor_name) == {"api:ERP-Anbindung"}
    assert set(account_log.action) == {"created", "updated"}
    renamed = contact_log[(contact_log.action == "updated")]
    assert list(zip(renamed.field, renamed.old_value, renamed.new_value)) == [("last_name", "Schmidt", "Schmitt")]
    assert "deleted" in set(contact_log.action)
    assert list(reversed(events.name.tolist()))[-5:] == [
        "crm.account.created",
        "crm.contact.created",
        "crm.contact.updated",
        "crm.contact.deleted",
        "crm.account.updated",
    ]
    assert events.iloc[0].payload["after"] == moved


def test_openapi_documents_bearer_auth_and_problems(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "CRM-Suite API"
    operation = spec["paths"]["/api/v1/accounts/{item_id}"]["patch"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert "application/problem+json" in operation["responses"]["409"]["content"]
    assert "postcode" in operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
