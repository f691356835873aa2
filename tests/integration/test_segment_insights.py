"""The segment pages' read models on SQLite and PostgreSQL, each against figures worked out by hand: the rules in
plain German with their nesting, the reachable audience (members ∩ consent gate) per channel × purpose and per
channel stored as a snapshot, the snapshot refresh after a full recalculation, usage providers, and the deals won
from members since they joined (Europe/Berlin join day, winter and summer time) with the open pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.consent.service import grant_consent
from core.consent.suppression import suppress_contact
from core.consent.texts import set_purpose_active
from core.errors import NotFound, PermissionDenied
from core.permissions import SYSTEM, Actor, Role
from core.sales.contact_roles import add_contact_role
from core.sales.opportunities import get_opportunity, lose_opportunity, win_opportunity
from core.segments import insights
from core.segments.insights import (
    CampaignResult,
    RuleLine,
    SegmentUsage,
    definition,
    outline_rules,
    performance,
    reach,
    reach_by_channel,
    refresh_due_reach,
    refresh_reach,
    refresh_reach_if_small,
    register_campaign_results,
    register_usage,
    usages,
)
from core.segments.recalc import RecalcReport, RunView
from core.segments.service import add_static_members, create_segment
from core.uow import UnitOfWork
from db.models import ConsentPurpose, DealReason
from db.models.segments import SegmentReach
from jobs.recalc_segments import run as run_job
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import actor_of, make_user
from tests.factories.sales import make_opportunity

ACTIVE = ["newsletter", "produktinformationen", "veranstaltungen", "tracking"]  # "umfragen" is switched off


def group(*children: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def cond(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "condition", "field": field, "operator": operator, "value": value, **extra}


@dataclass
class World:
    factory: sessionmaker[Session]
    clock: FrozenClock
    admin: Actor
    viewer: Actor

    def uow(self, actor: Actor | None = None) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=actor or self.admin, clock=self.clock)

    def contact(self, last: str, **values: Any) -> int:
        data = {"first_name": "Erika", "last_name": last, "email": f"{last.lower()}@kunde.example"} | values
        return make_contact(self.factory, SYSTEM, clock=self.clock, **data).id

    def grant(self, contact_id: int, channel: str, purpose: str) -> None:
        grant_consent(
            self.uow(), contact_id=contact_id, channel=channel, purpose=purpose, source="sales",
            evidence="Unterschriebenes Formular vom 20.11.",
        )

    def static(self, name: str, members: list[int]) -> int:
        segment = create_segment(self.uow(), name=name, kind="static")
        add_static_members(self.uow(), segment.id, members)
        return segment.id

    def set_computed_at(self, segment_id: int, at: dt.datetime) -> None:
        with self.factory() as session:
            session.execute(update(SegmentReach).where(SegmentReach.segment_id == segment_id).values(computed_at=at))
            session.commit()

    def computed_at(self, segment_id: int) -> set[dt.datetime]:
        with self.factory() as session:
            return set(session.scalars(select(SegmentReach.computed_at).where(SegmentReach.segment_id == segment_id)))


@pytest.fixture
def w(factory: sessionmaker[Session], clock: FrozenClock) -> World:
    admin = actor_of(make_user(factory, Role.ADMIN, clock=clock))
    viewer = actor_of(make_user(factory, Role.VIEWER, clock=clock))
    with factory() as session:
        umfragen = session.scalar(select(ConsentPurpose.id).where(ConsentPurpose.key == "umfragen"))
    set_purpose_active(UnitOfWork(factory, actor=admin, clock=clock), umfragen, False, reason="Test: Zweck ruht")
    return World(factory, clock, admin, viewer)


# --- the rules in plain German -------------------------------------------------------------------------------------


def test_rules_are_described_with_their_and_or_not_nesting(w: World) -> None:
    rules = group(
        cond("contact.city", "eq", "Köln"),
        group(cond("contact.tags", "any_of", ["VIP"]), cond("contact.city", "eq", "Bonn"), op="or"),
        group(cond("contact.city", "eq", "Hürth"), cond("contact.city", "eq", "Brühl"), negate=True),
        group(cond("contact.city", "eq", "Berlin"), op="or", negate=True),
        group(cond("contact.city", "empty")),
    )
    with w.factory() as session:
        lines = outline_rules(session, rules)
        assert outline_rules(session, group()) == [RuleLine(0, "Alle Kontakte (keine Bedingung)")]
        assert outline_rules(session, group(op="or")) == [RuleLine(0, "Kein Kontakt (leere Oder-Gruppe)")]
    assert [(line.depth, line.text) for line in lines] == [
        (0, "Alle folgenden Bedingungen treffen zu:"),
        (1, "Ort ist „Köln“"),
        (1, "Mindestens eine der folgenden Bedingungen trifft zu:"),
        (2, "Schlagworte hat eines von: „VIP“"),
        (2, "Ort ist „Bonn“"),
        (1, "Ausgeschlossen, wenn alle folgenden Bedingungen zutreffen:"),
        (2, "Ort ist „Hürth“"),
        (2, "Ort ist „Brühl“"),
        (1, "Nicht: Ort ist „Berlin“"),
        (1, "Ort ist leer"),
    ]
    segment = create_segment(w.uow(), name="Köln", rules=rules)
    assert definition(w.uow(w.viewer), segment.id) == lines
    in_english = definition(w.uow(w.viewer), segment.id, lang="en")
    assert [(line.depth, line.text) for line in in_english] == [
        (0, "All of the following conditions are met:"),
        (1, "City is “Köln”"),
        (1, "At least one of the following conditions is met:"),
        (2, "Tags has any of: “VIP”"),
        (2, "City is “Bonn”"),
        (1, "Excluded when all of the following conditions are met:"),
        (2, "City is “Hürth”"),
        (2, "City is “Brühl”"),
        (1, "Not: City is “Berlin”"),
        (1, "City is empty"),
    ]
    assert definition(w.uow(w.viewer), w.static("Messe", [])) == [], "a static segment has no rules"


# --- reachable audience --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    segment_id: int
    granted_both: int
    granted_newsletter: int
    no_consent: int
    suppressed: int
    no_email: int
    outsider: int


def audience(w: World) -> Audience:
    """Five members and one outsider, each in one gate state for e-mail:
    newsletter + product information granted · newsletter granted · nothing · suppressed · no e-mail address
    (but a phone with consent for events)."""
    both = w.contact("Beide", mobile="+49 171 1111111")
    newsletter = w.contact("Newsletter")
    nothing = w.contact("Nichts")
    blocked = w.contact("Gesperrt")
    no_email = w.contact("Ohnemail", email=None, phone="+49 221 123456")
    outsider = w.contact("Draussen")
    for contact_id in (both, newsletter, blocked, outsider):
        w.grant(contact_id, "email", "newsletter")
    w.grant(both, "email", "produktinformationen")
    w.grant(no_email, "phone", "veranstaltungen")
    suppress_contact(w.uow(), blocked, reason="manual", note="Beschwerde")
    segment_id = w.static("Messe 2026", [both, newsletter, nothing, blocked, no_email])
    return Audience(segment_id, both, newsletter, nothing, blocked, no_email, outsider)


def test_reach_counts_members_per_channel_and_purpose_by_gate_reason(w: World) -> None:
    a = audience(w)
    assert reach(w.uow(w.viewer), a.segment_id).computed_at is None, "nothing stored before the first refresh"

    snapshot = refresh_reach(w.uow(w.viewer), a.segment_id)
    assert snapshot.computed_at == w.clock()
    assert [c.channel for c in snapshot.channels] == ["email", "sms", "phone", "post"]
    email = snapshot.channel("email")
    assert email is not None and (email.members, email.reachable) == (5, 2), "Beide and Newsletter"
    assert [p.purpose_key for p in email.purposes] == ACTIVE, "active purposes only, in their order"
    by_purpose = {p.purpose_key: p for p in email.purposes}
    assert dict(by_purpose["newsletter"].reasons) == {"allowed": 2, "missing": 1, "suppressed": 1, "no_address": 1}
    assert (by_purpose["newsletter"].members, by_purpose["newsletter"].reachable) == (5, 2)
    assert dict(by_purpose["produktinformationen"].reasons) == {
        "allowed": 1, "missing": 2, "suppressed": 1, "no_address": 1,
    }
    assert by_purpose["newsletter"].purpose_de == "Newsletter"
    phone = snapshot.channel("phone")
    assert phone is not None and phone.reachable == 1, "Ohnemail, by phone for events"
    assert {p.purpose_key: p.reachable for p in phone.purposes} == {k: int(k == "veranstaltungen") for k in ACTIVE}
    sms = snapshot.channel("sms")
    assert sms is not None and sms.reachable == 0
    assert dict(sms.purposes[0].reasons) == {"missing": 1, "no_address": 4}, "only Beide has a mobile number"

    assert reach(w.uow(w.viewer), a.segment_id) == snapshot, "the stored snapshot reads back the same"
    frame = reach_by_channel(w.uow(w.viewer))
    row = frame[frame.segment_id == a.segment_id].iloc[0]
    assert (row.email, row.sms, row.phone, row.post) == (2, 0, 1, 0)
    assert row.computed_at == w.clock()


def test_a_refresh_replaces_the_snapshot(w: World) -> None:
    a = audience(w)
    refresh_reach(w.uow(), a.segment_id)
    w.grant(a.no_consent, "email", "veranstaltungen")
    w.clock.advance(hours=2)
    stored = reach(w.uow(), a.segment_id).channel("email")
    assert stored is not None and stored.reachable == 2, "the snapshot, not the live count"

    snapshot = refresh_reach(w.uow(), a.segment_id)
    email = snapshot.channel("email")
    assert email is not None and email.reachable == 3
    assert {p.purpose_key: p.reachable for p in email.purposes}["veranstaltungen"] == 1
    assert w.computed_at(a.segment_id) == {w.clock()}, "one snapshot, the old rows are gone"


def test_a_small_segment_gets_its_reach_at_once_a_large_one_waits_for_the_scheduled_run(w: World) -> None:
    a = audience(w)  # five members
    snapshot = refresh_reach_if_small(w.uow(w.viewer), a.segment_id, 5, limit=5)
    assert snapshot is not None and snapshot.computed_at == w.clock()
    assert reach(w.uow(w.viewer), a.segment_id) == snapshot, "stored, as refresh_reach stores it"

    w.clock.advance(hours=1)
    assert refresh_reach_if_small(w.uow(w.viewer), a.segment_id, 5, limit=4) is None
    assert w.computed_at(a.segment_id) == {w.clock() - dt.timedelta(hours=1)}, "above the limit: left alone"


def test_reach_of_an_empty_segment_and_of_a_missing_one(w: World) -> None:
    empty = w.static("Leer", [])
    snapshot = refresh_reach(w.uow(), empty)
    assert [(c.channel, c.members, c.reachable) for c in snapshot.channels] == [
        ("email", 0, 0), ("sms", 0, 0), ("phone", 0, 0), ("post", 0, 0),
    ]
    assert all(not p.reasons and p.members == 0 for c in snapshot.channels for p in c.purposes)
    with pytest.raises(NotFound):
        refresh_reach(w.uow(), 987654)
    with pytest.raises(NotFound):
        reach(w.uow(), 987654)


def test_the_full_run_refreshes_changed_missing_and_day_old_snapshots(w: World) -> None:
    contact = w.contact("Mitglied")
    changed = w.static("Geändert", [contact])
    fresh = w.static("Frisch", [contact])
    old = w.static("Alt", [contact])
    never = w.static("Nie", [contact])
    for segment_id in (changed, fresh, old):
        refresh_reach(w.uow(), segment_id)
    w.set_computed_at(old, w.clock() - dt.timedelta(hours=24))
    w.clock.advance(minutes=30)
    run = RunView(changed, "Geändert", 1, "schedule", w.clock(), 1, 1, 0)
    unchanged = RunView(fresh, "Frisch", 2, "schedule", w.clock(), 1, 0, 0)

    result = refresh_due_reach(w.uow(SYSTEM), RecalcReport((run, unchanged)))
    assert result.ok and sorted(result.refreshed) == sorted([changed, old, never])
    assert w.computed_at(fresh) == {w.clock() - dt.timedelta(minutes=30)}, "fresh and unchanged: left alone"
    for segment_id in (changed, old, never):
        assert w.computed_at(segment_id) == {w.clock()}


def test_the_recalculation_job_stores_reach_but_the_incremental_run_does_not(w: World) -> None:
    contact = w.contact("Jobkontakt", city="Zwickau")
    w.grant(contact, "email", "newsletter")
    segment = create_segment(w.uow(), name="Zwickau", rules=group(cond("contact.city", "eq", "Zwickau")))
    assert run_job(segment_id=segment.id, factory=w.factory, clock=w.clock, holder="einzeln") == 0
    assert w.computed_at(segment.id) == set(), "a single segment's recalculation leaves reach alone"
    assert run_job(incremental=True, factory=w.factory, clock=w.clock, holder="inkrementell") == 0
    assert w.computed_at(segment.id) == set()

    assert run_job(factory=w.factory, clock=w.clock, holder="nacht") == 0
    assert reach(w.uow(), segment.id).channel("email").reachable == 1  # type: ignore[union-attr]


def test_reading_reach_needs_segments_read(w: World) -> None:
    segment_id = w.static("Intern", [])
    nobody = Actor(user_id=None, name="Schlüssel", role=None, scopes=frozenset({"contacts.read"}))
    for attempt in (
        lambda: reach(w.uow(nobody), segment_id),
        lambda: refresh_reach(w.uow(nobody), segment_id),
        lambda: reach_by_channel(w.uow(nobody)),
        lambda: performance(w.uow(nobody), segment_id),
        lambda: usages(w.uow(nobody), segment_id),
    ):
        with pytest.raises(PermissionDenied):
            attempt()


# --- usage ---------------------------------------------------------------------------------------------------------


def test_usages_name_the_segments_that_reference_one_and_registered_modules(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = create_segment(w.uow(), name="Stammkunden", rules=group(cond("contact.city", "eq", "Köln")))
    create_segment(w.uow(), name="Ohne Stammkunden", rules=group(cond("segment", "not_member", base.id)))
    user = create_segment(w.uow(), name="Auch Stammkunden", rules=group(cond("segment", "member", base.id)))
    assert usages(w.uow(w.viewer), base.id) == [
        SegmentUsage("Segment", "Auch Stammkunden", "pages/segment_detail.py", user.id),
        SegmentUsage("Segment", "Ohne Stammkunden", "pages/segment_detail.py", user.id - 1),
    ]
    assert usages(w.uow(), user.id) == []

    monkeypatch.setattr(insights, "_USAGE_PROVIDERS", list(insights._USAGE_PROVIDERS))
    register_usage(lambda session, segment_id: [SegmentUsage("Kampagne", f"Mailing an {segment_id}")])
    assert usages(w.uow(), user.id) == [SegmentUsage("Kampagne", f"Mailing an {user.id}")]


# --- performance ---------------------------------------------------------------------------------------------------


@dataclass
class Deals:
    factory: sessionmaker[Session]
    clock: FrozenClock
    admin: Actor
    account_id: int

    def deal(self, name: str, contacts: list[int], *, amount: str, currency: str = "EUR") -> int:
        deal = make_opportunity(
            self.factory, self.admin, clock=self.clock, account_id=self.account_id, name=name, amount=amount,
            currency=currency,
        )
        for contact_id in contacts:
            add_contact_role(
                UnitOfWork(self.factory, actor=self.admin, clock=self.clock), deal.id, contact_id=contact_id,
                role="Entscheider",
            )
        return deal.id

    def win(self, deal_id: int, closed: dt.date) -> None:
        version = get_opportunity(UnitOfWork(self.factory, actor=self.admin), deal_id).version
        win_opportunity(
            UnitOfWork(self.factory, actor=self.admin, clock=self.clock), deal_id, expected_version=version,
            closed_date=closed,
        )

    def lose(self, deal_id: int) -> None:
        with self.factory() as session:
            reason = session.scalar(select(DealReason.id).where(DealReason.kind == "lost").limit(1))
        version = get_opportunity(UnitOfWork(self.factory, actor=self.admin), deal_id).version
        lose_opportunity(
            UnitOfWork(self.factory, actor=self.admin, clock=self.clock), deal_id, expected_version=version,
            reason_id=reason, reason_text="Preis",
        )


def test_performance_counts_deals_won_since_the_berlin_join_day_and_the_open_pipeline(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    winter_member = w.contact("Winter")
    summer_member = w.contact("Sommer")
    outsider = w.contact("Aussen")
    segment = create_segment(w.uow(), name="Kunden", kind="static")
    # 23:30 UTC on 9 January is 00:30 on 10 January in Berlin (UTC+1): the member joined on the 10th.
    w.clock.current = dt.datetime(2026, 1, 9, 23, 30, tzinfo=dt.timezone.utc)
    add_static_members(w.uow(), segment.id, [winter_member])
    # 22:30 UTC on 1 July is 00:30 on 2 July in Berlin (summer time, UTC+2).
    w.clock.current = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.timezone.utc)
    add_static_members(w.uow(), segment.id, [summer_member])
    w.clock.current = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
    account = make_account(w.factory, w.admin, clock=w.clock, name="Kunde AG").id
    d = Deals(w.factory, w.clock, w.admin, account)

    d.win(d.deal("Vor dem Beitritt", [winter_member], amount="1000"), dt.date(2026, 1, 9))
    d.win(d.deal("Am Beitrittstag", [winter_member], amount="2000.50"), dt.date(2026, 1, 10))
    d.win(d.deal("Beide Mitglieder", [winter_member, summer_member], amount="3000"), dt.date(2026, 8, 1))
    d.win(d.deal("Sommer, Vortag", [summer_member], amount="400"), dt.date(2026, 7, 1))
    d.win(d.deal("Sommer, Beitrittstag", [summer_member], amount="500"), dt.date(2026, 7, 2))
    d.win(d.deal("Franken", [summer_member], amount="700", currency="CHF"), dt.date(2026, 9, 1))
    d.win(d.deal("Fremder Kontakt", [outsider], amount="9999"), dt.date(2026, 9, 1))
    d.lose(d.deal("Verloren", [winter_member], amount="8000"))
    d.deal("Offen", [winter_member], amount="1500")
    d.deal("Offen, beide", [winter_member, summer_member], amount="2500")
    d.deal("Offen, fremd", [outsider], amount="7777")
    d.deal("Offen in Franken", [summer_member], amount="300", currency="CHF")

    monkeypatch.setattr(insights, "_CAMPAIGN_PROVIDERS", [])
    result = performance(w.uow(w.viewer), segment.id)
    # won in EUR: Am Beitrittstag 2,000.50 + Beide Mitglieder 3,000 (once) + Sommer, Beitrittstag 500
    assert [(f.currency, f.won_count, f.won_amount, f.open_count, f.open_amount) for f in result.deals] == [
        ("EUR", 3, Decimal("5500.50"), 2, Decimal("4000.00")),
        ("CHF", 1, Decimal("700.00"), 1, Decimal("300.00")),
    ]
    assert result.campaigns == (), "no campaign module yet"

    sent = CampaignResult("Herbst-Mailing", w.clock(), 200, 80, 20, 4)
    register_campaign_results(lambda session, segment_id: [sent] if segment_id == segment.id else [])
    assert performance(w.uow(), segment.id).campaigns == (sent,)
    assert (sent.rate(sent.opened), sent.rate(sent.clicked)) == (0.4, 0.1)
    assert CampaignResult("Leer", None, 0, 0, 0, 0).rate(0) is None
