"""Deals seen from other pages: a contact's deals, an account's open pipeline per currency, a deal's
change log with its contact roles; and the stage history of a deal that has only been created."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.errors import PermissionDenied
from core.permissions import Actor, Role
from core.sales.contact_roles import add_contact_role
from core.sales.history import stage_history
from core.sales.opportunities import lose_opportunity, update_opportunity
from core.sales.pipelines import list_reasons
from core.sales.related import account_open_pipeline, contact_opportunities, opportunity_change_log
from core.uow import UnitOfWork
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


def uow(factory: sessionmaker[Session], actor: Actor) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor)


def test_open_pipeline_is_summed_per_currency(factory: sessionmaker[Session], admin: Actor) -> None:
    account = make_account(factory, admin)
    other = make_account(factory, admin, name="Schulz Logistik")
    make_opportunity(factory, admin, account_id=account.id, amount="48000")
    make_opportunity(factory, admin, account_id=account.id, amount="2.500,50")
    make_opportunity(factory, admin, account_id=account.id, amount="9000", currency="CHF")
    lost = make_opportunity(factory, admin, account_id=account.id, amount="100000")
    reason = list_reasons(uow(factory, admin), "lost")[0]
    lose_opportunity(uow(factory, admin), lost.id, expected_version=lost.version, reason_id=reason.id)
    make_opportunity(factory, admin, account_id=other.id, amount="7000")

    assert account_open_pipeline(uow(factory, admin), account.id) == {
        "CHF": Decimal("9000.00"),
        "EUR": Decimal("50500.50"),
    }
    assert account_open_pipeline(uow(factory, admin), make_account(factory, admin, name="Leer AG").id) == {}


def test_contact_deals_list_the_role_open_first(factory: sessionmaker[Session], admin: Actor) -> None:
    account = make_account(factory, admin)
    contact = make_contact(factory, admin, account_id=account.id)
    closed = make_opportunity(factory, admin, account_id=account.id, name="Altprojekt", expected_close_date="2026-01-31")
    current = make_opportunity(factory, admin, account_id=account.id, name="Neue Linie", expected_close_date="2027-03-31")
    make_opportunity(factory, admin, account_id=account.id, name="Ohne diesen Kontakt")
    add_contact_role(uow(factory, admin), closed.id, contact_id=contact.id, role="Einkauf")
    add_contact_role(uow(factory, admin), current.id, contact_id=contact.id, role="Entscheider", is_primary=True)
    reason = list_reasons(uow(factory, admin), "lost")[0]
    lose_opportunity(uow(factory, admin), closed.id, expected_version=closed.version, reason_id=reason.id)

    rows = contact_opportunities(uow(factory, admin), contact.id)
    assert list(rows["name"]) == ["Neue Linie", "Altprojekt"], "open deals first"
    assert list(rows["role"]) == ["Entscheider", "Einkauf"]
    assert list(rows["is_primary"]) == [True, False]
    assert list(rows["status"]) == ["open", "lost"]
    assert list(rows["probability"]) == [10, 0]
    assert contact_opportunities(uow(factory, admin), make_contact(factory, admin, last_name="Neu").id).empty


def test_change_log_holds_the_deal_and_its_contact_roles(factory: sessionmaker[Session], admin: Actor) -> None:
    account = make_account(factory, admin)
    contact = make_contact(factory, admin, account_id=account.id)
    opp = make_opportunity(factory, admin, account_id=account.id)
    other = make_opportunity(factory, admin, account_id=account.id, name="Andere")
    update_opportunity(uow(factory, admin), opp.id, {"next_step": "Demo"}, expected_version=opp.version, reason="Termin")
    add_contact_role(uow(factory, admin), opp.id, contact_id=contact.id, role="Technik")
    add_contact_role(uow(factory, admin), other.id, contact_id=contact.id, role="Einkauf")

    log = opportunity_change_log(uow(factory, admin), opp.id)
    entries = log.entries
    assert log.verification.ok and log.verification.checked == len(entries)
    assert set(entries["entity"]) == {"opportunity", "opportunity_contact"}
    assert {"Technik"} == set(entries.loc[entries["field"] == "role", "new_value"]), "only this deal's roles"
    newest = entries.iloc[0]
    assert (newest["entity"], newest["action"]) == ("opportunity_contact", "created")
    edit = entries[(entries["action"] == "updated") & (entries["field"] == "next_step")]
    assert list(zip(edit["new_value"], edit["reason"])) == [("Demo", "Termin")]


def test_reads_need_the_read_permission(factory: sessionmaker[Session]) -> None:
    nobody = Actor(user_id=None, name="api:leer", scopes=frozenset({"accounts.read"}))
    for read in (
        lambda: account_open_pipeline(uow(factory, nobody), 1),
        lambda: contact_opportunities(uow(factory, nobody), 1),
        lambda: opportunity_change_log(uow(factory, nobody), 1),
    ):
        with pytest.raises(PermissionDenied, match="Verkaufschancen ansehen"):
            read()


def test_stage_history_of_a_new_deal(factory: sessionmaker[Session], admin: Actor) -> None:
    """Only the "created" row: no earlier stage to compare with, nothing is a backward move."""
    opp = make_opportunity(factory, admin, account_id=make_account(factory, admin).id)
    rows = stage_history(uow(factory, admin), opp.id)
    assert list(rows["kind"]) == ["created"]
    assert list(rows["backward"]) == [False]
