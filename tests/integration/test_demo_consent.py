"""Demo consent data (core/demo_consent.py): a ledger that verifies, every status and gate reason the demo
covers, proof encrypted with each person's key, double opt-in requests that match the ledger, plausible
compliance figures; the consent steps alone on demo data seeded without them.

The small seed runs once per backend (module fixture, rolled back at the end); the tests only read it.
Tests that seed again do so in a savepoint on the same connection and roll it back.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from core import demo
from core.consent.gate import decisions, may_contact, summary
from core.consent.ledger import verify_ledger
from core.consent.overview import compliance_overview
from core.consent.service import entry_views
from core.demo import DemoReport, DemoStep, seed_demo
from core.demo_consent import (
    LABEL_DOI,
    LABEL_ENTRIES,
    LABEL_RESTRICTIONS,
    LABEL_SUPPRESSIONS,
    add_consent_history,
)
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import (
    AuditEntry,
    ConsentEntry,
    Contact,
    DoiRequest,
    LedgerHead,
    PersonKey,
    ProcessingRestriction,
    SalesOrder,
    Suppression,
)
from tests.conftest import FrozenClock

SMALL_CONTACTS = 2_000
GATE_CASES = (
    ("email", "newsletter"),
    ("email", "produktinformationen"),
    ("email", "veranstaltungen"),
    ("phone", "produktinformationen"),
    ("sms", "veranstaltungen"),
    ("post", "veranstaltungen"),
)
REASONS_COVERED = {
    "allowed", "no_address", "suppressed", "restricted", "objected", "missing", "revoked", "pending", "expired",
}


@dataclass(frozen=True)
class Seeded:
    connection: Connection
    factory: sessionmaker[Session]
    report: DemoReport
    now: dt.datetime


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[Seeded]:
    """The small demo data with its consent history, once per backend."""
    connection = engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    clock = FrozenClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc))
    report = seed_demo(factory, size="small", seed=5, clock=clock)
    try:
        yield Seeded(connection, factory, report, clock.current)
    finally:
        transaction.rollback()
        connection.close()


def rows(factory: sessionmaker[Session], stmt: Any) -> list[Any]:
    with factory() as session:
        return list(session.execute(stmt).all())


def latest_entries(factory: sessionmaker[Session]) -> list[ConsentEntry]:
    latest = select(func.max(ConsentEntry.id)).group_by(
        ConsentEntry.contact_id, ConsentEntry.channel, ConsentEntry.purpose_id
    )
    return [entry for (entry,) in rows(factory, select(ConsentEntry).where(ConsentEntry.id.in_(latest)))]


def without_consent_steps() -> list[DemoStep]:
    return [step for step in demo.DEMO_STEPS if not step.name.startswith("consent")]


# First in the module: it writes through its own connection, which must happen before the module's seed holds
# the database (SQLite: the write lock; PostgreSQL: the ledger heads) until the module ends.
def test_consent_history_can_be_added_to_demo_data_seeded_without_it(
    factory: sessionmaker[Session], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DEMO_STEPS", without_consent_steps())
    seed_demo(factory, size="tiny", contacts=300, seed=3, clock=clock, history=0)
    monkeypatch.undo()
    with factory() as session:
        assert not session.scalar(select(func.count()).select_from(ConsentEntry))

    report = add_consent_history(factory, seed=3, clock=clock)
    again = add_consent_history(factory, seed=3, clock=clock)

    with factory() as session:
        verification = verify_ledger(session)
        contacts = session.scalar(select(func.count(func.distinct(ConsentEntry.contact_id)))) or 0
    assert verification.ok and verification.checked == report.count(LABEL_ENTRIES) > 0
    assert 120 < contacts < 240, "about 60 % of the 303 demo contacts"
    assert report.count(LABEL_DOI) > 0 and report.count(LABEL_SUPPRESSIONS) >= 5
    assert report.count(LABEL_RESTRICTIONS) == 2
    assert again.skipped_reason and "bereits" in again.skipped_reason


def test_the_ledger_verifies_and_is_written_in_time_order(seeded: Seeded) -> None:
    entries = [e for (e,) in rows(seeded.factory, select(ConsentEntry).order_by(ConsentEntry.id))]
    with seeded.factory() as session:
        verification = verify_ledger(session)
        head = session.get(LedgerHead, "consent")

    assert verification.ok, verification.describe()
    assert verification.checked == len(entries) == seeded.report.count(LABEL_ENTRIES)
    assert head is not None and head.last_id == entries[-1].id and head.entries == len(entries)
    assert [e.id for e in entries] == list(range(1, len(entries) + 1))
    times = [e.occurred_at for e in entries]
    assert times == sorted(times), "ids follow time, as appends do"
    assert seeded.now - dt.timedelta(days=731) < times[0] and times[-1] < seeded.now

    per_contact = Counter(e.contact_id for e in entries)
    demo_contacts = rows(seeded.factory, select(func.count()).where(Contact.external_id.like("CON-%")))[0][0]
    assert 0.5 < len(per_contact) / demo_contacts < 0.7, "about 60 % of the contacts have a consent history"
    assert max(per_contact.values()) <= 3 and set(per_contact.values()) == {1, 2, 3}


def test_every_status_action_source_and_legal_basis_occurs(seeded: Seeded) -> None:
    entries = [e for (e,) in rows(seeded.factory, select(ConsentEntry))]

    assert {e.status for e in latest_entries(seeded.factory)} == {"granted", "revoked", "pending", "expired"}
    assert {e.action for e in entries} == {"requested", "confirmed", "granted", "revoked", "expired"}
    assert {e.legal_basis for e in entries} == {"consent", "legitimate_interest", "existing_customer"}
    assert {e.source for e in entries} >= {
        "webform", "event", "sales", "import", "phone", "unsubscribe", "preference_centre", "system",
    }
    assert {e.channel for e in entries} == {"email", "sms", "phone", "post"}
    revoked_by = {e.source for e in entries if e.action == "revoked"}
    assert {"unsubscribe", "preference_centre", "phone"} <= revoked_by
    assert all(e.legal_basis == "legitimate_interest" for e in entries if e.channel == "post")
    assert all(e.source == "system" and e.actor_name == SYSTEM.name for e in entries if e.action == "expired")


def test_personal_proof_is_encrypted_with_the_persons_own_key(seeded: Seeded) -> None:
    factory = seeded.factory
    entries = [e for (e,) in rows(factory, select(ConsentEntry))]
    keys = dict(rows(factory, select(PersonKey.id, PersonKey.subject_id)))
    contacts = {c.id: c for (c,) in rows(factory, select(Contact))}

    for entry in entries:
        personal = [entry.address, entry.ip, entry.user_agent, entry.evidence, entry.reason]
        assert all(value is None or value.startswith("enc:") for value in personal)
        if entry.action == "expired":
            assert entry.subject_key_id is None and not any(personal)
        else:
            assert entry.address is not None and keys[entry.subject_key_id] == str(entry.contact_id)

    phone = next(e for e in entries if e.channel == "phone" and e.action == "granted" and e.source == "phone")
    confirmed = next(e for e in entries if e.action == "confirmed")
    post = next(e for e in entries if e.channel == "post")
    views = {v.id: v for v in entry_views(UnitOfWork(factory, actor=SYSTEM), [phone.id, confirmed.id, post.id])}
    person = contacts[phone.contact_id]
    assert views[phone.id].address == (person.phone or person.mobile)
    assert "Telefonat" in (views[phone.id].evidence or "") and "Gesprächsnotiz" in (views[phone.id].evidence or "")
    assert views[confirmed.id].address == contacts[confirmed.contact_id].email
    assert views[confirmed.id].ip and views[confirmed.id].user_agent
    assert views[confirmed.id].doi_requested_at < views[confirmed.id].doi_confirmed_at == confirmed.occurred_at
    reader = contacts[post.contact_id]
    assert views[post.id].address == f"{reader.postcode} {reader.city}"


def test_existing_customer_consents_name_an_order_of_the_contacts_company(seeded: Seeded) -> None:
    factory = seeded.factory
    customers = [
        e for (e,) in rows(factory, select(ConsentEntry).where(ConsentEntry.legal_basis == "existing_customer"))
    ]
    orders = {o.id: o for (o,) in rows(factory, select(SalesOrder))}
    accounts = dict(rows(factory, select(Contact.id, Contact.account_id)))

    granted = [e for e in customers if e.action == "granted"]
    assert granted and all(e.channel == "email" and e.text_id is None for e in customers)
    for entry in granted:
        order = orders[entry.order_id]
        assert order.account_id == accounts[entry.contact_id]
        assert order.created_at < entry.occurred_at


def test_double_opt_in_requests_match_the_ledger(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    requests = [r for (r,) in rows(factory, select(DoiRequest))]
    by_request: dict[int, dict[str, ConsentEntry]] = {}
    for (entry,) in rows(factory, select(ConsentEntry).where(ConsentEntry.doi_request_id.is_not(None))):
        by_request.setdefault(entry.doi_request_id, {})[entry.action] = entry
    latest = {(e.contact_id, e.channel, e.purpose_id): e for e in latest_entries(factory)}
    uow = UnitOfWork(factory, actor=SYSTEM)
    views = entry_views(uow, [story["requested"].id for story in by_request.values()])
    addresses = {view.doi_request_id: view.address for view in views}

    assert len(requests) == seeded.report.count(LABEL_DOI) == len(by_request)
    assert Counter(r.status for r in requests).keys() == {"confirmed", "expired", "pending"}
    for request in requests:
        story = by_request[request.id]
        requested = story["requested"]
        assert requested.occurred_at == request.requested_at and requested.text_id == request.text_id
        assert request.address == addresses[request.id] and "@" in request.address
        if request.status == "confirmed":
            assert story["confirmed"].doi_confirmed_at == request.confirmed_at == request.closed_at
            assert request.requested_at < request.confirmed_at < request.requested_at + dt.timedelta(hours=48)
        elif request.status == "expired":
            assert story["expired"].occurred_at == request.closed_at > request.expires_at
        else:
            assert request.expires_at > now and request.closed_at is None and set(story) == {"requested"}
            assert latest[(request.contact_id, "email", request.purpose_id)].id == requested.id
    assert sum(r.status == "pending" for r in requests) >= 3


def test_the_gate_allows_some_and_refuses_for_every_reason_the_demo_covers(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    seen: dict[str, tuple[str, str, int]] = {}
    with factory() as session:
        for channel, purpose in GATE_CASES:
            counts = summary(session, channel=channel, purpose=purpose, at=now)
            assert sum(counts.values()) == rows(factory, select(func.count()).select_from(Contact))[0][0]
            stmt = decisions(session, channel=channel, purpose=purpose, at=now).order_by(Contact.id)
            for contact_id, reason in session.execute(stmt):
                seen.setdefault(reason, (channel, purpose, contact_id))
        assert set(seen) >= REASONS_COVERED
        for reason, (channel, purpose, contact_id) in seen.items():
            assert may_contact(session, contact_id, channel, purpose, now).reason == reason
        newsletter = summary(session, channel="email", purpose="newsletter", at=now)
    assert newsletter["allowed"] > 50 and newsletter["missing"] > newsletter["allowed"]


def test_event_consents_expire_and_a_few_expire_in_the_next_30_days(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    events = [e for (e,) in rows(factory, select(ConsentEntry).where(ConsentEntry.source == "event"))]
    limited = [e for e in events if e.valid_until is not None]

    assert limited and all(e.valid_until - e.occurred_at == dt.timedelta(days=365) for e in limited)
    assert any(e.valid_until <= now for e in limited), "some have expired already"
    assert any(now < e.valid_until <= now + dt.timedelta(days=30) for e in limited)


def test_compliance_overview_shows_plausible_numbers(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    overview = compliance_overview(UnitOfWork(factory, actor=SYSTEM, clock=lambda: now))
    pending = rows(
        factory, select(func.count()).where(DoiRequest.status == "pending", DoiRequest.expires_at > now)
    )[0][0]
    suppressed = rows(factory, select(func.count()).select_from(Suppression))[0][0]

    assert overview.pending_doi == pending > 0 and overview.overdue_doi == 0
    assert 0 < overview.doi_confirmed_90d < overview.doi_requested_90d
    assert 0.5 < (overview.doi_confirmation_rate or 0) < 1
    rates = overview.rates.set_index(["channel", "purpose_key"])
    newsletter = rates.loc[("email", "newsletter")]
    assert 0.03 < newsletter.rate < 0.3 and newsletter.revoked > 0 and newsletter.pending > 0
    assert rates.loc[("post", "produktinformationen")].granted > 0
    assert rates.loc[("sms", "newsletter")].granted == 0
    assert len(overview.expiring) > 0
    assert all(now < v <= now + dt.timedelta(days=30) for v in overview.expiring.valid_until)
    assert overview.suppressed == suppressed == seeded.report.count(LABEL_SUPPRESSIONS) >= 5
    assert (overview.restricted, overview.objected) == (1, 1)


def test_restriction_objection_and_suppressions_are_recorded_like_the_services_do(seeded: Seeded) -> None:
    factory = seeded.factory
    restrictions = [r for (r,) in rows(factory, select(ProcessingRestriction))]
    audited = rows(
        factory,
        select(AuditEntry.action, AuditEntry.actor_name).where(
            AuditEntry.entity == "contact", AuditEntry.action.in_(("restriction", "objection"))
        ),
    )
    bulk = dict(rows(factory, select(AuditEntry.entity, AuditEntry.reason).where(AuditEntry.action == "bulk_imported")))
    kinds = dict(rows(factory, select(Suppression.reason, Suppression.kind)))

    assert sorted(r.kind for r in restrictions) == ["objection", "restriction"]
    assert seeded.report.count(LABEL_RESTRICTIONS) == 2
    assert sorted(audited) == [("objection", "demo.datenschutz"), ("restriction", "demo.datenschutz")]
    assert all(r.started_at < seeded.now and r.lifted_at is None for r in restrictions)
    assert kinds.get("erased") == "email", "an erased person's address stays blocked"
    assert {"consent_entry", "doi_request", "suppression"} <= set(bulk)
    assert "Einträge im Consent-Ledger" in str(bulk["consent_entry"])


def test_a_second_seed_continues_the_chain(seeded: Seeded) -> None:
    savepoint = seeded.connection.begin_nested()
    try:
        before = rows(seeded.factory, select(func.max(ConsentEntry.id)))[0][0]
        report = seed_demo(seeded.factory, size="tiny", seed=8, clock=FrozenClock(seeded.now), history=0,
                           duplicates=False)
        with seeded.factory() as session:
            verification = verify_ledger(session)
            new = session.scalars(select(ConsentEntry.contact_id).where(ConsentEntry.id > before)).all()
            after_small = Contact.external_id > f"CON-{SMALL_CONTACTS + 20:07d}"  # 2,000 + 20 planted duplicates
            contacts = set(session.scalars(select(Contact.id).where(after_small)))
    finally:
        savepoint.rollback()
    assert verification.ok, verification.describe()
    assert len(new) == report.count(LABEL_ENTRIES) > 0 and set(new) <= contacts
