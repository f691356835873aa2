"""REST API for opportunities: lifecycle audited and evented, cursor paging, stage moves, contact roles,
pipelines and reasons, auth and optimistic-locking errors as problem+json, the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.crud import encode_cursor
from core.apikeys import list_api_keys
from core.audit import trail
from core.events import recent_events
from core.permissions import SYSTEM, Actor, Role
from core.uow import UnitOfWork
from tests.conftest import FrozenClock
from tests.integration.api_support import app_client, bearer as new_key, ok, problem, version
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity

OPPS = "/api/v1/opportunities"
ALL_SCOPES = ("opportunities.read", "opportunities.write", "opportunities.delete")
DEAL = {"name": "Fräsmaschinen Ersatzinvestition", "amount": "48000", "expected_close_date": "2027-01-31"}


@pytest.fixture
def client(factory: sessionmaker[Session], clock: FrozenClock) -> Iterator[TestClient]:
    with app_client(factory, clock) as client:
        yield client


def bearer(factory: sessionmaker[Session], *scopes: str, name: str = "ERP-Anbindung") -> dict[str, str]:
    return new_key(factory, *scopes, name=name)


@pytest.fixture
def auth(factory: sessionmaker[Session]) -> dict[str, str]:
    return bearer(factory, *ALL_SCOPES)


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


@pytest.fixture
def account_id(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> int:
    return make_account(factory, admin, clock=clock).id





def reference(client: TestClient, auth: dict[str, str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Stage ids per pipeline name (plus the pipeline's own id under "id") and reason ids per "kind:label"."""
    pipelines = ok(client.get("/api/v1/pipelines", headers=auth))["items"]
    stages = {p["name"]: {"id": p["id"]} | {s["name"]: s["id"] for s in p["stages"]} for p in pipelines}
    reasons = ok(client.get("/api/v1/deal-reasons", headers=auth))["items"]
    return stages, {f"{r['kind']}:{r['label']}": r["id"] for r in reasons}


def test_lifecycle_through_the_api_is_audited_evented_and_in_the_history(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], account_id: int, clock: FrozenClock
) -> None:
    stages, reasons = reference(client, auth)
    neu = stages["Neugeschäft"]

    created = client.post(OPPS, json=DEAL | {"account_id": account_id, "lead_source": "Messe"}, headers=auth)
    deal = ok(created, 201)
    url = f"{OPPS}/{deal['id']}"
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert (deal["stage_name"], deal["status"], deal["probability"], deal["owner_id"]) == (
        "Qualifizierung",
        "open",
        10,
        None,
    )
    assert (deal["amount"], deal["weighted_amount"], deal["probability_is_override"]) == ("48000.00", "4800.00", False)
    fetched = client.get(url, headers=auth)
    assert ok(fetched) == deal and fetched.headers["ETag"] == '"1"'

    clock.advance(days=2)
    edited = client.patch(
        url, json={"amount": "52.000,00", "probability_override": 30}, headers=auth | version(fetched)
    )
    assert ok(edited)["weighted_amount"] == "15600.00" and ok(edited)["probability_is_override"] is True
    clock.advance(days=3)
    moved = client.post(f"{url}/stage", json={"stage_id": neu["Angebot"]}, headers=auth | version(edited))
    assert (ok(moved)["stage_name"], ok(moved)["days_in_stage"], moved.headers["ETag"]) == ("Angebot", 0, '"3"')

    missing = problem(client.post(f"{url}/lose", json={}, headers=auth | version(moved)), 422)
    assert missing["errors"] == {"reason_id": "Bitte einen Verlustgrund wählen."}
    assert missing["type"] == "urn:crm:problem:validation-failed"
    other = problem(
        client.post(f"{url}/lose", json={"reason_id": reasons["lost:Sonstiges"]}, headers=auth | version(moved)), 422
    )
    assert other["errors"] == {"reason_text": "Bei „Sonstiges“ bitte den Grund beschreiben."}
    lost = client.post(f"{url}/lose", json={"reason_id": reasons["lost:Preis zu hoch"]}, headers=auth | version(moved))
    assert (ok(lost)["status"], ok(lost)["close_reason"], ok(lost)["closed_date"]) == (
        "lost",
        "Preis zu hoch",
        "2026-11-30",
    )
    assert ok(lost)["probability"] == 0 and ok(lost)["weighted_amount"] == "0.00"

    clock.advance(days=1)
    reopened = client.post(f"{url}/reopen", headers=auth | version(lost))
    assert (ok(reopened)["status"], ok(reopened)["stage_name"], ok(reopened)["closed_date"]) == (
        "open",
        "Angebot",
        None,
    )
    won = client.post(f"{url}/win", json={"closed_date": "2026-12-01"}, headers=auth | version(reopened))
    assert (ok(won)["status"], ok(won)["probability"], ok(won)["closed_date"]) == ("won", 100, "2026-12-01")

    kinds = [row["kind"] for row in ok(client.get(f"{url}/history", headers=auth))["items"]]
    assert kinds == ["created", "revised", "moved", "lost", "reopened", "won"]
    assert client.delete(url, headers=auth | version(won)).status_code == 204
    problem(client.get(url, headers=auth), 404)
    assert len(ok(client.get(f"{url}/history", headers=auth))["items"]) == 6  # the history outlives the deal

    with factory() as session:
        log = trail(session, entity="opportunity", entity_id=deal["id"])
        events = recent_events(session, limit=50, name_prefix="crm.opportunity.")
    assert set(log.actor_name) == {"api:ERP-Anbindung"}
    assert list(dict.fromkeys(reversed(log.action.tolist()))) == [
        "created",
        "updated",
        "stage_changed",
        "lost",
        "reopened",
        "won",
        "deleted",
    ]
    assert list(reversed(events[events.entity_id == str(deal["id"])].name.tolist())) == [
        "crm.opportunity.created",
        "crm.opportunity.updated",
        "crm.opportunity.stage_changed",
        "crm.opportunity.lost",
        "crm.opportunity.reopened",
        "crm.opportunity.won",
        "crm.opportunity.deleted",
    ]


