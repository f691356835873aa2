"""Deals seen from other pages: a contact's deals, an account's open pipeline, a deal's change log.

Reads only, each behind `opportunities.read`.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from core import audit
from core.addresses import ChangeLog
from core.uow import UnitOfWork
from db.models import Account, Opportunity, OpportunityContact, PipelineStage, User

CONTACT_DEAL_COLUMNS = (
    "id",
    "name",
    "account_name",
    "stage_name",
    "status",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "owner_name",
    "role",
    "is_primary",
)


def contact_opportunities(uow: UnitOfWork, contact_id: int) -> pd.DataFrame:
    """The deals in which the contact holds a role, open ones first, then by close date."""
    with uow:
        uow.authorize("opportunities.read")
        owner = aliased(User)
        probability = case(
            (PipelineStage.kind == "open", func.coalesce(Opportunity.probability_override, PipelineStage.probability)),
            else_=PipelineStage.probability,
        )
        stmt = (
            select(
                Opportunity.id,
                Opportunity.name,
                Account.name.label("account_name"),
                PipelineStage.name.label("stage_name"),
                Opportunity.status,
                Opportunity.amount,
                Opportunity.currency,
                probability.label("probability"),
                Opportunity.expected_close_date,
                owner.display_name.label("owner_name"),
                OpportunityContact.role,
                OpportunityContact.is_primary,
            )
            .join(OpportunityContact, OpportunityContact.opportunity_id == Opportunity.id)
            .join(Account, Account.id == Opportunity.account_id)
            .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
            .outerjoin(owner, owner.id == Opportunity.owner_id)
            .where(OpportunityContact.contact_id == contact_id)
            .order_by((Opportunity.status != "open"), Opportunity.expected_close_date, Opportunity.id)
        )
        return pd.DataFrame(uow.session.execute(stmt).mappings().all(), columns=list(CONTACT_DEAL_COLUMNS))


def account_open_pipeline(uow: UnitOfWork, account_id: int) -> dict[str, Decimal]:
    """Sum of the open deals' amounts per currency (EUR and CHF are never added up)."""
    with uow:
        uow.authorize("opportunities.read")
        stmt = (
            select(Opportunity.currency, func.sum(Opportunity.amount))
            .where(Opportunity.account_id == account_id, Opportunity.status == "open")
            .group_by(Opportunity.currency)
            .order_by(Opportunity.currency)
        )
        return {currency: Decimal(total) for currency, total in uow.session.execute(stmt)}


def opportunity_change_log(uow: UnitOfWork, opportunity_id: int, *, limit: int = 1_000) -> ChangeLog:
    """Änderungsprotokoll of a deal and its current contact roles, newest first, with a verification of
    exactly the entries returned (`audit.verify_entries_shown`). A removed role's entries stay in the
    global audit log; finding them here would mean scanning every role entry of every deal."""
    with uow:
        uow.authorize("opportunities.read")
        role_ids = uow.session.scalars(
            select(OpportunityContact.id).where(OpportunityContact.opportunity_id == opportunity_id)
        ).all()
        entries = audit.trail(
            uow.session,
            records={"opportunity": [opportunity_id], "opportunity_contact": list(role_ids)},
            limit=limit,
        )
        verification = audit.verify_entries_shown(uow.session, [int(i) for i in entries["id"]])
        return ChangeLog(entries, verification)
