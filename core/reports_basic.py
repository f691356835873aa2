"""Master-data reports: key figures and accounts grouped by industry or city (aggregated in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import func, select

from core.uow import UnitOfWork
from db.models import Account, Contact

Dimension = Literal["industry", "city"]


@dataclass(frozen=True)
class MasterDataFigures:
    accounts: int
    contacts: int
    accounts_without_contacts: int
    contacts_without_account: int
    industries: int
    cities: int

    @property
    def contacts_per_account(self) -> float:
        return self.contacts / self.accounts if self.accounts else 0.0


def master_data_figures(uow: UnitOfWork) -> MasterDataFigures:
    with uow:
        uow.authorize("reports.read")
        session = uow.session
        has_contacts = select(Contact.id).where(Contact.account_id == Account.id).exists()
        return MasterDataFigures(
            accounts=session.scalar(select(func.count()).select_from(Account)) or 0,
            contacts=session.scalar(select(func.count()).select_from(Contact)) or 0,
            accounts_without_contacts=session.scalar(select(func.count()).where(~has_contacts).select_from(Account))
            or 0,
            contacts_without_account=session.scalar(select(func.count()).where(Contact.account_id.is_(None))) or 0,
            industries=session.scalar(select(func.count(func.distinct(Account.industry)))) or 0,
            cities=session.scalar(select(func.count(func.distinct(Account.city)))) or 0,
        )


def accounts_by(uow: UnitOfWork, dimension: Dimension, *, limit: int = 15) -> pd.DataFrame:
    """Columns label (None = not given), accounts, contacts; largest groups first, at most `limit` rows."""
    column = {"industry": Account.industry, "city": Account.city}[dimension]
    with uow:
        uow.authorize("reports.read")
        contacts = (
            select(Contact.account_id, func.count().label("n")).group_by(Contact.account_id).subquery()
        )
        stmt = (
            select(
                column.label("label"),
                func.count(Account.id).label("accounts"),
                func.coalesce(func.sum(contacts.c.n), 0).label("contacts"),
            )
            .outerjoin(contacts, contacts.c.account_id == Account.id)
            .group_by(column)
            .order_by(func.count(Account.id).desc(), column)
            .limit(limit)
        )
        rows = uow.session.execute(stmt).mappings().all()
        frame = pd.DataFrame(rows, columns=["label", "accounts", "contacts"])
        return frame.astype({"accounts": "int64", "contacts": "int64"})
