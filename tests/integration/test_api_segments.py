"""REST API for segments: CRUD with ETag/If-Match, audited and evented; the live count for a rule tree; rule problems
with their German place in the tree; cycles and references; members in cursor pages; recalculation; static members;
scopes; the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.crud import encode_cursor
from core.audit import trail
from core.events import recent_events
from core.permissions import SYSTEM
from core.segments.service import count_preview
from core.uow import UnitOfWork
from db.models import Segment
from tests.conftest import FrozenClock
from tests.integration.api_support import app_client, bearer as new_key, ok, problem, version
from tests.factories.crm import make_contact

SEGMENTS = "/api/v1/segments"
KEY_NAME = "Marketing-Automation"


def group(*children: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def cond(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "condition", "field": field, "operator": operator, "value": value, **extra}


def city(name: str) -> dict[str, Any]:
    return group(cond("contact.city", "eq", name))


def member_of(segment_id: int, operator: str = "member") -> dict[str, Any]:
    return cond("segment", operator, segment_id)


@pytest.fixture
def client(factory: sessionmaker[Session], clock: FrozenClock) -> Iterator[TestClient]:
    with app_client(factory, clock) as client:
        yield client


def bearer(factory: sessionmaker[Session], *scopes: str, name: str = KEY_NAME) -> dict[str, str]:
    return new_key(factory, *scopes, name=name)


@pytest.fixture
def auth(factory: sessionmaker[Session]) -> dict[str, str]:
    return bearer(factory, "segments.read", "segments.write", "contacts.read")


@pytest.fixture
def contact(factory: sessionmaker[Session], clock: FrozenClock) -> Any:
    def make(first: str, last: str, city_: str | None) -> int:
        email = f"{first.lower()}.{last.lower()}@kunde.example"
        return make_contact(factory, SYSTEM, clock=clock, first_name=first, last_name=last, city=city_, email=email).id

    return make





def create(client: TestClient, auth: dict[str, str], name: str, rules: dict[str, Any] | None, **extra: Any) -> int:
    body = {"name": name, "rules": rules} | extra if rules is not None else {"name": name} | extra
    return int(ok(client.post(SEGMENTS, json=body, headers=auth), 201)["id"])


def test_crud_round_trip_with_etag_and_if_match_is_audited_and_evented(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session]
) -> None:
    created = client.post(
        SEGMENTS, json={"name": "Köln", "rules": city(" Köln "), "description": "Rheinland"}, headers=auth
    )
    segment = ok(created, 201)
    url = f"{SEGMENTS}/{segment['id']}"
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert (segment["kind"], segment["member_count"], segment["version"]) == ("dynamic", 0, 1)
    assert segment["rules"] == city("Köln"), "stored normalised"
    assert (segment["references"], segment["used_by"], segment["refresh_error"]) == ([], [], None)
    fetched = client.get(url, headers=auth)
    assert ok(fetched) == segment and fetched.headers["ETag"] == '"1"'

    both = group(cond("contact.city", "in", ["Köln", "Bonn"]))
    assert "If-Match" in problem(client.patch(url, json={"name": "Köln und Bonn"}, headers=auth), 428)["detail"]
    edited = client.patch(url, json={"name": "Köln und Bonn", "rules": both}, headers=auth | version(fetched))
    assert (ok(edited)["name"], ok(edited)["rules"], edited.headers["ETag"]) == ("Köln und Bonn", both, '"2"')
    stale = problem(client.patch(url, json={"description": None}, headers=auth | version(fetched)), 409)
    assert "inzwischen von jemand anderem geändert" in stale["detail"]
    assert ok(client.patch(url, json={"description": None, "version": 2}, headers=auth))["version"] == 3
    kind = problem(client.patch(url, json={"kind": "static"}, headers=auth | {"If-Match": '"3"'}), 422)
    assert kind["errors"] == {"kind": "kann nicht geändert werden"}

    twin = problem(client.post(SEGMENTS, json={"name": "köln und bonn", "rules": group()}, headers=auth), 409)
    assert twin["detail"] == "Ein Segment mit dem Namen „köln und bonn“ gibt es bereits."
    typed = problem(client.post(SEGMENTS, json={"name": "", "kind": "mixed", "farbe": "rot"}, headers=auth), 422)
    assert typed["errors"].keys() == {"name", "kind", "farbe"} and typed["errors"]["farbe"] == "unbekanntes Feld"
    ruleless = problem(client.post(SEGMENTS, json={"name": "Ohne Regel"}, headers=auth), 422)
    assert ruleless["errors"] == {"rules": "Ein dynamisches Segment braucht eine Regel"}
    static = ok(client.post(SEGMENTS, json={"name": "Messe 2026", "kind": "static"}, headers=auth), 201)
    assert (static["kind"], static["rules"]) == ("static", None)

    problem(client.delete(url, headers=auth), 428)
    problem(client.delete(url, headers=auth | {"If-Match": '"2"'}), 409)
    assert client.delete(url, headers=auth | {"If-Match": '"3"'}).status_code == 204
    assert problem(client.get(url, headers=auth), 404)["detail"] == f"Segment {segment['id']} gibt es nicht."
    problem(client.patch(url, json={"name": "Neu"}, headers=auth | {"If-Match": '"3"'}), 404)
    problem(client.delete(url, headers=auth | {"If-Match": '"3"'}), 404)

    with factory() as session:
        log = trail(session, entity="segment", entity_id=segment["id"])
        events = recent_events(session, limit=50, name_prefix="crm.segment.")
    assert set(log.actor_name) == {f"api:{KEY_NAME}"}
    assert list(dict.fromkeys(reversed(log.action.tolist()))) == ["created", "updated", "deleted"]
    mine = events[events.entity_id == str(segment["id"])]
    assert list(reversed(mine.name.tolist())) == [
        "crm.segment.created",
        "crm.segment.updated",
        "crm.segment.updated",
        "crm.segment.deleted",
    ]
    payloads = list(reversed(mine.payload.tolist()))
    assert (payloads[1]["before"]["name"], payloads[1]["after"]["name"]) == ("Köln", "Köln und Bonn")
    assert payloads[3]["before"]["name"] == "Köln und Bonn"


def test_the_list_walks_segments_by_id_with_filters(client: TestClient, auth: dict[str, str]) -> None:
    ids = [create(client, auth, f"Stadt {n}", city(f"Ort {n}")) for n in range(4)]
    static = create(client, auth, "Handverlesen", None, kind="static")

    first = client.get(SEGMENTS, params={"limit": 2}, headers=auth)
    page = ok(first)
    assert [s["id"] for s in page["items"]] == ids[:2] and page["next_cursor"] == encode_cursor(ids[1])
    link = re.fullmatch(r'<(.+)>; rel="next"', first.headers["Link"])
    assert link is not None and f"cursor={page['next_cursor']}" in link.group(1)
    rest = ok(client.get(SEGMENTS, params={"limit": 50, "cursor": page["next_cursor"]}, headers=auth))
    assert [s["id"] for s in rest["items"]] == [*ids[2:], static] and rest["next_cursor"] is None
    row = page["items"][0]
    assert (row["name"], row["kind"], row["size"], row["trend"], row["last_refreshed_at"]) == (
        "Stadt 0",
        "dynamic",
        0,
        [],
        None,
    )

    assert [s["id"] for s in ok(client.get(SEGMENTS, params={"kind": "static"}, headers=auth))["items"]] == [static]
    assert [s["id"] for s in ok(client.get(SEGMENTS, params={"q": "STADT 3"}, headers=auth))["items"]] == [ids[3]]
    assert problem(client.get(SEGMENTS, params={"kind": "manuell"}, headers=auth), 422)["errors"].keys() == {"kind"}
    assert problem(client.get(SEGMENTS, params={"cursor": "kaputt!"}, headers=auth), 422)["errors"].keys() == {"cursor"}


def test_preview_counts_like_the_service_and_names_rule_problems_by_their_place(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], clock: FrozenClock, contact: Any
) -> None:
    cologne = [contact(f"Kunde{n}", "Kölsch", "Köln") for n in range(4)]
    contact("Bert", "Bach", "Bonn")
    rules = group(city("köln"), group(cond("contact.first_name", "eq", "Kunde3"), negate=True))

    answer = ok(client.post(f"{SEGMENTS}/preview", json={"rules": rules, "sample_size": 2}, headers=auth))
    expected = count_preview(UnitOfWork(factory, actor=SYSTEM, clock=clock), rules)
    assert answer["count"] == expected == 3
    assert answer["sample"] == [
        {
            "id": cologne[0],
            "first_name": "Kunde0",
            "last_name": "Kölsch",
            "email": "kunde0.kölsch@kunde.example",
            "account_name": None,
        },
        {
            "id": cologne[1],
            "first_name": "Kunde1",
            "last_name": "Kölsch",
            "email": "kunde1.kölsch@kunde.example",
            "account_name": None,
        },
    ]
    everyone = ok(client.post(f"{SEGMENTS}/preview", json={"rules": group(), "sample_size": 0}, headers=auth))
    assert everyone == {"count": 5, "sample": []}

    broken = group(
        cond("contact.city", "eq", "Köln"),
        group(cond("account.employees", "between", 10), cond("contact.shoe_size", "eq", 42), op="or"),
    )
    invalid = problem(client.post(f"{SEGMENTS}/preview", json={"rules": broken}, headers=auth), 422)
    assert invalid["errors"] == {
        "rules.2.1": "Bedingung 2.1: Operator „zwischen“ braucht zwei Werte",
        "rules.2.2": "Bedingung 2.2: unbekanntes Feld „contact.shoe_size“",
    }
    assert invalid["type"] == "urn:crm:problem:validation-failed"
    assert "Bedingung 2.1: Operator „zwischen“ braucht zwei Werte" in invalid["detail"]
    deep = group(group(group(group(group(group(group()))))))
    too_deep = problem(client.post(f"{SEGMENTS}/preview", json={"rules": deep}, headers=auth), 422)
    assert too_deep["errors"] == {"rules": "Regel: höchstens 6 Gruppenebenen (hier 7)"}
    shape = problem(client.post(f"{SEGMENTS}/preview", json={"rules": group({"type": "kreis"})}, headers=auth), 422)
    assert shape["errors"] == {"rules.1": "Eintrag 1: „type“ muss „group“ oder „condition“ sein"}
    missing = problem(client.post(f"{SEGMENTS}/preview", json={"sample_size": 500}, headers=auth), 422)
    assert missing["errors"] == {"rules": "Pflichtfeld", "sample_size": "darf höchstens 100 sein"}

    saved = problem(client.post(SEGMENTS, json={"name": "Kaputt", "rules": broken}, headers=auth), 422)
    assert saved["errors"] == invalid["errors"], "saving reports the same places"
    segment = create(client, auth, "Köln", city("Köln"))
    changed = problem(
        client.patch(f"{SEGMENTS}/{segment}", json={"rules": broken}, headers=auth | {"If-Match": '"1"'}), 422
    )
    assert changed["errors"] == invalid["errors"]


def test_a_cycle_is_refused_with_its_path_and_a_referenced_segment_is_not_deleted(
    client: TestClient, auth: dict[str, str]
) -> None:
    a = create(client, auth, "A", city("Köln"))
    b = create(client, auth, "B", group(member_of(a)))
    c = create(client, auth, "C", group(member_of(b, "not_member")))
    assert ok(client.get(f"{SEGMENTS}/{b}", headers=auth))["references"] == [{"id": a, "name": "A"}]
    assert ok(client.get(f"{SEGMENTS}/{a}", headers=auth))["used_by"] == [{"id": b, "name": "B"}]

    cycle = client.patch(f"{SEGMENTS}/{a}", json={"rules": group(member_of(c))}, headers=auth | {"If-Match": '"1"'})
    assert problem(cycle, 422)["errors"] == {"rules": "Zirkelbezug: A → C → B → A"}
    unknown = problem(client.post(SEGMENTS, json={"name": "D", "rules": group(member_of(999999))}, headers=auth), 422)
    assert unknown["errors"] == {"rules": "Segment 999999 gibt es nicht"}

    used = problem(client.delete(f"{SEGMENTS}/{a}", headers=auth | {"If-Match": '"1"'}), 409)
    assert used["detail"] == "Segment „A“ wird von Segment „B“ verwendet und kann nicht gelöscht werden."
    assert ok(client.get(f"{SEGMENTS}/{a}", headers=auth))["rules"] == city("Köln"), "nothing changed"


def test_recalculation_and_the_members_cursor_walk_every_member_exactly_once(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], clock: FrozenClock, contact: Any
) -> None:
    ids = [contact(f"Kunde{n}", "Kölsch", "Köln") for n in range(7)]
    contact("Bert", "Bach", "Bonn")
    segment = create(client, auth, "Köln", city("Köln"))
    url = f"{SEGMENTS}/{segment}"
    assert ok(client.get(f"{url}/members", headers=auth)) == {"items": [], "next_cursor": None}

    run = ok(client.post(f"{url}/recalculate", headers=auth))
    assert (run["segment_id"], run["segment_name"], run["reason"]) == (segment, "Köln", "manual")
    assert (run["size"], run["joined"], run["left"]) == (7, 7, 0)
    fetched = ok(client.get(url, headers=auth))
    assert (fetched["member_count"], fetched["version"]) == (7, 1), "a run does not move the version users edit"

    seen: list[int] = []
    pages, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = client.get(f"{url}/members", params=params, headers=auth)
        body = ok(response)
        pages += 1
        seen += [member["contact_id"] for member in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
            break
        link = re.fullmatch(r'<(.+)>; rel="next"', response.headers["Link"])
        assert link is not None and f"cursor={cursor}" in link.group(1) and "limit=3" in link.group(1)
    assert (seen, pages) == (ids, 3)
    assert body["items"][0] == {
        "contact_id": ids[6],
        "name": "Kunde6 Kölsch",
        "email": "kunde6.kölsch@kunde.example",
        "company": None,
        "joined_at": clock().isoformat().replace("+00:00", "Z"),
    }

    assert problem(client.get(f"{url}/members", params={"cursor": "kaputt!"}, headers=auth), 422)["errors"].keys() == {
        "cursor"
    }
    assert problem(client.get(f"{url}/members", params={"limit": 201}, headers=auth), 422)["errors"] == {
        "limit": "darf höchstens 200 sein"
    }
    problem(client.get(f"{SEGMENTS}/999999/members", headers=auth), 404)
    problem(client.post(f"{SEGMENTS}/999999/recalculate", headers=auth), 404)

    with factory.begin() as session:  # a stored rule that no longer fits the catalogue
        session.execute(
            update(Segment).where(Segment.id == segment).values(rules=group(cond("contact.shoe_size", "eq", 42)))
        )
    failed = problem(client.post(f"{url}/recalculate", headers=auth), 422)
    assert failed["errors"] == {"rules.1": "Bedingung 1: unbekanntes Feld „contact.shoe_size“"}
    after = ok(client.get(url, headers=auth))
    assert (after["member_count"], after["refresh_error"]) == (7, "Bedingung 1: unbekanntes Feld „contact.shoe_size“")

    with factory() as session:
        events = recent_events(session, limit=20, name_prefix="crm.segment.")
    mine = events[events.entity_id == str(segment)].set_index("name").payload
    assert mine["crm.segment.member_added"]["contact_ids"] == ids
    assert {k: mine["crm.segment.recalculated"][k] for k in ("size", "joined", "left", "reason")} == {
        "size": 7,
        "joined": 7,
        "left": 0,
        "reason": "manual",
    }


def test_static_members_are_added_and_removed_by_id(
    client: TestClient, auth: dict[str, str], factory: sessionmaker[Session], contact: Any
) -> None:
    anna, bert = contact("Anna", "Abel", None), contact("Bert", "Bach", None)
    segment = create(client, auth, "Messe 2026", None, kind="static")
    url = f"{SEGMENTS}/{segment}/members"

    added = ok(client.post(url, json={"contact_ids": [bert, anna, anna, 999999]}, headers=auth))
    assert added == {"changed": 2, "unchanged": 0, "unknown": [999999], "size": 2}
    again = ok(client.post(url, json={"contact_ids": [anna]}, headers=auth))
    assert again == {"changed": 0, "unchanged": 1, "unknown": [], "size": 2}
    removed = ok(client.request("DELETE", url, json={"contact_ids": [anna]}, headers=auth))
    assert removed == {"changed": 1, "unchanged": 0, "unknown": [], "size": 1}
    assert [m["contact_id"] for m in ok(client.get(url, headers=auth))["items"]] == [bert]
    assert ok(client.get(f"{SEGMENTS}/{segment}", headers=auth))["member_count"] == 1

    assert problem(client.post(url, json={"contact_ids": []}, headers=auth), 422)["errors"].keys() == {"contact_ids"}
    wrong = problem(client.post(url, json={"contact_ids": ["anna"], "grund": 1}, headers=auth), 422)
    assert wrong["errors"] == {"contact_ids.0": "keine ganze Zahl", "grund": "unbekanntes Feld"}
    dynamic = create(client, auth, "Alle", group())
    refused = problem(client.post(f"{SEGMENTS}/{dynamic}/members", json={"contact_ids": [anna]}, headers=auth), 409)
    assert "ist dynamisch" in refused["detail"]
    problem(client.request("DELETE", f"{SEGMENTS}/999999/members", json={"contact_ids": [anna]}, headers=auth), 404)

    with factory() as session:
        log = trail(session, entity="segment", entity_id=segment)
        events = recent_events(session, limit=20, name_prefix="crm.segment.member")
    assert list(dict.fromkeys(reversed(log.action.tolist()))) == ["created", "members_added", "members_removed"]
    mine = events[events.entity_id == str(segment)]
    assert [(e.name, e.payload["contact_ids"]) for e in mine.itertuples()][::-1] == [
        ("crm.segment.member_added", [anna, bert]),
        ("crm.segment.member_removed", [anna]),
    ]


def test_scopes_decide_what_a_key_may_do(client: TestClient, factory: sessionmaker[Session], contact: Any) -> None:
    writer = bearer(factory, "segments.read", "segments.write", name="Pflege")
    anna = contact("Anna", "Abel", "Köln")
    segment = create(client, writer, "Köln", city("Köln"))
    static = create(client, writer, "Messe", None, kind="static")
    url = f"{SEGMENTS}/{segment}"

    assert "Authorization: Bearer" in problem(client.get(SEGMENTS), 401)["detail"]
    reader = bearer(factory, "segments.read", name="Nur-Lesen")
    assert ok(client.get(url, headers=reader))["id"] == segment
    counting = {"rules": city("Köln"), "sample_size": 0}
    assert ok(client.post(f"{SEGMENTS}/preview", json=counting, headers=reader))["count"] == 1
    # names and addresses of members need contacts.read as well
    problem(client.post(f"{SEGMENTS}/preview", json={"rules": city("Köln")}, headers=reader), 403)
    problem(client.get(f"{url}/members", headers=reader), 403)
    people = bearer(factory, "segments.read", "contacts.read", name="Lesen mit Kontakten")
    ok(client.post(f"{url}/recalculate", headers=writer))
    assert ok(client.post(f"{SEGMENTS}/preview", json={"rules": city("Köln")}, headers=people))["sample"]
    assert [m["contact_id"] for m in ok(client.get(f"{url}/members", headers=people))["items"]] == [anna]
    denied = problem(client.post(SEGMENTS, json={"name": "Neu", "rules": group()}, headers=reader), 403)
    assert denied["detail"] == "Keine Berechtigung: Segmente anlegen, ändern, löschen und neu berechnen."
    problem(client.patch(url, json={"name": "Neu"}, headers=reader | {"If-Match": '"1"'}), 403)
    problem(client.delete(url, headers=reader | {"If-Match": '"1"'}), 403)
    problem(client.post(f"{url}/recalculate", headers=reader), 403)
    problem(client.post(f"{SEGMENTS}/{static}/members", json={"contact_ids": [anna]}, headers=reader), 403)
    problem(client.request("DELETE", f"{SEGMENTS}/{static}/members", json={"contact_ids": [anna]}, headers=reader), 403)

    contacts_only = bearer(factory, "contacts.read", name="Nur-Kontakte")
    assert (
        problem(client.get(SEGMENTS, headers=contacts_only), 403)["detail"] == "Keine Berechtigung: Segmente ansehen."
    )
    problem(client.get(url, headers=contacts_only), 403)
    problem(client.post(f"{SEGMENTS}/preview", json={"rules": group()}, headers=contacts_only), 403)
    problem(client.get(f"{url}/members", headers=contacts_only), 403)
    assert ok(client.get(url, headers=writer))["name"] == "Köln", "nothing was changed"


def test_openapi_documents_the_segment_endpoints(client: TestClient, auth: dict[str, str]) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert paths[SEGMENTS]["get"]["summary"] == "Segmente auflisten (Cursor-Paging) · List segments (cursor paging)"
    assert paths[f"{SEGMENTS}/{{item_id}}"]["patch"]["summary"] == "Segment ändern · Update segment"
    operations = {
        ("post", f"{SEGMENTS}/preview"): "Preview",
        ("get", f"{SEGMENTS}/{{item_id}}/members"): "CursorPageOut_Member_",
        ("post", f"{SEGMENTS}/{{item_id}}/members"): "MembershipChange",
        ("delete", f"{SEGMENTS}/{{item_id}}/members"): "MembershipChange",
        ("post", f"{SEGMENTS}/{{item_id}}/recalculate"): "Run",
    }
    for (method, path), model in operations.items():
        operation = paths[path][method]
        assert re.fullmatch(r"[^·]+ · [^·]+", operation["summary"]), operation["summary"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, path
        assert "application/problem+json" in operation["responses"]["422"]["content"]
    schemas = spec["components"]["schemas"]
    example = schemas["PreviewRequest"]["properties"]["rules"]["examples"][0]
    assert example["type"] == "group" and {child["type"] for child in example["children"]} == {"group", "condition"}
    assert schemas["PreviewRequest"]["examples"][0]["rules"] == example
    documented = ok(client.post(f"{SEGMENTS}/preview", json=schemas["PreviewRequest"]["examples"][0], headers=auth))
    assert documented == {"count": 0, "sample": []}, "the documented example is a valid rule tree"
    assert {"references", "used_by", "rules", "version"} <= set(schemas["Segment"]["properties"])
    create_body = paths[SEGMENTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"name", "kind", "rules"} <= set(create_body["properties"]) and create_body["examples"]
    assert "409" in paths[f"{SEGMENTS}/{{item_id}}"]["delete"]["responses"]
    assert "428" in paths[f"{SEGMENTS}/{{item_id}}"]["patch"]["responses"]
