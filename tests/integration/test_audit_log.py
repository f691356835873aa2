"""The audit log: field-level entries, hash chain verification, database-enforced append-only."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.accounts import update_account
from core.contacts import update_contact
from core.permissions import Role
from core.subject_keys import SHREDDED_TEXT, Subject, shred
from core.uow import UnitOfWork
from db.append_only import append_only_ddl, drop_append_only_ddl
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user


@pytest.fixture
def history(factory: sessionmaker[Session], clock: FrozenClock) -> dict[str, int]:
    """A few audited changes: an account created and edited twice, a contact created and edited."""
    admin = make_user(factory, Role.ADMIN, clock=clock).actor()
    account = make_account(factory, admin, clock=clock)
    clock.advance(hours=1)
    account = update_account(
        UnitOfWork(factory, actor=admin, clock=clock),
        account.id,
        {"city": "Bonn", "postcode": "53111"},
        expected_version=account.version,
        reason="Umzug",
    )
    contact = make_contact(factory, admin, clock=clock, account_id=account.id)
    update_contact(
        UnitOfWork(factory, actor=admin, clock=clock), contact.id, {"last_name": "Weiss"}, expected_version=1
    )
    return {"account": account.id, "contact": contact.id}


def verify(factory: sessionmaker[Session]) -> audit.ledger.Verification:
    with factory() as session:
        return audit.verify_chain(session)


def test_changes_are_logged_field_by_field(factory: sessionmaker[Session], history: dict[str, int]) -> None:
    with factory() as session:
        log = audit.trail(session, entity="account", entity_id=history["account"])
    updated = log[log.action == "updated"].set_index("field")
    assert set(updated.index) == {"city", "postcode"}
    assert updated.loc["city", "old_value"] == "Köln"
    assert updated.loc["city", "new_value"] == "Bonn"
    assert updated.loc["city", "reason"] == "Umzug"
    assert set(log[log.action == "created"].field) >= {"name", "legal_form", "city", "owner_id"}


def test_personal_values_are_encrypted_and_shreddable(
    factory: sessionmaker[Session], history: dict[str, int], clock: FrozenClock
) -> None:
    with factory() as session:
        raw = session.execute(
            text("SELECT old_value, new_value FROM audit_entries WHERE entity='contact' AND field='last_name' AND action='updated'")
        ).one()
        assert raw.old_value.startswith("enc:") and "Weiß" not in raw.old_value
        log = audit.trail(session, entity="contact", entity_id=history["contact"], field="last_name")
        assert list(log.new_value) == ["Weiss", "Weiß"]
        assert shred(session, Subject("contact", str(history["contact"])), clock())
        session.commit()
        log = audit.trail(session, entity="contact", entity_id=history["contact"], field="last_name")
        assert set(log.new_value) == {SHREDDED_TEXT}
    assert verify(factory).ok, "shredding a key must not break the chain"


def test_fresh_chain_verifies(factory: sessionmaker[Session], history: dict[str, int]) -> None:
    result = verify(factory)
    assert result.ok, result.describe()
    assert result.checked > 10


def _bypass_triggers(connection: Connection) -> None:
    """What an attacker with database rights does first; rolled back with the test."""
    for statement in drop_append_only_ddl("audit_entries", connection.dialect.name):
        connection.execute(text(statement))


def test_update_and_delete_are_rejected_by_the_database(connection: Connection, history: dict[str, int]) -> None:
    for statement in ("UPDATE audit_entries SET reason = 'x' WHERE id = 2", "DELETE FROM audit_entries WHERE id = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            with connection.begin_nested():
                connection.execute(text(statement))
    if connection.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            with connection.begin_nested():
                connection.execute(text("TRUNCATE audit_entries CASCADE"))


@pytest.mark.parametrize(
    ("tamper", "bad_id"),
    [
        ("UPDATE audit_entries SET new_value = 'Hamburg' WHERE id = 5", 5),
        ("DELETE FROM audit_entries WHERE id = 4", 4),
        ("DELETE FROM audit_entries WHERE id = (SELECT MAX(id) FROM audit_entries)", None),
        ("UPDATE audit_entries SET id = -id WHERE id IN (3, 4); "
         "UPDATE audit_entries SET id = 4 WHERE id = -3; UPDATE audit_entries SET id = 3 WHERE id = -4", 3),
    ],
    ids=["altered", "removed", "tail-removed", "reordered"],
)
def test_tampering_is_detected_and_named(
    connection: Connection, factory: sessionmaker[Session], history: dict[str, int], tamper: str, bad_id: int | None
) -> None:
    last = connection.execute(text("SELECT MAX(id) FROM audit_entries")).scalar_one()
    _bypass_triggers(connection)
    for statement in tamper.split("; "):
        connection.execute(text(statement))
    result = verify(factory)
    assert not result.ok
    assert result.first_bad_id == (bad_id if bad_id is not None else last)
    assert f"Eintrag {result.first_bad_id}" in result.describe()


def test_inserted_entry_is_detected(connection: Connection, factory: sessionmaker[Session], history: dict[str, int]) -> None:
    connection.execute(
        text(
            "INSERT INTO audit_entries (id, occurred_at, actor_name, entity, entity_id, action, prev_hash, hash) "
            "SELECT MAX(id) + 1, MAX(occurred_at), 'mallory', 'account', '1', 'deleted', 'x', 'y' FROM audit_entries"
        )
    )
    result = verify(factory)
    assert not result.ok and result.first_bad_id is not None


def test_triggers_can_be_reinstalled(connection: Connection, history: dict[str, int]) -> None:
    _bypass_triggers(connection)
    for statement in append_only_ddl("audit_entries", connection.dialect.name):
        connection.execute(text(statement))
    with pytest.raises(DBAPIError):
        with connection.begin_nested():
            connection.execute(text("DELETE FROM audit_entries"))
