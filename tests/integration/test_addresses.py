"""Addresses of accounts and contacts: primary per type, retiring, validation, permissions, audit,
Hauptanschrift sync, events, and the owner's change log with its verification."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import addresses, audit
from core.accounts import get_account
from core.addresses import Owner, add_address, change_log, list_addresses, mark_primary, retire_address, update_address
from core.contacts import get_contact
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.events import recent_events
from core.permissions import Actor, Role
from core.subject_keys import SHREDDED_TEXT, Subject, shred
from core.uow import UnitOfWork
from db.append_only import drop_append_only_ddl
from db.models import AuditEntry
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user

VISIT = {"type": "besuch", "street": "Hohe Straße", "house_number": "12", "postcode": "50667", "city": "Köln"}
BILLING = {"type": "rechnung", "street": "Postfach", "house_number": "10 20 30", "postcode": "50668", "city": "Köln"}


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


def uow(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock)


def add(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock, owner: Owner, **values: Any) -> Any:
    return add_address(uow(factory, actor, clock), owner=owner, values=values)


def test_one_primary_address_per_type(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    account = make_account(factory, admin, clock=clock)
    owner = Owner("account", account.id)
    first = add(factory, admin, clock, owner, **BILLING, is_primary=True)
    second = add(factory, admin, clock, owner, **BILLING | {"street": "Ringstraße"}, is_primary=True)
    visit = add(factory, admin, clock, owner, **VISIT, is_primary=True)

    shown = {a.id: a for a in list_addresses(uow(factory, admin, clock), owner=owner)}
    assert [shown[first.id].is_primary, shown[second.id].is_primary, shown[visit.id].is_primary] == [False, True, True]

    mark_primary(
        uow(factory, admin, clock), first.id, expected_version=shown[first.id].version, reason="Neue Buchhaltung"
    )
    shown = {a.id: a for a in list_addresses(uow(factory, admin, clock), owner=owner)}
    assert (shown[first.id].is_primary, shown[second.id].is_primary, shown[visit.id].is_primary) == (True, False, True)
    assert list(shown)[0] == visit.id, "the main type (Besuchsadresse) is listed first"

    with factory() as session:
        log = audit.trail(session, entity="address", entity_id=second.id, field="is_primary")
    assert list(log.new_value)[:1] == ["nein"]
    assert "Hauptadresse ist jetzt Adresse" in str(log.reason.iloc[0])


def test_retire_sets_valid_until_and_clears_primary(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    account = make_account(factory, admin, clock=clock)
    owner = Owner("account", account.id)
    billing = add(factory, admin, clock, owner, **BILLING, is_primary=True)

    retired = retire_address(uow(factory, admin, clock), billing.id, expected_version=billing.version, reason="Umzug")

    assert retired.valid_until == dt.date(2026, 11, 25) and not retired.is_primary
    assert list_addresses(uow(factory, admin, clock), owner=owner) == []
    assert [a.id for a in list_addresses(uow(factory, admin, clock), owner=owner, include_retired=True)] == [billing.id]
    with pytest.raises(ValidationFailed, match="bereits ausgelaufen"):
        retire_address(uow(factory, admin, clock), billing.id, expected_version=retired.version)
    with pytest.raises(ValidationFailed, match="kann nicht Hauptadresse sein"):
        mark_primary(uow(factory, admin, clock), billing.id, expected_version=retired.version)
    with pytest.raises(Conflict):
        update_address(uow(factory, admin, clock), billing.id, {"city": "Bonn"}, expected_version=billing.version)
    with factory() as session:
        entries = audit.trail(session, entity="address", entity_id=billing.id)
    retire_entries = entries[entries.action == "retired"].set_index("field")
    assert retire_entries.loc["valid_until", "new_value"] == "2026-11-25"
    assert retire_entries.loc["is_primary", "new_value"] == "nein"
    assert set(retire_entries.reason) == {"Umzug"}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"postcode": "5066"}, "postcode", "deutsche Postleitzahl hat fünf Ziffern"),
        ({"country": "Deutschland"}, "country", "Ländercode mit zwei Buchstaben"),
        ({"type": "zuhause"}, "type", "ungültiger Wert"),
        (
            {"valid_from": dt.date(2026, 5, 1), "valid_until": dt.date(2026, 4, 1)},
            "valid_until",
            "liegt vor dem Beginn",
        ),
        ({"city": ""}, "city", "Pflichtfeld"),
    ],
)
def test_validation_messages_are_german(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock, values: dict[str, Any], field: str, message: str
) -> None:
    account = make_account(factory, admin, clock=clock)
    with pytest.raises(ValidationFailed) as caught:
        add(factory, admin, clock, Owner("account", account.id), **VISIT | values)
    assert message in caught.value.fields[field]


def test_foreign_postcodes_are_not_checked_as_german(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    account = make_account(factory, admin, clock=clock)
    wien = add(
        factory,
        admin,
        clock,
        Owner("account", account.id),
        **VISIT | {"postcode": "1010", "city": "Wien", "country": "at"},
    )
    assert (wien.postcode, wien.country) == ("1010", "AT")


def test_sales_rep_edits_addresses_only_of_own_records(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    rep = make_user(factory, Role.SALES_REP).actor()
    viewer = make_user(factory, Role.VIEWER).actor()
    own = make_account(factory, rep, clock=clock)
    foreign = make_account(factory, admin, clock=clock, name="Schulz Logistik")
    foreign_contact = make_contact(factory, admin, clock=clock)

    assert add(factory, rep, clock, Owner("account", own.id), **VISIT).city == "Köln"
    for owner in (Owner("account", foreign.id), Owner("contact", foreign_contact.id)):
        with pytest.raises(PermissionDenied, match="nur eigene"):
            add(factory, rep, clock, owner, **VISIT | {"type": "post"})
    address = add(factory, admin, clock, Owner("account", foreign.id), **VISIT)
    with pytest.raises(PermissionDenied):
        mark_primary(uow(factory, rep, clock), address.id, expected_version=address.version)
    with pytest.raises(PermissionDenied):
        retire_address(uow(factory, viewer, clock), address.id, expected_version=address.version)
    assert len(list_addresses(uow(factory, viewer, clock), owner=Owner("account", foreign.id))) == 1


def test_contact_address_values_are_encrypted_and_shreddable(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    contact = make_contact(factory, admin, clock=clock)
    address = add(
        factory, admin, clock, Owner("contact", contact.id), **VISIT | {"type": "post", "street": "Geheimweg"}
    )
    with factory() as session:
        raw = session.execute(
            select(AuditEntry.new_value).where(
                AuditEntry.entity == "address", AuditEntry.entity_id == str(address.id), AuditEntry.field == "street"
            )
        ).scalar_one()
        assert raw.startswith("enc:") and "Geheimweg" not in raw
        log = change_log(uow(factory, admin, clock), owner=Owner("contact", contact.id), field="street").entries
        assert "Geheimweg" in set(log.new_value)
        shred(session, Subject("contact", str(contact.id)), clock())
        session.commit()
    log = change_log(uow(factory, admin, clock), owner=Owner("contact", contact.id), field="street")
    assert set(log.entries.new_value) == {SHREDDED_TEXT}
    assert log.verification.ok, "shredding keeps the chain intact"


def test_account_address_values_stay_readable_in_the_log(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    account = make_account(factory, admin, clock=clock)
    address = add(factory, admin, clock, Owner("account", account.id), **VISIT)
    with factory() as session:
        raw = session.execute(
            select(AuditEntry.new_value).where(
                AuditEntry.entity == "address", AuditEntry.entity_id == str(address.id), AuditEntry.field == "street"
            )
        ).scalar_one()
    assert raw == "Hohe Straße", "company addresses are not a person's data"


def test_primary_main_address_updates_the_flat_fields(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    account = make_account(factory, admin, clock=clock, street="Alter Weg 1")
    owner = Owner("account", account.id)
    add(factory, admin, clock, owner, **BILLING, is_primary=True)
    assert get_account(uow(factory, admin, clock), account.id).street == "Alter Weg 1", "only the main type syncs"

    visit = add(factory, admin, clock, owner, **VISIT | {"postcode": "50670"}, is_primary=True)
    synced = get_account(uow(factory, admin, clock), account.id)
    assert (synced.street, synced.postcode, synced.city) == ("Hohe Straße 12", "50670", "Köln")

    clock.advance(hours=1)
    update_address(
        uow(factory, admin, clock),
        visit.id,
        {"city": "Bonn", "postcode": "53111"},
        expected_version=visit.version,
        reason="Umzug",
    )
    moved = get_account(uow(factory, admin, clock), account.id)
    assert (moved.postcode, moved.city, moved.version) == ("53111", "Bonn", synced.version + 1)
    with factory() as session:
        log = audit.trail(session, entity="account", entity_id=account.id, field="city")
    assert (log.new_value.iloc[0], log.reason.iloc[0]) == ("Bonn", "Umzug")

    contact = make_contact(factory, admin, clock=clock, postcode="10115", city="Berlin")
    add(factory, admin, clock, Owner("contact", contact.id), **VISIT | {"type": "post"}, is_primary=True)
    assert get_contact(uow(factory, admin, clock), contact.id).city == "Köln"


def test_events_are_emitted(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    account = make_account(factory, admin, clock=clock)
    address = add(factory, admin, clock, Owner("account", account.id), **BILLING)
    address = update_address(
        uow(factory, admin, clock), address.id, {"city": "Bonn", "postcode": "53111"}, expected_version=1
    )
    retire_address(uow(factory, admin, clock), address.id, expected_version=address.version)
    with factory() as session:
        events = recent_events(session, name_prefix="crm.address.")
    assert list(events.name)[::-1] == ["crm.address.created", "crm.address.updated", "crm.address.retired"]
    created = events.iloc[-1].payload
    assert created["after"]["city"] == "Köln" and created["owner"] == {"type": "account", "id": account.id}
    assert events.iloc[1].payload["before"] == {"city": "Köln", "postcode": "50668"}


def test_change_log_includes_addresses_filters_and_verifies(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    other_user = make_user(factory, Role.SALES_MANAGER, username="katrin").actor()
    account = make_account(factory, admin, clock=clock)
    other = make_account(factory, admin, clock=clock, name="Andere GmbH")
    clock.advance(days=2)
    address = add(factory, other_user, clock, Owner("account", account.id), **BILLING)
    add(factory, admin, clock, Owner("account", other.id), **BILLING)

    log = change_log(uow(factory, admin, clock), owner=Owner("account", account.id))
    assert set(zip(log.entries.entity, log.entries.entity_id)) == {
        ("account", str(account.id)),
        ("address", str(address.id)),
    }
    assert log.verification.ok and log.verification.checked == len(log.entries)

    by_user = change_log(uow(factory, admin, clock), owner=Owner("account", account.id), actor_name="katrin").entries
    assert set(by_user.entity) == {"address"}
    by_field = change_log(uow(factory, admin, clock), owner=Owner("account", account.id), field="city").entries
    assert list(by_field.entity) == ["address", "account"]
    recent = change_log(
        uow(factory, admin, clock), owner=Owner("account", account.id), since=clock.current - dt.timedelta(days=1)
    ).entries
    assert set(recent.entity) == {"address"}


def _tamper(connection: Connection, statement: str) -> None:
    for ddl in drop_append_only_ddl("audit_entries", connection.dialect.name):
        connection.execute(text(ddl))
    connection.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE audit_entries SET new_value = 'Hamburg' WHERE id = :id", "verändert"),
        ("DELETE FROM audit_entries WHERE id = :id - 1", "fehlt"),
    ],
    ids=["altered", "predecessor-removed"],
)
def test_verification_of_shown_entries_names_the_tampered_entry(
    connection: Connection,
    factory: sessionmaker[Session],
    admin: Actor,
    clock: FrozenClock,
    statement: str,
    problem: str,
) -> None:
    account = make_account(factory, admin, clock=clock)
    add(factory, admin, clock, Owner("account", account.id), **BILLING)
    log = change_log(uow(factory, admin, clock), owner=Owner("account", account.id), field="city")
    target = int(log.entries[log.entries.entity == "address"].id.iloc[0])

    _tamper(connection, statement.replace(":id", str(target)))

    result = change_log(uow(factory, admin, clock), owner=Owner("account", account.id)).verification
    assert not result.ok and problem in (result.problem or "")
    assert result.first_bad_id in (target, target - 1)


def test_rehashed_entry_is_caught_by_its_successor_link(
    connection: Connection, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    make_account(factory, admin, clock=clock)
    with factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "account", AuditEntry.field == "city")
        ).one()
        payload = audit._payload(entry) | {"new_value": "Hamburg"}
        forged = audit.ledger.chain_hash(entry.prev_hash, payload)
    _tamper(connection, f"UPDATE audit_entries SET new_value = 'Hamburg', hash = '{forged}' WHERE id = {entry.id}")

    with factory() as session:
        result = audit.verify_entries_shown(session, [entry.id])
    assert not result.ok and result.first_bad_id == entry.id


def test_owner_must_exist(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    with pytest.raises(addresses.NotFound, match="Firma 999999"):
        add(factory, admin, clock, Owner("account", 999_999), **VISIT)
    with pytest.raises(ValidationFailed):
        list_addresses(uow(factory, admin, clock), owner=("opportunity", 1))
