"""Two people edit the same record: the second save gets a conflict, nothing is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.accounts import get_account, update_account
from core.contacts import get_contact
from core.errors import Conflict
from core.permissions import Role
from core.uow import UnitOfWork
from db.models import Contact
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user


def test_second_save_with_stale_version_is_rejected(factory: sessionmaker[Session]) -> None:
    anna = make_user(factory, Role.SALES_MANAGER).actor()
    ben = make_user(factory, Role.SALES_MANAGER).actor()
    account = make_account(factory, anna)
    seen_by_anna = get_account(UnitOfWork(factory, actor=anna), account.id)
    seen_by_ben = get_account(UnitOfWork(factory, actor=ben), account.id)

    update_account(UnitOfWork(factory, actor=anna), account.id, {"phone": "+49 221 123456"}, expected_version=seen_by_anna.version)
    with pytest.raises(Conflict, match="inzwischen von jemand anderem geändert"):
        update_account(UnitOfWork(factory, actor=ben), account.id, {"city": "Bonn"}, expected_version=seen_by_ben.version)

    now = get_account(UnitOfWork(factory, actor=anna), account.id)
    assert now.phone == "+49 221 123456", "the first save survives"
    assert now.city == "Köln", "the stale save changed nothing"
    assert now.version == 2


def test_concurrent_update_between_read_and_flush_is_a_conflict(factory: sessionmaker[Session]) -> None:
    """Even without an expected version, the version column guards the UPDATE itself."""
    admin = make_user(factory).actor()
    contact = make_contact(factory, admin, city="Essen")
    uow = UnitOfWork(factory, actor=admin)
    with pytest.raises(Conflict):
        with uow:
            row = uow.session.get(Contact, contact.id)
            assert row is not None
            # Another writer bumps the version after we read the row (simulated in SQL).
            uow.session.execute(
                update(Contact).where(Contact.id == contact.id).values(version=Contact.version + 1),
                execution_options={"synchronize_session": False},
            )
            row.city = "Dortmund"
            uow.session.flush()
    assert get_contact(UnitOfWork(factory, actor=admin), contact.id).city == "Essen"