def test_created_in_a_chosen_pipeline_or_stage_and_moved_by_patch(
    client: TestClient, auth: dict[str, str], account_id: int
) -> None:
    stages, reasons = reference(client, auth)
    base = DEAL | {"account_id": account_id}
    existing = ok(client.post(OPPS, json=base | {"pipeline_id": stages["Bestandskunden"]["id"]}, headers=auth), 201)
    assert (existing["pipeline_name"], existing["stage_name"]) == ("Bestandskunden", "Bedarf erkannt")
    placed = ok(client.post(OPPS, json=base | {"stage_id": stages["Neugeschäft"]["Verhandlung"]}, headers=auth), 201)
    assert (placed["stage_name"], placed["probability"]) == ("Verhandlung", 75)

    lost_stage = stages["Neugeschäft"]["Verloren"]
    unreasoned = problem(client.post(OPPS, json=base | {"stage_id": lost_stage}, headers=auth), 422)
    assert unreasoned["errors"] == {"reason_id": "Bitte einen Verlustgrund wählen."}
    closed = client.post(
        OPPS, json=base | {"stage_id": lost_stage, "reason_id": reasons["lost:Preis zu hoch"]}, headers=auth
    )
    assert (ok(closed, 201)["status"], ok(closed, 201)["close_reason"]) == ("lost", "Preis zu hoch")
    typed = problem(client.post(OPPS, json=base | {"stage_id": "drei", "amount": -1}, headers=auth), 422)
    assert typed["errors"] == {"stage_id": "keine ganze Zahl", "amount": "muss mindestens 0 sein"}

    url = f"{OPPS}/{placed['id']}"
    patch = {
        "stage_id": stages["Neugeschäft"]["Gewonnen"],
        "won_reason_id": reasons["won:Preis-Leistung"],
        "name": "Neu",
    }
    won = ok(client.patch(url, json=patch, headers=auth | {"If-Match": '"1"'}))
    assert (won["name"], won["status"], won["close_reason"]) == ("Neu", "won", "Preis-Leistung")
    current = {"If-Match": f'"{won["version"]}"'}
    unknown = problem(client.patch(url, json={"bundesland": "NRW", "pipeline_id": 2}, headers=auth | current), 422)
    assert unknown["errors"] == {"bundesland": "unbekanntes Feld", "pipeline_id": "unbekanntes Feld"}
    invalid = problem(client.patch(url, json={"amount": -5, "currency": "DM"}, headers=auth | current), 422)
    assert set(invalid["errors"]) == {"amount", "currency"}


