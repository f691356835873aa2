"""Merging duplicates: chosen values survive, related rows follow, the old id resolves, undo is exact."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.accounts import get_account, update_account
from core.contacts import get_contact
from core.dedupe.review import MERGED
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.merge import ALIAS_TARGET, MERGE_HOOKS, RELINKS, list_merges, merge, merge_preview, undo_merge
from core.permissions import Actor, Role
from core.uow import UnitOfWork
from db.base import Base
from db.models import Account, Address, Contact, DuplicateCandidate, MergeRecord, OutboxEvent, PersonKey, RecordAlias
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user


@dataclass(frozen=True)
class AccountPair:
    actor: Actor
    survivor: int
    merged: int
    merged_contacts: list[int]
    survivor_contact: int
    merged_address: int
    candidate: int


def add_address(factory: sessionmaker[Session], now: dt.datetime, **owner: int) -> int:
    with factory() as session:
        address = Address(
            **owner,
            type="rechnung",
            street="Hauptstraße",
            house_number="1",
            postcode="53111",
            city="Bonn",
            is_primary=True,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(address)
        session.commit()
        return address.id


def add_candidate(factory: sessionmaker[Session], now: dt.datetime, entity: str, a: int, b: int) -> int:
    with factory() as session:
        candidate = DuplicateCandidate(
            entity=entity, id_a=min(a, b), id_b=max(a, b), score=0.93, details={"name": 0.9}, found_at=now
        )
        session.add(candidate)
        session.commit()
        return candidate.id


def uow(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock)


@pytest.fixture
def pair(factory: sessionmaker[Session], clock: FrozenClock) -> AccountPair:
    manager = make_user(factory, Role.SALES_MANAGER, clock=clock).actor()
    survivor = make_account(factory, manager, clock=clock, name="Müller Maschinenbau", phone="+49 221 123456")
    merged = make_account(
        factory, manager, clock=clock, name="Mueller Maschinenbau", city="Bonn", postcode="53111", external_id="K-100"
    )
    contacts = [
        make_contact(factory, manager, clock=clock, account_id=merged.id, email=f"p{i}@mueller.de").id for i in (1, 2)
    ]
    own = make_contact(factory, manager, clock=clock, account_id=survivor.id, email="chef@mueller.de").id
    address = add_address(factory, clock(), account_id=merged.id)
    candidate = add_candidate(factory, clock(), "account", survivor.id, merged.id)
    return AccountPair(manager, survivor.id, merged.id, contacts, own, address, candidate)


def merge_pair(factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair) -> int:
    clock.advance(hours=1)
    return merge(
        uow(factory, pair.actor, clock),
        entity="account",
        survivor_id=pair.survivor,
        merged_id=pair.merged,
        field_choices={"city": "merged", "postcode": "merged", "external_id": "merged", "name": "survivor"},
        reason="Dublette aus Messekontakt",
    ).id


def read(factory: sessionmaker[Session], stmt: object) -> list[object]:
    with factory() as session:
        return list(session.scalars(stmt))  # type: ignore[call-overload]


def test_merge_applies_choices_relinks_rows_and_resolves_the_old_id(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    preview = merge_preview(
        uow(factory, pair.actor, clock), entity="account", survivor_id=pair.survivor, merged_id=pair.merged
    )
    assert {key: n for key, n in preview.relink_counts.items() if n} == {"contacts.account_id": 2, "addresses.account_id": 1}
    assert {"name", "city", "postcode", "external_id", "phone"} <= set(preview.differing)

    merge_id = merge_pair(factory, clock, pair)

    survivor = get_account(uow(factory, pair.actor, clock), pair.merged)
    assert survivor.id == pair.survivor, "the merged id opens the surviving record"
    assert (survivor.name, survivor.city, survivor.postcode) == ("Müller Maschinenbau", "Bonn", "53111")
    assert survivor.external_id == "K-100" and survivor.phone == "+49 221 123456"
    assert survivor.contact_count == 3
    assert read(factory, select(Account.id).where(Account.id == pair.merged)) == []
    assert read(factory, select(Address.account_id).where(Address.id == pair.merged_address)) == [pair.survivor]
    assert read(factory, select(Contact.version).where(Contact.id.in_(pair.merged_contacts))) == [2, 2]
    assert read(factory, select(DuplicateCandidate.status).where(DuplicateCandidate.id == pair.candidate)) == [
        MERGED
    ]
    assert read(factory, select(RecordAlias.target_id).where(RecordAlias.alias_id == pair.merged)) == [pair.survivor]

    record = read(factory, select(MergeRecord).where(MergeRecord.id == merge_id))[0]
    assert isinstance(record, MergeRecord)
    assert record.relinked["contacts.account_id"] == sorted(pair.merged_contacts)
    assert record.relinked["addresses.account_id"] == [pair.merged_address]
    assert record.merged_snapshot["city"] == "Bonn" and record.survivor_before["values"]["city"] == "Köln"


def test_merge_is_audited_and_emits_an_event(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    merge_id = merge_pair(factory, clock, pair)
    with factory() as session:
        survivor_log = audit.trail(session, entity="account", entity_id=pair.survivor)
        merged_log = audit.trail(session, entity="account", entity_id=pair.merged)
        contact_log = audit.trail(session, entity="contact", entity_id=pair.merged_contacts[0])
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.name == "crm.account.merged")).one()
    changed = survivor_log[survivor_log["action"] == "updated"]
    assert set(changed["field"]) == {"city", "postcode", "external_id"}
    assert all(f"#{pair.merged} mit #{pair.survivor}" in r and "Messekontakt" in r for r in changed["reason"])
    assert "merged" in set(survivor_log["action"])
    assert merged_log.iloc[0]["action"] == "deleted"
    moved = contact_log[contact_log["field"] == "account_id"].iloc[0]
    assert (moved["old_value"], moved["new_value"]) == (str(pair.merged), str(pair.survivor))
    assert event.payload["merge_id"] == merge_id and event.payload["merged_id"] == pair.merged
    assert set(event.payload["taken_from_merged"]) == {"city", "postcode", "external_id"}


def test_undo_restores_ids_values_and_links(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    original = get_account(uow(factory, pair.actor, clock), pair.merged)
    merge_id = merge_pair(factory, clock, pair)
    clock.advance(minutes=5)

    view = undo_merge(uow(factory, pair.actor, clock), merge_id, reason="falsch zugeordnet")

    assert view.undone_at == clock()
    restored = get_account(uow(factory, pair.actor, clock), pair.merged)
    assert restored.id == pair.merged
    assert (restored.name, restored.city, restored.external_id) == ("Mueller Maschinenbau", "Bonn", "K-100")
    assert restored.created_at == original.created_at and restored.contact_count == 2
    survivor = get_account(uow(factory, pair.actor, clock), pair.survivor)
    assert (survivor.city, survivor.postcode, survivor.external_id) == ("Köln", "50667", None)
    with factory() as session:
        assert session.get(Account, pair.survivor).match_name == session.get(Account, pair.merged).match_name  # type: ignore[union-attr]
    assert read(factory, select(Contact.account_id).where(Contact.id.in_(pair.merged_contacts))) == [pair.merged] * 2
    assert read(factory, select(Contact.account_id).where(Contact.id == pair.survivor_contact)) == [pair.survivor]
    assert read(factory, select(Address.account_id).where(Address.id == pair.merged_address)) == [pair.merged]
    assert read(factory, select(RecordAlias.id)) == []
    assert read(factory, select(DuplicateCandidate.status).where(DuplicateCandidate.id == pair.candidate)) == ["offen"]
    assert read(factory, select(OutboxEvent.name).where(OutboxEvent.name == "crm.account.merge_undone")) == [
        "crm.account.merge_undone"
    ]
    with factory() as session:
        log = audit.trail(session, entity="account", entity_id=pair.merged)
    assert log.iloc[0]["action"] == "restored" and "falsch zugeordnet" in log.iloc[0]["reason"]
    history = list_merges(uow(factory, pair.actor, clock), "account")
    assert history.iloc[0]["merged_label"] == "Mueller Maschinenbau" and history.iloc[0]["undone_at"] == clock()


def test_undo_twice_is_refused(factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair) -> None:
    merge_id = merge_pair(factory, clock, pair)
    undo_merge(uow(factory, pair.actor, clock), merge_id)
    with pytest.raises(Conflict, match="bereits .* rückgängig gemacht"):
        undo_merge(uow(factory, pair.actor, clock), merge_id)
    with pytest.raises(NotFound):
        undo_merge(uow(factory, pair.actor, clock), merge_id + 1000)


def test_undo_is_refused_when_the_survivor_changed_after_the_merge(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    merge_id = merge_pair(factory, clock, pair)
    current = get_account(uow(factory, pair.actor, clock), pair.survivor)
    update_account(uow(factory, pair.actor, clock), pair.survivor, {"employees": 250}, expected_version=current.version)

    with pytest.raises(Conflict, match="nach der Zusammenführung geändert"):
        undo_merge(uow(factory, pair.actor, clock), merge_id)
    assert get_account(uow(factory, pair.actor, clock), pair.merged).id == pair.survivor, "nothing was undone"
    assert read(factory, select(MergeRecord.undone_at)) == [None]


def test_a_chain_of_merges_resolves_and_undoes_in_reverse_order(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    third = make_account(factory, pair.actor, clock=clock, name="Müller Maschinenbau Holding").id
    first = merge_pair(factory, clock, pair)
    second = merge(
        uow(factory, pair.actor, clock), entity="account", survivor_id=third, merged_id=pair.survivor, field_choices={}
    ).id
    assert get_account(uow(factory, pair.actor, clock), pair.merged).id == third, "an old alias follows the next merge"

    with pytest.raises(Conflict, match="zuerst diese spätere Zusammenführung"):
        undo_merge(uow(factory, pair.actor, clock), first)
    undo_merge(uow(factory, pair.actor, clock), second)
    assert get_account(uow(factory, pair.actor, clock), pair.merged).id == pair.survivor
    undo_merge(uow(factory, pair.actor, clock), first)
    assert get_account(uow(factory, pair.actor, clock), pair.merged).id == pair.merged


def test_invalid_requests_are_rejected(factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair) -> None:
    def attempt(**kwargs: object) -> None:
        args: dict[str, object] = {
            "entity": "account",
            "survivor_id": pair.survivor,
            "merged_id": pair.merged,
            "field_choices": {},
        }
        merge(uow(factory, pair.actor, clock), **(args | kwargs))  # type: ignore[arg-type]

    with pytest.raises(ValidationFailed, match="mit sich selbst"):
        attempt(merged_id=pair.survivor)
    with pytest.raises(ValidationFailed, match="kein zusammenführbares Feld"):
        attempt(field_choices={"match_name": "merged"})
    with pytest.raises(ValidationFailed, match="survivor"):
        attempt(field_choices={"city": "beide"})
    with pytest.raises(ValidationFailed, match="kann nicht zusammengeführt"):
        attempt(entity="user")
    with pytest.raises(Conflict):
        attempt(merged_version=7)
    with pytest.raises(NotFound, match="gibt es nicht"):
        attempt(merged_id=99_999)
    assert read(factory, select(MergeRecord.id)) == []


def test_sales_rep_and_viewer_may_not_merge(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    rep = make_user(factory, Role.SALES_REP, clock=clock).actor()
    viewer = make_user(factory, Role.VIEWER, clock=clock).actor()
    for actor in (rep, viewer):
        with pytest.raises(PermissionDenied, match="Dubletten zusammenführen"):
            merge(
                uow(factory, actor, clock),
                entity="account",
                survivor_id=pair.survivor,
                merged_id=pair.merged,
                field_choices={},
            )
    merge_id = merge_pair(factory, clock, pair)
    with pytest.raises(PermissionDenied):
        undo_merge(uow(factory, rep, clock), merge_id)
    with pytest.raises(PermissionDenied):
        list_merges(uow(factory, viewer, clock))


def test_api_key_needs_delete_as_well_as_the_merge_scope(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    """The merged record disappears: a merge also needs the right to delete it."""
    scoped = Actor(user_id=None, name="erp", scopes=frozenset({"duplicates.merge", "accounts.write"}))
    with pytest.raises(PermissionDenied, match="Firmen löschen"):
        merge(
            uow(factory, scoped, clock),
            entity="account",
            survivor_id=pair.survivor,
            merged_id=pair.merged,
            field_choices={},
        )
    assert get_account(uow(factory, pair.actor, clock), pair.merged).id == pair.merged


def test_merging_contacts_keeps_personal_data_encrypted_and_undo_restores_it(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    admin = make_user(factory, Role.ADMIN, clock=clock).actor()
    survivor = make_contact(
        factory, admin, clock=clock, first_name="Jürgen", last_name="Weiß", email="j.weiss@example.de"
    )
    merged = make_contact(
        factory,
        admin,
        clock=clock,
        first_name="Juergen",
        last_name="Weiss",
        email="jw@privat.de",
        birth_date=dt.date(1970, 5, 17),
        mobile="+49 171 1234567",
    )
    address = add_address(factory, clock(), contact_id=merged.id)

    merge_id = merge(
        uow(factory, admin, clock),
        entity="contact",
        survivor_id=survivor.id,
        merged_id=merged.id,
        field_choices={"mobile": "merged", "birth_date": "merged", "email": "survivor"},
    ).id

    found = get_contact(uow(factory, admin, clock), merged.id)
    assert (found.id, found.mobile, found.birth_date) == (survivor.id, "+49 171 1234567", dt.date(1970, 5, 17))
    assert read(factory, select(Address.contact_id).where(Address.id == address)) == [survivor.id]
    with factory() as session:
        record = session.get(MergeRecord, merge_id)
        assert record is not None
        assert record.merged_snapshot["email"].startswith("enc:"), "no personal data in plain text in the merge record"
        assert record.survivor_before["values"]["first_name"].startswith("enc:")
        key = session.scalars(
            select(PersonKey).where(PersonKey.subject_type == "contact", PersonKey.subject_id == str(merged.id))
        ).one()
        assert key.key is not None, "the merged contact's key stays"
        deleted = audit.trail(session, entity="contact", entity_id=merged.id)
    assert "jw@privat.de" in set(deleted["old_value"]), "the merged contact's old entries stay readable"
    assert list_merges(uow(factory, admin, clock), "contact").iloc[0]["merged_label"] == "Juergen Weiss"

    undo_merge(uow(factory, admin, clock), merge_id)
    back = get_contact(uow(factory, admin, clock), merged.id)
    assert (back.id, back.email, back.birth_date, back.mobile) == (
        merged.id,
        "jw@privat.de",
        dt.date(1970, 5, 17),
        "+49 171 1234567",
    )
    assert get_contact(uow(factory, admin, clock), survivor.id).mobile is None
    assert read(factory, select(Address.contact_id).where(Address.id == address)) == [merged.id]


def test_undo_is_refused_after_the_merged_person_was_erased(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    admin = make_user(factory, Role.ADMIN, clock=clock).actor()
    survivor = make_contact(factory, admin, clock=clock)
    merged = make_contact(factory, admin, clock=clock, email="jw@privat.de")
    merge_id = merge(
        uow(factory, admin, clock), entity="contact", survivor_id=survivor.id, merged_id=merged.id, field_choices={}
    ).id
    with factory() as session:
        key = session.scalars(select(PersonKey).where(PersonKey.subject_id == str(merged.id))).one()
        key.key = None
        session.commit()
    with pytest.raises(Conflict, match="DSGVO"):
        undo_merge(uow(factory, admin, clock), merge_id)


def test_every_reference_to_accounts_and_contacts_is_registered_for_relinking() -> None:
    """A new module whose table points to accounts or contacts must register_relink its column."""
    merge_tables = {"record_aliases", "merge_records"}
    referencing = {
        f"{table.name}.{fk.parent.name}"
        for table in Base.metadata.tables.values()
        if table.name not in merge_tables
        for fk in table.foreign_keys
        if fk.column.table.name in ("accounts", "contacts") and fk.column.name == "id"
    }
    assert referencing, "the metadata has references to accounts and contacts"
    registered = set(RELINKS) | {column for hook in MERGE_HOOKS for column in hook.columns}
    assert referencing - registered == set(), "register these with core.merge.register_relink"
    assert registered - referencing == set(), "registered columns that do not reference accounts/contacts"
    assert ALIAS_TARGET not in RELINKS


def test_a_live_record_wins_over_a_stale_alias(factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair) -> None:
    """SQLite may give a merged record's id to a new record: that record opens, not the old survivor."""
    merge_id = merge_pair(factory, clock, pair)
    with factory() as session:
        session.add(RecordAlias(entity="account", alias_id=pair.survivor, target_id=pair.merged, merge_id=merge_id))
        session.commit()
    assert get_account(uow(factory, pair.actor, clock), pair.survivor).id == pair.survivor


def test_merge_keeps_one_primary_address_per_type_and_undo_restores_the_flag(
    factory: sessionmaker[Session], clock: FrozenClock, pair: AccountPair
) -> None:
    own_billing = add_address(factory, clock(), account_id=pair.survivor)  # both records have a primary Rechnungsadresse
    merge_id = merge_pair(factory, clock, pair)
    primaries = read(
        factory,
        select(Address.id).where(Address.account_id == pair.survivor, Address.type == "rechnung", Address.is_primary),
    )
    assert primaries == [own_billing], "the survivor's own primary stays, the moved one is demoted"
    assert read(factory, select(Address.account_id).where(Address.id == pair.merged_address)) == [pair.survivor]
    with factory() as session:
        log = audit.trail(session, entity="address", entity_id=pair.merged_address, field="is_primary")
    assert list(log.new_value) == ["nein"]

    undo_merge(uow(factory, pair.actor, clock), merge_id)
    assert read(factory, select(Address.is_primary).where(Address.id == pair.merged_address)) == [True]
    assert read(factory, select(Address.is_primary).where(Address.id == own_billing)) == [True]
