"""Demo data generator: counts, plausibility, determinism, demo logins, change history, audit chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from core import audit, demo
from core.accounts import LEGAL_FORMS, AccountInput
from core.contacts import ContactInput
from core.demo import DEMO_PASSWORD, DEMO_USERS, DemoReport, DemoStep, Phase, seed_demo, slug
from core.demo_duplicates import SCAN_COUNT_LABEL
from core.demo_vocabulary import CITIES
from core.errors import ValidationFailed
from core.events import recent_events
from core.ledger import Verification
from core.users import authenticate
from core.validation import parse
from db.models import Account, AuditEntry, Contact, DuplicateCandidate, User
from tests.conftest import FrozenClock


def seed_tiny(
    factory: sessionmaker[Session], clock: FrozenClock, *, seed: int, only_if_empty: bool = False
) -> DemoReport:
    return seed_demo(
        factory, size="tiny", accounts=20, contacts=60, history=12, seed=seed, clock=clock, only_if_empty=only_if_empty
    )


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def verify(factory: sessionmaker[Session]) -> Verification:
    with factory() as session:
        return audit.verify_chain(session)


Snapshot = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def open_candidates(factory: sessionmaker[Session]) -> set[tuple[str, int, int]]:
    with factory() as session:
        stmt = select(DuplicateCandidate.entity, DuplicateCandidate.id_a, DuplicateCandidate.id_b).where(
            DuplicateCandidate.status == "offen"
        )
        return set(session.execute(stmt).tuples())


def planted_pairs(report: DemoReport) -> set[tuple[str, int, int]]:
    return {(p.entity, min(p.original_id, p.duplicate_id), max(p.original_id, p.duplicate_id)) for p in report.planted}


def candidate_snapshot(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """Stored candidates named by external ids, with their scores."""
    a, b = aliased(Contact), aliased(Contact)
    with factory() as session:
        stmt = (
            select(a.external_id, b.external_id, DuplicateCandidate.score, DuplicateCandidate.status)
            .join(a, a.id == DuplicateCandidate.id_a)
            .join(b, b.id == DuplicateCandidate.id_b)
            .where(DuplicateCandidate.entity == "contact")
            .order_by(a.external_id, b.external_id)
        )
        return [tuple(r) for r in session.execute(stmt)]


def snapshot(factory: sessionmaker[Session]) -> Snapshot:
    """All demo rows and contact candidates without database ids (PostgreSQL sequences differ between runs)."""
    owner = aliased(User)
    company = aliased(Account)
    skip = {"id", "owner_id", "account_id"}
    account_columns = [c for c in Account.__table__.c if c.name not in skip]
    contact_columns = [c for c in Contact.__table__.c if c.name not in skip]
    with factory() as session:
        accounts = session.execute(
            select(*account_columns, owner.username)
            .outerjoin(owner, owner.id == Account.owner_id)
            .order_by(Account.external_id)
        ).all()
        contacts = session.execute(
            select(*contact_columns, owner.username, company.external_id)
            .outerjoin(owner, owner.id == Contact.owner_id)
            .outerjoin(company, company.id == Contact.account_id)
            .order_by(Contact.external_id)
        ).all()
    return [tuple(r) for r in accounts], [tuple(r) for r in contacts], candidate_snapshot(factory)


def seeded_snapshot(connection: Connection, seed: int, clock: FrozenClock) -> Snapshot:
    """Seed inside a savepoint, read everything back, then roll the savepoint back."""
    savepoint = connection.begin_nested()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        seed_tiny(factory, clock, seed=seed)
        return snapshot(factory)
    finally:
        savepoint.rollback()


def test_tiny_seed_creates_accounts_contacts_users_and_a_verifiable_history(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    report = seed_tiny(factory, clock, seed=7)

    # 20 companies and 60 contacts generated, plus one planted duplicate of each (0.5 % / 1 %, at least one).
    assert (count(factory, Account), count(factory, Contact)) == (21, 61)
    assert report.count("Firmen") == 21 and report.count("Kontakte") == 61
    assert report.count("Änderungen in der Änderungshistorie") == 12
    assert (report.users_total, report.users_created) == (len(DEMO_USERS), len(DEMO_USERS))
    text = report.describe()
    assert "21 Firmen" in text and "61 Kontakte" in text and "demo.admin" in text and " s erzeugt" in text

    with factory() as session:
        first = session.scalars(select(Account).where(Account.external_id == "ACC-000001")).one()
        trail = audit.trail(session, entity="account", entity_id=first.id)
        bulk = session.execute(select(AuditEntry.entity, AuditEntry.reason).where(AuditEntry.action == "bulk_imported"))
        bulk_entries = dict(bulk.tuples().all())
        seeded = recent_events(session, name_prefix="crm.demo.seeded")
    edits = trail[trail.action == "updated"]
    assert edits.reason.notna().all() and len(set(edits.reason)) >= 2
    assert set(edits.actor_name) <= {u.username for u in DEMO_USERS}
    assert edits.occurred_at.min() >= clock.current - dt.timedelta(days=366)
    assert edits.occurred_at.max() < clock.current
    assert first.version > 1
    assert set(bulk_entries) >= {"account", "contact", "address"}  # sales: tests/integration/test_demo_sales.py
    assert "21 Firmen" in str(bulk_entries["account"]) and "61 Kontakte" in str(bulk_entries["contact"])
    assert "(ACC-000001 bis ACC-000021)" in str(bulk_entries["account"]) and "Dubletten" in str(bulk_entries["account"])
    assert report.count("Adressen") >= 20, "every company has its Besuchsadresse"
    counts = seeded.iloc[0].payload["counts"]
    assert counts | {"account": 21, "contact": 61, "address": report.count("Adressen")} == counts
    assert verify(factory).ok


def test_seed_plants_duplicates_and_stores_the_scan_candidates_for_review(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    report = seed_demo(factory, seed=9, clock=clock, size="tiny", accounts=200, contacts=1_000, history=12)

    planted = planted_pairs(report)
    candidates = open_candidates(factory)
    assert len(planted) == 10 + 1, "1 % of the contacts and 0.5 % of the companies"
    assert {entity for entity, _, _ in planted} == {"contact", "account"}
    assert len(planted & candidates) >= 0.8 * len(planted), "most planted pairs are proposed"
    assert report.count(SCAN_COUNT_LABEL) == len(candidates) > 0
    with factory() as session:
        for pair in report.planted:
            model = Contact if pair.entity == "contact" else Account
            original, copy = session.get(model, pair.original_id), session.get(model, pair.duplicate_id)
            assert original is not None and copy is not None
            assert copy.owner_id == original.owner_id and copy.created_at >= original.created_at
        copies = session.scalars(
            select(Contact.external_id).where(
                Contact.id.in_([p.duplicate_id for p in report.planted if p.entity == "contact"])
            )
        ).all()
    assert sorted(copies) == [f"CON-{n:07d}" for n in range(1_001, 1_011)]
    assert verify(factory).ok


def test_seed_without_duplicates_plants_none_and_stores_no_candidates(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    report = seed_demo(factory, seed=9, clock=clock, size="tiny", accounts=20, contacts=60, history=0, duplicates=False)

    assert (count(factory, Account), count(factory, Contact)) == (20, 60)
    assert report.planted == () and open_candidates(factory) == set()


def test_demo_users_can_log_in_with_their_roles(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    seed_tiny(factory, clock, seed=1)
    for spec in DEMO_USERS:
        user = authenticate(factory, spec.username, DEMO_PASSWORD, clock=clock)
        assert (user.role, user.display_name) == (spec.role, spec.display_name)
    with factory() as session:
        teams = {u.username: u.team_id for u in session.scalars(select(User).where(User.username.like("demo.%")))}
    assert teams["demo.vertrieb1"] == teams["demo.vertrieb2"] != teams["demo.vertrieb3"]


def test_generated_rows_are_plausible_and_pass_the_service_validation(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    report = seed_demo(factory, seed=3, clock=clock, size="tiny", accounts=60, contacts=200, history=0)
    cities = {c.name: c for c in CITIES}
    with factory() as session:
        accounts = session.scalars(select(Account).order_by(Account.id)).all()
        contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
        demo_ids = set(session.scalars(select(User.id).where(User.username.like("demo.%"))))
    copies = {p.duplicate_id for p in report.planted}
    for account in accounts:
        parse(AccountInput, {f: getattr(account, f) for f in AccountInput.model_fields})
        assert account.owner_id in demo_ids and account.version == 1
        assert clock.current - dt.timedelta(days=3 * 366) <= account.created_at <= account.updated_at <= clock.current
        if account.id in copies:
            continue  # a planted duplicate has realistic errors (other phone format, legal form left out, …)
        city = cities[account.city or ""]
        assert city.postcode_from <= int(account.postcode or "0") <= city.postcode_to
        assert account.legal_form in LEGAL_FORMS
        assert account.legal_form == "Einzelunternehmen" or account.name.endswith(f" {account.legal_form}")
        assert account.phone and account.phone.startswith(f"+49 {city.dialling_code} ")
    # 60 generated companies and one planted duplicate, numbered on.
    assert [a.external_id for a in accounts] == [f"ACC-{n:06d}" for n in range(1, 62)]
    assert [a.id for a in accounts][-1] in copies
    for contact in contacts:
        parse(ContactInput, {f: getattr(contact, f) for f in ContactInput.model_fields})
        assert contact.email is None or contact.email.isascii()
        assert contact.created_at.tzinfo is not None
    assert sum(c.account_id is not None for c in contacts) > 150
    assert any(c.title == "Dr." for c in contacts) or any(c.birth_date for c in contacts)
    assert {c.salutation for c in contacts} >= {"Herr", "Frau"}


def test_same_seed_gives_identical_rows_and_another_seed_different_ones(
    connection: Connection, clock: FrozenClock
) -> None:
    first = seeded_snapshot(connection, 11, clock)
    again = seeded_snapshot(connection, 11, clock)
    other = seeded_snapshot(connection, 12, clock)

    assert len(first[0]) == 21 and len(first[1]) == 61 and first[2]
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def test_only_if_empty_skips_when_accounts_exist(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    assert not seed_tiny(factory, clock, seed=5, only_if_empty=True).skipped_reason

    report = seed_tiny(factory, clock, seed=5, only_if_empty=True)

    assert report.skipped_reason and "21 Firmen" in report.skipped_reason  # 20 + 1 planted duplicate
    assert report.describe().startswith("Keine Demodaten erzeugt")
    assert count(factory, Account) == 21


def test_a_second_run_continues_numbering_and_reuses_demo_users(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    seed_tiny(factory, clock, seed=5)
    users_before = count(factory, User)

    report = seed_tiny(factory, clock, seed=5)

    assert report.users_created == 0 and count(factory, User) == users_before
    with factory() as session:
        numbers = session.scalars(select(Contact.external_id).order_by(Contact.external_id)).all()
    assert numbers == [f"CON-{n:07d}" for n in range(1, 123)]  # 2 × (60 + 1 planted duplicate)
    assert count(factory, Account) == 42
    assert verify(factory).ok


def test_a_failing_bulk_step_leaves_no_bulk_rows(
    factory: sessionmaker[Session], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(run: demo.DemoRun) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "DEMO_STEPS", [*demo.DEMO_STEPS, DemoStep("explode", Phase.BULK, explode)])

    with pytest.raises(RuntimeError, match="disk full"):
        seed_tiny(factory, clock, seed=5)

    assert (count(factory, Account), count(factory, Contact)) == (0, 0)
    with factory() as session:
        assert not session.scalar(select(func.count()).where(AuditEntry.action == "bulk_imported"))
    assert verify(factory).ok


def test_unknown_size_is_a_validation_error(factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationFailed):
        seed_demo(factory, size="huge")


def test_slug_transliterates_umlauts_for_addresses() -> None:
    assert slug("Jürgen Weiß") == "juergen-weiss"
    assert slug("Müller & Söhne Präzisionstechnik") == "mueller-soehne-praezisionstechnik"
    assert slug("Yılmaz Çelik") == "yilmaz-celik"