def test_cursor_paging_walks_every_deal_once_and_respects_filters(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], admin: Actor, account_id: int
) -> None:
    other_account = make_account(factory, admin, name="Schmidt Logistik").id
    made = [
        make_opportunity(
            factory,
            admin,
            account_id=other_account if n % 3 == 0 else account_id,
            name=f"Deal {n:02d}",
            amount=str(1_000 * n),
            currency="CHF" if n % 4 == 0 else "EUR",
        )
        for n in range(1, 12)
    ]
    ids = [m.id for m in made]

    def walk(params: dict[str, Any], limit: int) -> tuple[list[int], int]:
        seen: list[int] = []
        pages, cursor = 0, None
        while True:
            response = client.get(
                OPPS, params=params | {"limit": limit} | ({"cursor": cursor} if cursor else {}), headers=auth
            )
            body = ok(response)
            pages += 1
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                assert "Link" not in response.headers
                return seen, pages
            link = re.fullmatch(r'<(.+)>; rel="next"', response.headers["Link"])
            assert link is not None and f"cursor={cursor}" in link.group(1) and f"limit={limit}" in link.group(1)

    assert walk({}, 4) == (ids, 3)
    assert walk({}, 11) == (ids, 1)
    assert walk({"account_id": other_account}, 2)[0] == [m.id for m in made if m.account_id == other_account]
    assert walk({"currency": "CHF"}, 1)[0] == [ids[3], ids[7]]
    assert walk({"amount_min": 5000, "amount_max": 7000, "q": "deal"}, 2)[0] == ids[4:7]
    assert walk({"q": "schmidt"}, 50)[0] == [m.id for m in made if m.account_id == other_account]
    assert walk({"status": ["won", "lost"]}, 5) == ([], 1)

    first = ok(client.get(OPPS, params={"limit": 5}, headers=auth))
    assert set(first["items"][0]) >= {
        "id",
        "name",
        "account_name",
        "stage_name",
        "amount",
        "weighted_amount",
        "version",
    }
    assert (first["items"][0]["weighted_amount"], first["items"][0]["probability_is_override"]) == ("100.00", False)
    newcomer = make_opportunity(factory, admin, account_id=account_id, name="Nachzügler").id
    rest = ok(client.get(OPPS, params={"limit": 50, "cursor": first["next_cursor"]}, headers=auth))
    assert [i["id"] for i in first["items"] + rest["items"]] == ids + [newcomer]  # an insert shifts no boundary
    assert first["next_cursor"] == encode_cursor(ids[4])

    bad = problem(client.get(OPPS, params={"cursor": "kaputt!", "limit": 500}, headers=auth), 422)
    assert bad["errors"]["limit"] == "darf höchstens 200 sein"
    assert problem(client.get(OPPS, params={"cursor": "kaputt!"}, headers=auth), 422)["errors"].keys() == {"cursor"}
    wrong = problem(client.get(OPPS, params={"status": "offen", "close_from": "31.01.2027"}, headers=auth), 422)
    assert wrong["errors"].keys() == {"status.0", "close_from"}


