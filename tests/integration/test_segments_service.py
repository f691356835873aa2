"""Segment services on SQLite and PostgreSQL: CRUD with audit and events, the dependency graph (cycles refused,
topological recalculation), recalculation with diff and history, failures, "why is this contact a member",
static members by hand and by CSV, previews, the incremental refresh, the job's lease and contact merges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.contacts import get_contact, update_contact
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.merge import merge, undo_merge
from core.permissions import SYSTEM, Actor, Role
from core.segments import recalc
from core.segments.recalc import claim_lease, current_lease, recalc_all, recalc_touched, recalculate, topological_order
from core.segments.service import (
    add_static_members,
    changes,
    count_preview,
    create_segment,
    delete_segment,
    get_segment,
    import_static_members,
    list_segments,
    member_history,
    members_page,
    remove_static_members,
    sample_preview,
    update_segment,
    why_member,
)
from core.uow import UnitOfWork
from db.models import Activity, AuditEntry, ContactTag, OutboxEvent, Segment, SegmentChange, SegmentMember, SegmentRun
from jobs.recalc_segments import run as run_job
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import actor_of, make_user


def group(*children: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def cond(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "condition", "field": field, "operator": operator, "value": value, **extra}


def city(name: str) -> dict[str, Any]:
    return group(cond("contact.city", "eq", name))


def member_of(segment_id: int, operator: str = "member") -> dict[str, Any]:
    return cond("segment", operator, segment_id)


@dataclass
class World:
    factory: sessionmaker[Session]
    clock: FrozenClock
    marketing: Actor
    viewer: Actor

    def uow(self, actor: Actor | None = None) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=actor or self.marketing, clock=self.clock)

    def contact(self, first: str, last: str, city_: str | None = None, **values: Any) -> int:
        values.setdefault("email", f"{first.lower()}.{last.lower()}@kunde.example")
        return make_contact(
            self.factory, SYSTEM, clock=self.clock, first_name=first, last_name=last, city=city_, **values
        ).id

    def move(self, contact_id: int, new_city: str) -> None:
        version = get_contact(self.uow(SYSTEM), contact_id).version
        update_contact(self.uow(SYSTEM), contact_id, {"city": new_city}, expected_version=version)

    def members(self, segment_id: int) -> list[int]:
        with self.factory() as session:
            stmt = select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)
            return sorted(session.scalars(stmt))

    def events(self, name: str, segment_id: int) -> list[dict[str, Any]]:
        with self.factory() as session:
            stmt = (
                select(OutboxEvent.payload)
                .where(OutboxEvent.name == name, OutboxEvent.entity_id == str(segment_id))
                .order_by(OutboxEvent.id)
            )
            return list(session.scalars(stmt))

    def audit_actions(self, entity: str, entity_id: int) -> list[str]:
        with self.factory() as session:
            stmt = (
                select(AuditEntry.action)
                .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
                .order_by(AuditEntry.id)
            )
            return list(dict.fromkeys(session.scalars(stmt)))

    def lease_holder(self) -> str | None:
        with self.factory() as session:
            return current_lease(session).holder

    def runs(self, segment_id: int | None = None) -> list[SegmentRun]:
        with self.factory() as session:
            stmt = select(SegmentRun).order_by(SegmentRun.id)
            if segment_id is not None:
                stmt = stmt.where(SegmentRun.segment_id == segment_id)
            return list(session.scalars(stmt))


@pytest.fixture
def w(factory: sessionmaker[Session], clock: FrozenClock) -> World:
    marketing = actor_of(make_user(factory, Role.MARKETING, clock=clock))
    viewer = actor_of(make_user(factory, Role.VIEWER, clock=clock))
    return World(factory, clock, marketing, viewer)


# --- create, change, delete ----------------------------------------------------------------------------------------


def test_create_update_delete_are_validated_audited_and_evented(w: World) -> None:
    created = create_segment(w.uow(), name="Köln", rules=city(" Köln "), description="Kontakte in Köln")
    assert (created.kind, created.member_count, created.version) == ("dynamic", 0, 1)
    assert created.rules == city("Köln"), "rules are stored normalised (text trimmed)"
    assert w.events("crm.segment.created", created.id)[0]["after"]["member_count"] == 0

    with pytest.raises(Conflict, match="Ein Segment mit dem Namen „köln“ gibt es bereits"):
        create_segment(w.uow(), name="köln", rules=city("Bonn"))
    with pytest.raises(ValidationFailed) as invalid:
        create_segment(w.uow(), name="Kaputt", rules=group(cond("contact.city", "between", "A")))
    allowed = "ist, ist nicht, enthält, beginnt mit, in Liste, ist leer, ist nicht leer"
    assert invalid.value.fields == {"1": f"Bedingung 1: Operator „between“ passt nicht zu „Ort“ (erlaubt: {allowed})"}
    with pytest.raises(ValidationFailed, match="braucht eine Regel"):
        create_segment(w.uow(), name="Ohne Regel")
    with pytest.raises(ValidationFailed, match="statisches Segment hat keine Regel"):
        create_segment(w.uow(), name="Statisch", kind="static", rules=city("Köln"))

    both_cities = group(cond("contact.city", "in", ["Köln", "Bonn"]))
    changed = update_segment(w.uow(), created.id, {"name": "Köln und Bonn", "rules": both_cities}, expected_version=1)
    assert (changed.name, changed.version) == ("Köln und Bonn", 2)
    assert w.events("crm.segment.updated", created.id)[0]["after"]["name"] == "Köln und Bonn"
    with pytest.raises(Conflict, match="inzwischen von jemand anderem geändert"):
        update_segment(w.uow(), created.id, {"description": None}, expected_version=1)
    with pytest.raises(ValidationFailed, match="kann nicht geändert werden"):
        update_segment(w.uow(), created.id, {"kind": "static"}, expected_version=2)

    delete_segment(w.uow(), created.id, expected_version=2)
    assert w.events("crm.segment.deleted", created.id)[0]["before"]["name"] == "Köln und Bonn"
    assert w.audit_actions("segment", created.id) == ["created", "updated", "deleted"]
    with pytest.raises(NotFound, match=f"Segment {created.id} gibt es nicht"):
        get_segment(w.uow(), created.id)


def test_viewers_may_read_and_preview_but_not_write(w: World) -> None:
    segment = create_segment(w.uow(), name="Alle", rules=group())
    assert get_segment(w.uow(w.viewer), segment.id).name == "Alle"
    assert list(list_segments(w.uow(w.viewer)).name) == ["Alle"]
    assert count_preview(w.uow(w.viewer), group()) == 0
    for attempt in (
        lambda: create_segment(w.uow(w.viewer), name="Nein", rules=group()),
        lambda: recalculate(w.uow(w.viewer), segment.id),
        lambda: delete_segment(w.uow(w.viewer), segment.id),
    ):
        with pytest.raises(PermissionDenied, match="Segmente anlegen"):
            attempt()


# --- the dependency graph ------------------------------------------------------------------------------------------


def test_a_cycle_between_segments_is_refused_with_its_path(w: World) -> None:
    a = create_segment(w.uow(), name="A", rules=city("Köln"))
    b = create_segment(w.uow(), name="B", rules=group(member_of(a.id)))
    c = create_segment(w.uow(), name="C", rules=group(member_of(b.id, "not_member")))
    assert get_segment(w.uow(), b.id).references == {a.id: "A"}
    assert get_segment(w.uow(), a.id).used_by == {b.id: "B"}

    with pytest.raises(ValidationFailed) as cycle:
        update_segment(w.uow(), a.id, {"rules": group(city("Köln"), member_of(c.id))}, expected_version=1)
    assert cycle.value.fields == {"rules": "Zirkelbezug: A → C → B → A"}
    with pytest.raises(ValidationFailed, match="Zirkelbezug: A → A"):
        update_segment(w.uow(), a.id, {"rules": group(member_of(a.id))}, expected_version=1)
    with pytest.raises(ValidationFailed, match="Segment 9999 gibt es nicht"):
        create_segment(w.uow(), name="D", rules=group(member_of(9999)))
    assert get_segment(w.uow(), a.id).rules == city("Köln"), "nothing was saved"


def test_a_referenced_segment_cannot_be_deleted(w: World) -> None:
    a = create_segment(w.uow(), name="Stammkunden", rules=city("Köln"))
    create_segment(w.uow(), name="Newsletter", rules=group(member_of(a.id)))
    with pytest.raises(Conflict, match="Segment „Stammkunden“ wird von Segment „Newsletter“ verwendet"):
        delete_segment(w.uow(), a.id)
    assert get_segment(w.uow(), a.id).name == "Stammkunden"


def test_recalc_all_works_in_dependency_order_so_each_segment_sees_fresh_membership(w: World) -> None:
    anna, bert, cora = w.contact("Anna", "Abel", "Köln"), w.contact("Bert", "Bach", "Köln"), w.contact("Cora", "C")
    a = create_segment(w.uow(), name="A: Köln ohne Bert", rules=group(city("Köln")))
    b = create_segment(w.uow(), name="B: in A", rules=group(member_of(a.id)))
    c = create_segment(w.uow(), name="C: Bert", rules=group(cond("contact.first_name", "eq", "Bert")))
    update_segment(w.uow(), a.id, {"rules": group(city("Köln"), member_of(c.id, "not_member"))}, expected_version=1)

    report = recalc_all(w.uow())

    assert report.ok and [r.segment_id for r in report.runs] == [c.id, a.id, b.id]
    assert [r.segment_id for r in w.runs()] == [c.id, a.id, b.id]
    assert (w.members(c.id), w.members(a.id), w.members(b.id)) == ([bert], [anna], [anna])
    assert cora not in w.members(a.id)
    assert topological_order({1: {3}, 2: {1}, 3: set(), 4: set()}) == [3, 4, 1, 2]


# --- recalculation, diff, history ----------------------------------------------------------------------------------


def test_recalculation_records_the_diff_and_the_size_history(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recalc, "BATCH", 2)  # member events in batches: 3 joins → events of 2 and 1 ids
    anna, bert = w.contact("Anna", "Abel", "Köln"), w.contact("Bert", "Bach", "Köln")
    cora, dora = w.contact("Cora", "C", "Köln"), w.contact("Dora", "Dahl", "Bonn")
    segment = create_segment(w.uow(), name="Köln", rules=city("Köln"))
    first_at = w.clock.current

    first = recalculate(w.uow(), segment.id, reason="manual")
    assert (first.size, first.joined, first.left) == (3, 3, 0)

    w.clock.advance(days=1)
    w.move(cora, "Bonn")
    w.move(dora, "köln")
    second = recalculate(w.uow(), segment.id, reason="schedule")

    assert (second.size, second.joined, second.left) == (3, 1, 1)
    assert w.members(segment.id) == [anna, bert, dora]
    page, _ = members_page(w.uow(), segment.id)
    assert {r.contact_id: r.joined_at for r in page} == {anna: first_at, bert: first_at, dora: w.clock.current}
    history = member_history(w.uow(), segment.id)
    assert history[["reason", "size", "joined", "left"]].values.tolist() == [["manual", 3, 3, 0], ["schedule", 3, 1, 1]]
    recent = changes(w.uow(), segment.id)
    assert recent[["change", "contact_id"]].values.tolist()[:2] == [["left", cora], ["joined", dora]]
    assert recent["at"].iloc[0] == w.clock.current and recent["name"].iloc[1] == "Dora Dahl" and len(recent) == 5
    view = get_segment(w.uow(), segment.id)
    assert (view.member_count, view.last_refreshed_at, view.refresh_error) == (3, w.clock.current, None)
    assert list_segments(w.uow()).trend.iloc[0] == [3, 3]

    added = w.events("crm.segment.member_added", segment.id)
    assert [e["contact_ids"] for e in added] == [[anna, bert], [cora], [dora]]
    assert [e["contact_ids"] for e in w.events("crm.segment.member_removed", segment.id)] == [[cora]]
    recalculated = w.events("crm.segment.recalculated", segment.id)
    assert [(e["size"], e["joined"], e["left"], e["reason"]) for e in recalculated] == [
        (3, 3, 0, "manual"),
        (3, 1, 1, "schedule"),
    ]
    assert "recalculated" in w.audit_actions("segment", segment.id)


def test_a_failed_recalculation_keeps_the_old_membership_and_stores_the_error(w: World) -> None:
    anna = w.contact("Anna", "Abel", "Köln")
    segment = create_segment(w.uow(), name="Köln", rules=city("Köln"))
    recalculate(w.uow(), segment.id)
    broken = group(cond("contact.shoe_size", "eq", 42))
    with w.factory.begin() as session:  # a stored rule that no longer fits the catalogue
        session.execute(update(Segment).where(Segment.id == segment.id).values(rules=broken))
    w.contact("Bert", "Bach", "Köln")

    with pytest.raises(ValidationFailed, match="unbekanntes Feld „contact.shoe_size“"):
        recalculate(w.uow(), segment.id)

    assert w.members(segment.id) == [anna] and len(w.runs(segment.id)) == 1
    failed = get_segment(w.uow(), segment.id)
    assert failed.refresh_error == "Bedingung 1: unbekanntes Feld „contact.shoe_size“" and failed.member_count == 1
    report = recalc_all(w.uow())
    assert not report.ok and "Segment" in report.describe() and "fehlgeschlagen" in report.describe()

    with w.factory.begin() as session:
        session.execute(update(Segment).where(Segment.id == segment.id).values(rules=city("Köln")))
    assert recalculate(w.uow(), segment.id).size == 2
    assert get_segment(w.uow(), segment.id).refresh_error is None


def test_why_member_names_the_conditions_the_contact_meets_in_plain_german(w: World) -> None:
    big = make_account(w.factory, SYSTEM, clock=w.clock, name="Rheinwerk", employees=250).id
    anna = w.contact("Anna", "Abel", "Köln", account_id=big)
    excluded = create_segment(w.uow(), name="Gesperrt", kind="static")
    with w.factory.begin() as session:
        session.add(ContactTag(contact_id=anna, tag="VIP"))
        session.add(Activity(contact_id=anna, type="email_open", occurred_at=w.clock.current - dt.timedelta(days=3)))
    rules = group(
        city("Köln"),
        cond("account.employees", "gt", 50),
        group(
            cond("contact.tags", "any_of", ["VIP", "Presse"]),
            cond("activity.type", "within", "email_open", amount=30, unit="days"),
            cond("contact.birth_date", "before", "01.01.1970"),
            op="or",
        ),
        group(member_of(excluded.id), negate=True),
    )
    segment = create_segment(w.uow(), name="Warme Kontakte", rules=rules)
    recalculate(w.uow(), segment.id)
    assert w.members(segment.id) == [anna]

    assert why_member(w.uow(), segment.id, anna) == [
        "Ort ist „Köln“.",
        "Mitarbeitende > 50.",
        "Schlagworte hat eines von: „VIP“, „Presse“.",
        "Aktivität „E-Mail geöffnet“ in den letzten 30 Tagen.",
        "ist Mitglied im Segment „Gesperrt“ – trifft nicht zu.",
    ]
    assert why_member(w.uow(), segment.id, anna, lang="en") == [
        "City is “Köln”.",
        "Employees > 50.",
        "Tags has any of: “VIP”, “Presse”.",
        "Activity “E-mail opened” in the last 30 days.",
        "is a member of segment “Gesperrt” – not met.",
    ]
    add_static_members(w.uow(), excluded.id, [anna])
    assert why_member(w.uow(), excluded.id, anna) == ["Von Hand oder per Datei aufgenommen am 25.11.2026."]
    assert why_member(w.uow(), excluded.id, anna, lang="en") == ["Added by hand or from a file on 25 Nov 2026."]


# --- static segments -----------------------------------------------------------------------------------------------


def test_static_members_by_hand_and_by_csv_upload(w: World) -> None:
    anna, bert = w.contact("Anna", "Abel"), w.contact("Bert", "Bach")
    twin_a = w.contact("Zwilling", "Eins", email="zwilling@kunde.example")
    twin_b = w.contact("Zwilling", "Zwei", email="Zwilling@Kunde.example")
    segment = create_segment(w.uow(), name="Messe 2026", kind="static")
    csv_data = (
        b"Name;E-Mail\n"
        b"Anna;ANNA.ABEL@kunde.example\n"
        b"Niemand;niemand@kunde.example\n"
        b"Kaputt;keine adresse\n"
        b";\n"
        b"Zwilling;zwilling@kunde.example\n"
        b"Bert;bert.bach@kunde.example\n"
    )

    result = import_static_members(w.uow(), segment.id, csv_data)

    assert (result.rows, result.added, result.already, result.unknown, result.size) == (5, 2, 0, 3, 2)
    assert result.problems == (
        "Zeile 3: kein Kontakt mit der E-Mail-Adresse niemand@kunde.example",
        "Zeile 4: „keine adresse“ ist keine E-Mail-Adresse",
        f"Zeile 6: 2 Kontakte haben die Adresse zwilling@kunde.example (Nummern {twin_a}, {twin_b})",
    )
    assert w.members(segment.id) == [anna, bert]
    again = import_static_members(w.uow(), segment.id, f"Kontakt-ID\n{twin_a}\n{anna}\n999999\n".encode())
    assert (again.added, again.already) == (1, 1)
    assert again.problems == ("Zeile 4: kein Kontakt mit der Kontaktnummer 999999",)

    removed = remove_static_members(w.uow(), segment.id, [anna, twin_b])
    assert (removed.changed, removed.unchanged, removed.size) == (1, 1, 2)
    added = add_static_members(w.uow(), segment.id, [anna, 424242])
    assert (added.changed, added.unknown, added.size) == (1, (424242,), 3)
    history = member_history(w.uow(), segment.id)
    assert history[["reason", "size", "joined", "left"]].values.tolist() == [
        ["import", 2, 2, 0],
        ["import", 3, 1, 0],
        ["manual", 2, 0, 1],
        ["manual", 3, 1, 0],
    ]
    assert recalculate(w.uow(), segment.id).size == 3, "a static segment keeps its manual members"
    assert w.audit_actions("segment", segment.id) == [
        "created",
        "members_imported",
        "members_removed",
        "members_added",
        "recalculated",
    ]
    with pytest.raises(ValidationFailed, match="Spalte „E-Mail“ oder „Kontakt-ID“"):
        import_static_members(w.uow(), segment.id, b"Name\nAnna\n")
    dynamic = create_segment(w.uow(), name="Dynamisch", rules=group())
    with pytest.raises(Conflict, match="ist dynamisch"):
        add_static_members(w.uow(), dynamic.id, [anna])


def test_members_come_in_cursor_pages_and_previews_count_in_the_database(w: World) -> None:
    ids = [w.contact(f"Kunde{i}", "Köln", "Köln") for i in range(5)]
    w.contact("Other", "Bonn", "Bonn")
    segment = create_segment(w.uow(), name="Köln", rules=city("Köln"))
    recalculate(w.uow(), segment.id)

    seen: list[int] = []
    after: int | None = None
    pages = 0
    while True:
        page, after = members_page(w.uow(), segment.id, after_contact_id=after, limit=2)
        seen += [row.contact_id for row in page]
        pages += 1
        if after is None:
            break
    assert (seen, pages) == (ids, 3)
    assert page[0].name == "Kunde4 Köln" and page[0].email == "kunde4.köln@kunde.example"

    assert count_preview(w.uow(), city("Köln")) == 5
    assert [m.id for m in sample_preview(w.uow(), city("Köln"), limit=2)] == ids[:2]
    with pytest.raises(ValidationFailed, match="Bedingung 1"):
        count_preview(w.uow(), group(cond("contact.city", "eq")))


# --- incremental refresh -------------------------------------------------------------------------------------------


def test_incremental_refresh_picks_up_changed_contacts_and_passes_them_on_to_dependents(w: World) -> None:
    anna, bert = w.contact("Anna", "Abel", "Köln"), w.contact("Bert", "Bach", "Bonn")
    cora = w.contact("Cora", "Czech", "Bonn")
    cologne = create_segment(w.uow(), name="Köln", rules=city("Köln"))
    dependent = create_segment(w.uow(), name="Kölner Newsletter", rules=group(member_of(cologne.id)))
    manual = create_segment(w.uow(), name="Handverlesen", kind="static")
    picked = create_segment(w.uow(), name="Handverlesene", rules=group(member_of(manual.id)))

    first = recalc_touched(w.uow())  # no cursor yet: everything in full
    assert first.touched is None and len(first.runs) == 4

    w.clock.advance(hours=1)
    w.move(bert, "Köln")
    add_static_members(w.uow(), manual.id, [cora])
    report = recalc_touched(w.uow())

    assert report.ok and report.touched == 2
    assert {r.segment_id: (r.reason, r.joined, r.left) for r in report.runs} == {
        cologne.id: ("incremental", 1, 0),
        dependent.id: ("incremental", 1, 0),
        picked.id: ("incremental", 1, 0),
    }
    assert w.members(cologne.id) == w.members(dependent.id) == [anna, bert]
    assert w.members(picked.id) == [cora]
    assert recalc_touched(w.uow()).runs == (), "the cursor moved on: nothing new"


# --- the job's lease -----------------------------------------------------------------------------------------------


def test_a_second_job_run_exits_without_work_while_the_first_holds_the_lease(
    w: World, capsys: pytest.CaptureFixture[str]
) -> None:
    w.contact("Anna", "Abel", "Köln")
    segment = create_segment(w.uow(), name="Köln", rules=city("Köln"))
    assert claim_lease(w.uow(SYSTEM), holder="erster-lauf").holder == "erster-lauf"

    assert run_job(factory=w.factory, clock=w.clock, holder="zweiter-lauf") == 0
    assert "läuft bereits (erster-lauf, Sperre bis 25.11.2026 10:30)" in capsys.readouterr().out
    assert w.runs() == [] and w.lease_holder() == "erster-lauf"

    w.clock.advance(minutes=31)  # the first run crashed: its lease ran out
    assert run_job(factory=w.factory, clock=w.clock, holder="zweiter-lauf") == 0
    assert capsys.readouterr().out.strip() == "1 Segment(e) neu berechnet (1 eingetreten, 0 ausgetreten)."
    assert [r.segment_id for r in w.runs()] == [segment.id]
    assert w.lease_holder() is None, "released after the run"

    assert run_job(segment_id=segment.id, factory=w.factory, clock=w.clock) == 0
    expected = f"Segment {segment.id} „Köln“ neu berechnet: 1 Mitglieder (0 eingetreten, 0 ausgetreten)."
    assert capsys.readouterr().out.strip() == expected
    assert run_job(segment_id=987654, factory=w.factory, clock=w.clock) == 1
    assert capsys.readouterr().err.strip() == "Fehler: Segment 987654: Segment 987654 gibt es nicht."


# --- contact merges ------------------------------------------------------------------------------------------------


def test_a_merge_moves_memberships_and_tags_to_the_survivor_and_undo_restores_them(
    w: World, factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    admin = actor_of(make_user(factory, Role.ADMIN, clock=clock))
    survivor, merged = w.contact("Anna", "Abel", "Köln"), w.contact("Anna", "Abel-Dup", "Köln")
    both = create_segment(w.uow(), name="Köln", rules=city("Köln"))
    only_merged = create_segment(w.uow(), name="Messe", kind="static")
    recalculate(w.uow(), both.id)
    add_static_members(w.uow(), only_merged.id, [merged])
    with factory.begin() as session:
        session.add_all(
            [
                ContactTag(contact_id=survivor, tag="VIP"),
                ContactTag(contact_id=merged, tag="Messe 2026"),
                ContactTag(contact_id=merged, tag="VIP"),
            ]
        )

    admin_uow = UnitOfWork(factory, actor=admin, clock=clock)
    view = merge(admin_uow, entity="contact", survivor_id=survivor, merged_id=merged, field_choices={})

    assert w.members(only_merged.id) == [survivor] and w.members(both.id) == [survivor]
    assert (get_segment(w.uow(), both.id).member_count, get_segment(w.uow(), only_merged.id).member_count) == (1, 1)
    with factory() as session:
        tags = sorted(session.scalars(select(ContactTag.tag).where(ContactTag.contact_id == survivor)))
        assert tags == ["Messe 2026", "VIP"]
        left = select(func.count()).where(SegmentChange.contact_id == merged, SegmentChange.change == "left")
        assert session.scalar(left) == 2

    undo_merge(admin_uow, view.id)

    assert w.members(only_merged.id) == [merged] and w.members(both.id) == [survivor, merged]
    assert (get_segment(w.uow(), both.id).member_count, get_segment(w.uow(), only_merged.id).member_count) == (2, 1)
    with factory() as session:

        def tags_of(contact_id: int) -> list[str]:
            return sorted(session.scalars(select(ContactTag.tag).where(ContactTag.contact_id == contact_id)))

        assert (tags_of(survivor), tags_of(merged)) == (["VIP"], ["Messe 2026", "VIP"])
