"""The list search over the trigram indexes (db/fulltext.py, core/search.py): substring, case-insensitive,
through linked rows, kept in step with inserts, updates and deletes — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from core import search
from core.accounts import account_options, list_accounts
from core.contacts import delete_contact, list_contacts, update_contact
from core.listing import ListQuery
from core.permissions import Actor, Role
from core.sales.opportunities import list_opportunities, list_opportunities_after
from core.search import contains, like_pattern
from core.uow import UnitOfWork
from db.fulltext import SEARCH_SPECS
from db.models import Contact
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


def contact_names(factory: sessionmaker[Session], actor: Actor, term: str) -> list[str]:
    page = list_contacts(UnitOfWork(factory, actor=actor), ListQuery(search=term, sort="last_name"))
    assert page.total == len(page.rows)
    return list(page.rows["last_name"])


def test_every_search_spec_exists_in_the_migrated_database(connection: Connection) -> None:
    names = set(inspect(connection).get_table_names())
    for spec in SEARCH_SPECS:
        if connection.dialect.name == "sqlite":
            columns = [row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({spec.fts_table})")]
            assert tuple(columns) == spec.columns
            triggers = {
                row[0]
                for row in connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (spec.table,)
                )
            }
            assert {f"{spec.fts_table}_{s}" for s in ("ai", "ad", "au")} <= triggers
        else:
            indexes = {i["name"] for i in inspect(connection).get_indexes(spec.table)}
            assert {spec.trgm_index(c) for c in spec.columns} <= indexes
        assert spec.table in names


def test_contact_search_matches_substrings_of_any_column_case_insensitively(
    factory: sessionmaker[Session], admin: Actor
) -> None:
    make_contact(factory, admin, first_name="Jürgen", last_name="Müller", email="jm@alpha.example")
    make_contact(factory, admin, first_name="Petra", last_name="Schmidt", email="petra@muellerbau.example")
    make_contact(factory, admin, first_name="Hans", last_name="Obermüller", email="h@beta.example")
    make_contact(factory, admin, first_name="Eva", last_name="Klein", email="eva@gamma.example")

    assert contact_names(factory, admin, "müller") == ["Müller", "Obermüller"]
    assert contact_names(factory, admin, "MÜLLER") == ["Müller", "Obermüller"]
    assert contact_names(factory, admin, "mueller") == ["Schmidt"]
    assert contact_names(factory, admin, "  petr ") == ["Schmidt"]
    assert contact_names(factory, admin, "zzz") == []


def test_contact_search_finds_contacts_through_their_company(factory: sessionmaker[Session], admin: Actor) -> None:
    account = make_account(factory, admin, name="Kühlwerk Nord GmbH")
    make_contact(factory, admin, last_name="Adler", account_id=account.id)
    make_contact(factory, admin, last_name="Kühl", email="k@x.example")
    make_contact(factory, admin, last_name="Berg")

    assert contact_names(factory, admin, "kühl") == ["Adler", "Kühl"]


def test_short_terms_fall_back_to_like(factory: sessionmaker[Session], admin: Actor) -> None:
    make_contact(factory, admin, last_name="Ott", email="o@x.example")
    make_contact(factory, admin, last_name="Lang", email="l@y.example")

    assert contact_names(factory, admin, "ot") == ["Ott"]
    assert contact_names(factory, admin, "y.") == ["Lang"]


def test_special_characters_are_searched_literally(factory: sessionmaker[Session], admin: Actor) -> None:
    make_contact(factory, admin, last_name='Quote"Name', email="q@x.example")
    make_contact(factory, admin, last_name="Pro%zent", email="p@x.example")
    make_contact(factory, admin, last_name="Prozent", email="p2@x.example")

    assert contact_names(factory, admin, 'e"n') == ['Quote"Name']
    assert contact_names(factory, admin, "o%z") == ["Pro%zent"]
    assert contact_names(factory, admin, "%") == ["Pro%zent"]
    assert like_pattern("50%_a\\") == "%50\\%\\_a\\\\%"


def test_the_index_follows_updates_and_deletes(factory: sessionmaker[Session], admin: Actor) -> None:
    contact = make_contact(factory, admin, last_name="Altname", email="alt@x.example")
    assert contact_names(factory, admin, "altname") == ["Altname"]

    updated = update_contact(
        UnitOfWork(factory, actor=admin),
        contact.id,
        {"first_name": contact.first_name, "last_name": "Neuname", "email": "neu@x.example"},
        expected_version=contact.version,
    )
    assert contact_names(factory, admin, "altname") == []
    assert contact_names(factory, admin, "neuname") == ["Neuname"]

    delete_contact(UnitOfWork(factory, actor=admin), contact.id, expected_version=updated.version)
    assert contact_names(factory, admin, "neuname") == []
    with factory() as session:
        assert session.scalars(select(Contact.id).where(contains(session, Contact, "neuname"))).all() == []


def test_account_search_covers_name_city_and_postcode(factory: sessionmaker[Session], admin: Actor) -> None:
    make_account(factory, admin, name="Nordlicht AG", city="Hamburg", postcode="20095")
    make_account(factory, admin, name="Südwind GmbH", city="München", postcode="80331")

    def names(term: str) -> list[str]:
        page = list_accounts(UnitOfWork(factory, actor=admin), ListQuery(search=term, sort="name"))
        return list(page.rows["name"])

    assert names("nordl") == ["Nordlicht AG"]
    assert names("münch") == ["Südwind GmbH"]
    assert names("8033") == ["Südwind GmbH"]
    assert list(account_options(UnitOfWork(factory, actor=admin), search="wind")["name"]) == ["Südwind GmbH"]


def test_deal_search_covers_deal_and_company_name_in_both_list_paths(
    factory: sessionmaker[Session], admin: Actor
) -> None:
    cloud_company = make_account(factory, admin, name="Cloudwerk GmbH")
    other = make_account(factory, admin, name="Stahlbau KG")
    by_company = make_opportunity(factory, admin, account_id=cloud_company.id, name="Wartungsvertrag")
    by_name = make_opportunity(factory, admin, account_id=other.id, name="Cloud-Migration 2027")
    make_opportunity(factory, admin, account_id=other.id, name="Hallenkran")

    page = list_opportunities(UnitOfWork(factory, actor=admin), ListQuery(search="CLOUD"))
    assert page.total == 2
    assert set(page.rows["id"]) == {by_company.id, by_name.id}
    rows, after = list_opportunities_after(UnitOfWork(factory, actor=admin), after_id=None, limit=10, search="cloud")
    assert [r.id for r in rows] == sorted([by_company.id, by_name.id])
    assert after is None


@pytest.mark.parametrize("inline_limit", [1_000, 1], ids=["linked-ids-inline", "linked-ids-as-subquery"])
def test_search_through_many_linked_rows_matches_the_same_contacts(
    factory: sessionmaker[Session], admin: Actor, monkeypatch: pytest.MonkeyPatch, inline_limit: int
) -> None:
    """PostgreSQL writes up to MAX_INLINE_LINKS matching companies into the SQL and tests more through a subquery;
    both give the same contacts (SQLite always takes the FTS5 ids)."""
    monkeypatch.setattr(search, "MAX_INLINE_LINKS", inline_limit)
    first = make_account(factory, admin, name="Kältetechnik Süd GmbH")
    second = make_account(factory, admin, name="Kältetechnik Nord GmbH")
    make_contact(factory, admin, last_name="Adler", account_id=first.id)
    make_contact(factory, admin, last_name="Berg", account_id=second.id)
    make_contact(factory, admin, last_name="Kältetechniker", email="k@x.example")
    make_contact(factory, admin, last_name="Zander", account_id=make_account(factory, admin, name="Stahlbau KG").id)

    assert contact_names(factory, admin, "kältetechnik") == ["Adler", "Berg", "Kältetechniker"]
    assert contact_names(factory, admin, "stahlbau") == ["Zander"]
    assert contact_names(factory, admin, "zander") == ["Zander"]
    assert contact_names(factory, admin, "nirgendwo") == []