def test_keys_scopes_versions_and_unknown_ids(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], account_id: int
) -> None:
    deal = ok(client.post(OPPS, json=DEAL | {"account_id": account_id}, headers=auth), 201)
    url = f"{OPPS}/{deal['id']}"
    stages, _ = reference(client, auth)
    angebot = {"stage_id": stages["Neugeschäft"]["Angebot"]}

    assert "Authorization: Bearer" in problem(client.get(OPPS), 401)["detail"]
    problem(client.get(url, headers={"Authorization": "Bearer crm_0000_falsch"}), 401)
    reader = bearer(factory, "opportunities.read", name="Nur-Lesen")
    assert ok(client.get(url, headers=reader))["id"] == deal["id"]
    denied = problem(client.patch(url, json={"name": "Neu"}, headers=reader | {"If-Match": '"1"'}), 403)
    assert denied["detail"] == "Keine Berechtigung: Verkaufschancen anlegen, bearbeiten und verschieben."
    problem(client.post(f"{url}/stage", json=angebot, headers=reader | {"If-Match": '"1"'}), 403)
    problem(client.delete(url, headers=reader | {"If-Match": '"1"'}), 403)
    problem(client.post(OPPS, json=DEAL | {"account_id": account_id}, headers=reader), 403)
    accounts_only = bearer(factory, "accounts.read", name="Nur-Firmen")
    problem(client.get(OPPS, headers=accounts_only), 403)
    problem(client.get("/api/v1/pipelines", headers=accounts_only), 403)

    assert "If-Match" in problem(client.patch(url, json={"name": "Neu"}, headers=auth), 428)["detail"]
    for action in ("stage", "win", "lose", "reopen"):
        problem(client.post(f"{url}/{action}", json=angebot if action == "stage" else {}, headers=auth), 428)
    problem(client.delete(url, headers=auth), 428)

    assert ok(client.post(f"{url}/stage", json=angebot, headers=auth | {"If-Match": '"1"'}))["version"] == 2
    stale = problem(client.patch(url, json={"name": "Neu"}, headers=auth | {"If-Match": '"1"'}), 409)
    assert "inzwischen von jemand anderem geändert" in stale["detail"]
    problem(client.post(f"{url}/win", headers=auth | {"If-Match": '"1"'}), 409)
    problem(client.delete(url, headers=auth | {"If-Match": '"1"'}), 409)
    assert (
        "nicht abgeschlossen"
        in problem(client.post(f"{url}/reopen", headers=auth | {"If-Match": '"2"'}), 409)["detail"]
    )
    same = problem(client.post(f"{url}/stage", json=angebot, headers=auth | {"If-Match": '"2"'}), 422)
    assert same["errors"] == {"stage_id": "Die Verkaufschance steht schon in „Angebot“."}
    extra = problem(client.post(f"{url}/stage", json=angebot | {"grund": 1}, headers=auth | {"If-Match": '"2"'}), 422)
    assert extra["errors"] == {"grund": "unbekanntes Feld"}

    gone = f"{OPPS}/999999"
    assert problem(client.get(gone, headers=auth), 404)["detail"] == "Verkaufschance 999999 gibt es nicht."
    problem(client.patch(gone, json={"name": "Neu"}, headers=auth | {"If-Match": '"1"'}), 404)
    problem(client.post(f"{gone}/stage", json=angebot, headers=auth | {"If-Match": '"1"'}), 404)
    problem(client.post(f"{gone}/win", headers=auth | {"If-Match": '"1"'}), 404)
    problem(client.get(f"{gone}/history", headers=auth), 404)
    problem(client.get(f"{gone}/contacts", headers=auth), 404)
    problem(client.delete(gone, headers=auth | {"If-Match": '"1"'}), 404)
    assert ok(client.get(url, headers=auth))["name"] == DEAL["name"]


def test_contact_roles(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], admin: Actor, account_id: int
) -> None:
    deal = ok(client.post(OPPS, json=DEAL | {"account_id": account_id}, headers=auth), 201)
    url = f"{OPPS}/{deal['id']}/contacts"
    eva = make_contact(factory, admin, first_name="Eva", last_name="Schmidt", email="eva@example.de").id
    jan = make_contact(factory, admin, first_name="Jan", last_name="Bauer", email=None).id
    assert ok(client.get(url, headers=auth)) == {"items": []}

    added = ok(client.post(url, json={"contact_id": eva, "role": "Entscheider", "is_primary": True}, headers=auth), 201)
    assert (added["contact_name"], added["role"], added["is_primary"]) == ("Eva Schmidt", "Entscheider", True)
    ok(client.post(url, json={"contact_id": jan, "role": "Einkauf", "is_primary": True}, headers=auth), 201)
    listed = ok(client.get(url, headers=auth))["items"]
    assert [(r["contact_name"], r["is_primary"]) for r in listed] == [("Jan Bauer", True), ("Eva Schmidt", False)]

    twice = problem(client.post(url, json={"contact_id": eva, "role": "Technik"}, headers=auth), 422)
    assert twice["errors"] == {"contact_id": "Dieser Kontakt ist schon an der Verkaufschance beteiligt"}
    bad_role = problem(client.post(url, json={"contact_id": jan, "role": "Chef"}, headers=auth), 422)
    assert bad_role["errors"]["role"].startswith("ungültiger Wert (erlaubt: 'Entscheider'")

    assert client.delete(f"{url}/{added['id']}", headers=auth).status_code == 204
    assert [r["contact_name"] for r in ok(client.get(url, headers=auth))["items"]] == ["Jan Bauer"]
    problem(client.delete(f"{url}/{added['id']}", headers=auth), 404)
    with factory() as session:
        names = recent_events(session, limit=20, name_prefix="crm.opportunity_contact.").name.tolist()
    assert list(reversed(names)) == [
        "crm.opportunity_contact.created",
        "crm.opportunity_contact.updated",
        "crm.opportunity_contact.created",
        "crm.opportunity_contact.deleted",
    ]


