"""One service call = one transaction: data, audit entries and events together or not at all."""

from __future__ import annotations

import os

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.accounts import create_account, delete_account, get_account, update_account
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import recent_events
from core.permissions import SYSTEM, Role
from core.uow import UnitOfWork
from db.models import Account, AuditEntry, OutboxEvent
from db.session import SQLITE_MMAP_BYTES, create_db_engine, make_session_factory, parallel_workers
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Account)) or 0,
            s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            s.scalar(select(func.count()).select_from(OutboxEvent)) or 0,
        )


def test_create_writes_data_audit_and_event_with_actor_and_clock(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    admin = make_user(factory, Role.ADMIN, clock=clock)
    account = make_account(factory, admin.actor(), clock=clock, name="Bäckerei Groß KG", legal_form="KG")
    assert account.created_at == clock() and account.owner_id == admin.id and account.version == 1
    with factory() as s:
        log = audit.trail(s, entity="account", entity_id=account.id)
        events = recent_events(s, name_prefix="crm.account")
    assert set(log.actor_name) == {admin.username}
    assert (log.occurred_at == clock()).all()
    assert log.set_index("field").loc["name", "new_value"] == "Bäckerei Groß KG"
    event = events.iloc[0]
    assert event["name"] == "crm.account.created" and event.entity_id == str(account.id)
    assert event.payload["before"] is None and event.payload["after"]["name"] == "Bäckerei Groß KG"


def test_update_event_holds_before_and_after(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    admin = make_user(factory, clock=clock).actor()
    account = make_account(factory, admin, clock=clock)
    update_account(UnitOfWork(factory, actor=admin, clock=clock), account.id, {"industry": "Chemie"}, expected_version=1)
    with factory() as s:
        event = recent_events(s, limit=1).iloc[0]
    assert event["name"] == "crm.account.updated"
    assert event.payload["before"] == {"industry": None}
    assert event.payload["after"] == {"industry": "Chemie"}
    assert event.payload["version"] == 2


def test_nothing_is_written_when_the_service_fails_midway(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    admin = make_user(factory, clock=clock).actor()
    before = counts(factory)
    with pytest.raises(ValidationFailed) as err:
        create_account(UnitOfWork(factory, actor=admin, clock=clock), {"name": "Firma", "owner_id": 999_999})
    assert "owner_id" in err.value.fields
    assert counts(factory) == before


def test_leaving_without_commit_rolls_back(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    admin = make_user(factory, clock=clock).actor()
    before = counts(factory)
    uow = UnitOfWork(factory, actor=admin, clock=clock)
    with uow:
        uow.session.add(Account(name="Nie gespeichert", country="DE", version=1, created_at=clock(), updated_at=clock()))
        uow.audit(entity="account", entity_id="0", action="created")
        uow.emit("crm.account.created", entity="account", entity_id="0", payload={})
    assert counts(factory) == before


def test_validation_messages_are_german_and_per_field(factory: sessionmaker[Session]) -> None:
    admin = make_user(factory).actor()
    with pytest.raises(ValidationFailed) as err:
        create_account(
            UnitOfWork(factory, actor=admin),
            {"name": "X", "email": "kein-at", "postcode": "1234", "employees": -1, "legal_form": "Ltd."},
        )
    fields = err.value.fields
    assert fields["name"].startswith("zu kurz")
    assert fields["email"] == "keine gültige E-Mail-Adresse"
    assert fields["employees"] == "muss mindestens 0 sein"
    assert "ungültiger Wert" in fields["legal_form"]


def test_postcode_rule_depends_on_country(factory: sessionmaker[Session]) -> None:
    admin = make_user(factory).actor()
    with pytest.raises(ValidationFailed, match="fünf Ziffern"):
        create_account(UnitOfWork(factory, actor=admin), {"name": "Wiener Werke", "postcode": "1010"})
    account = create_account(UnitOfWork(factory, actor=admin), {"name": "Wiener Werke", "postcode": "1010", "country": "at"})
    assert account.country == "AT"


def test_account_with_contacts_cannot_be_deleted(factory: sessionmaker[Session]) -> None:
    admin = make_user(factory).actor()
    account = make_account(factory, admin)
    make_contact(factory, admin, account_id=account.id)
    with pytest.raises(Conflict, match="1 Kontakt"):
        delete_account(UnitOfWork(factory, actor=admin), account.id, expected_version=1)


def test_delete_is_audited_and_evented(factory: sessionmaker[Session]) -> None:
    admin = make_user(factory).actor()
    account = make_account(factory, admin)
    delete_account(UnitOfWork(factory, actor=admin), account.id, expected_version=1, reason="Dublette")
    with pytest.raises(NotFound):
        get_account(UnitOfWork(factory, actor=admin), account.id)
    with factory() as s:
        log = audit.trail(s, entity="account", entity_id=account.id, )
        assert set(log[log.action == "deleted"].reason) == {"Dublette"}
        assert recent_events(s, limit=1).iloc[0]["name"] == "crm.account.deleted"


def test_ids_of_deleted_records_are_never_reused(factory: sessionmaker[Session]) -> None:
    """A merged or deleted id must stay unambiguous (aliases, audit trail, links in e-mails)."""
    admin = make_user(factory).actor()
    first = make_account(factory, admin, name="Erste GmbH")
    delete_account(UnitOfWork(factory, actor=admin), first.id, expected_version=1)
    second = make_account(factory, admin, name="Zweite GmbH")
    assert second.id > first.id
    contact = make_contact(factory, admin)
    from core.contacts import delete_contact

    delete_contact(UnitOfWork(factory, actor=admin), contact.id, expected_version=1)
    assert make_contact(factory, admin).id > contact.id


def test_a_read_refuses_to_write(factory: sessionmaker[Session]) -> None:
    """A read may run outside a transaction (begin_read): it must never be a way to write without `commit()`."""
    admin = make_user(factory).actor()
    uow = UnitOfWork(factory, actor=admin)
    with pytest.raises(RuntimeError, match="begin_read"), uow:
        uow.begin_read()
        uow.session.add(Account(name="Nie gespeichert GmbH", version=1))
        uow.session.flush()
    with factory() as s:
        assert s.scalar(select(func.count()).where(Account.name == "Nie gespeichert GmbH")) == 0


def test_a_read_on_its_own_engine_runs_without_a_transaction_and_the_next_unit_of_work_has_one(db_url: str) -> None:
    """On PostgreSQL a read is one round trip: no BEGIN/COMMIT around its statement. The pooled connection goes back
    to transactions afterwards: a unit of work left without commit() still leaves nothing behind."""
    engine = create_db_engine(db_url, pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    try:
        with UnitOfWork(factory, actor=SYSTEM) as uow:
            uow.begin_read()
            uow.session.execute(select(func.count()).select_from(Account))
            if db_url.startswith("postgresql"):
                driver = uow.session.connection().connection.dbapi_connection
                assert driver.info.transaction_status == TransactionStatus.IDLE  # type: ignore[union-attr]
        with UnitOfWork(factory, actor=SYSTEM) as uow:
            uow.session.add(Account(name="Nur im Rollback GmbH", version=1))
            uow.session.flush()
        with factory() as s:
            assert s.scalar(select(func.count()).where(Account.name == "Nur im Rollback GmbH")) == 0
    finally:
        engine.dispose()


def test_reads_keep_the_drivers_prepared_statements(db_url: str) -> None:
    """psycopg drops its prepared statements on every ROLLBACK; a read begun with begin_read() keeps them, so
    PostgreSQL plans the API's hot queries once per connection (on SQLite there is nothing to keep)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("prepared statements of the PostgreSQL driver")
    engine = create_db_engine(db_url, pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    query = select(func.count()).select_from(Account).where(Account.name == bindparam("name"))

    def read(*, declared: bool) -> None:
        uow = UnitOfWork(factory, actor=SYSTEM)
        with uow:
            if declared:
                uow.begin_read()
            uow.session.execute(query, {"name": "x"})

    def prepared() -> int:
        with engine.connect() as conn:
            return len(conn.execute(text("SELECT name FROM pg_prepared_statements")).all())

    try:
        for _ in range(8):
            read(declared=False)
        assert prepared() == 0, "rolled back reads never reach psycopg's prepare threshold"
        for _ in range(8):
            read(declared=True)
        assert prepared() >= 1
    finally:
        engine.dispose()


def test_postgresql_connections_run_without_jit_unless_the_url_sets_options(db_url: str) -> None:
    """JIT compiling cost more than it saved in every report and segment query measured; parallel plans get half this
    machine's cores as workers (db/session.py). An operator's own options in the URL replace ours."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    ours = ("off", str(parallel_workers(os.cpu_count() or 1)))
    own = f"{db_url}?options=-c%20jit%3Don%20-c%20max_parallel_workers_per_gather%3D3"
    for url, expected in ((db_url, ours), (own, ("on", "3"))):
        engine = create_db_engine(url, pool_size=1, max_overflow=0)
        try:
            with engine.connect() as conn:
                shown = tuple(
                    conn.execute(text(f"SHOW {name}")).scalar() for name in ("jit", "max_parallel_workers_per_gather")
                )
                assert shown == expected
        finally:
            engine.dispose()


def test_sqlite_connections_read_through_a_memory_map(db_url: str) -> None:
    """SQLite maps the database file (db/session.py: SQLITE_MMAP_BYTES, capped by SQLite's compile-time maximum)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("a SQLite setting")
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            mapped = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
            assert 0 < mapped <= SQLITE_MMAP_BYTES
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1  # erased data still overwritten
    finally:
        engine.dispose()