def test_pipelines_and_reasons(client: TestClient, auth: dict[str, str]) -> None:
    pipelines = ok(client.get("/api/v1/pipelines", headers=auth))["items"]
    assert [(p["name"], p["is_default"]) for p in pipelines] == [("Neugeschäft", True), ("Bestandskunden", False)]
    neu = pipelines[0]["stages"]
    assert [(s["name"], s["kind"], s["probability"]) for s in neu] == [
        ("Qualifizierung", "open", 10),
        ("Bedarfsanalyse", "open", 25),
        ("Angebot", "open", 50),
        ("Verhandlung", "open", 75),
        ("Gewonnen", "won", 100),
        ("Verloren", "lost", 0),
    ]
    lost = ok(client.get("/api/v1/deal-reasons", params={"kind": "lost"}, headers=auth))["items"]
    assert lost and {r["kind"] for r in lost} == {"lost"}
    assert any(r["needs_text"] for r in lost)
    both = ok(client.get("/api/v1/deal-reasons", headers=auth))["items"]
    assert {r["kind"] for r in both} == {"won", "lost"}
    assert problem(client.get("/api/v1/deal-reasons", params={"kind": "offen"}, headers=auth), 422)[
        "errors"
    ].keys() == {"kind"}


def test_openapi_documents_the_opportunity_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/opportunities",
        "/api/v1/opportunities/{item_id}",
        "/api/v1/opportunities/{item_id}/stage",
        "/api/v1/opportunities/{item_id}/win",
        "/api/v1/opportunities/{item_id}/lose",
        "/api/v1/opportunities/{item_id}/reopen",
        "/api/v1/opportunities/{item_id}/history",
        "/api/v1/opportunities/{item_id}/contacts",
        "/api/v1/opportunities/{item_id}/contacts/{role_id}",
        "/api/v1/pipelines",
        "/api/v1/deal-reasons",
    ):
        assert path in paths, path
    listing = paths["/api/v1/opportunities"]["get"]
    assert listing["summary"] == "Verkaufschancen auflisten (Cursor-Paging) · List opportunities (cursor paging)"
    params = {p["name"] for p in listing["parameters"]}
    assert params >= {
        "limit",
        "cursor",
        "q",
        "pipeline_id",
        "stage_id",
        "team_id",
        "status",
        "close_from",
        "amount_max",
    }
    assert "page" not in params
    create = paths["/api/v1/opportunities"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert {"name", "account_id", "stage_id", "reason_id"} <= set(body["properties"]) and body["examples"]
    assert (
        "application/problem+json"
        in paths["/api/v1/opportunities/{item_id}/stage"]["post"]["responses"]["428"]["content"]
    )
    assert paths["/api/v1/opportunities/{item_id}"]["patch"]["security"] == [{"HTTPBearer": []}]
    assert "weighted_amount" in spec["components"]["schemas"]["Opportunity"]["properties"]
    assert paths["/api/v1/accounts"]["get"]["summary"] == "Firmen auflisten"


def test_a_keys_last_use_is_stamped_at_most_once_a_minute(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Reads must not write: a stamp per request would make concurrent API calls queue on the key's row."""

    def last_used() -> str:
        keys = list_api_keys(UnitOfWork(factory, actor=SYSTEM))
        return str(keys.loc[keys.name == "ERP-Anbindung", "last_used_at"].iloc[0])

    first = clock()
    ok(client.get("/api/v1/pipelines", headers=auth))
    clock.advance(seconds=59)
    ok(client.get("/api/v1/pipelines", headers=auth))
    assert last_used() == str(first)
    clock.advance(seconds=1)
    ok(client.get("/api/v1/pipelines", headers=auth))
    assert last_used() == str(clock())
