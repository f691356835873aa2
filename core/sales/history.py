"""The stage history of deals: the append-only `opportunity_stage_events` table, written and read here.

It is the single source for funnel conversion, time in stage, backward moves and slipped close dates;
no report reconstructs history any other way (`core/sales/funnel.py` reads this table, plus the live
deals only for the cohort filter and their current amount, which equals the amount at their newest row).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.sales.pipelines import StageView, effective_probability
from core.uow import UnitOfWork
from db.models import Opportunity, OpportunityStageEvent, PipelineStage, User

KIND_LABELS = {
    "created": "angelegt",
    "moved": "Phase gewechselt",
    "won": "gewonnen",
    "lost": "verloren",
    "reopened": "wiedereröffnet",
    "revised": "Werte geändert",
}


def record_stage_event(
    uow: UnitOfWork,
    opp: Opportunity,
    *,
    kind: str,
    from_stage: StageView | None,
    to_stage: StageView,
) -> None:
    """Append one history row with the deal's values at this moment (inside the caller's transaction)."""
    uow.session.add(
        OpportunityStageEvent(
            opportunity_id=opp.id,
            pipeline_id=to_stage.pipeline_id,
            kind=kind,
            from_stage_id=from_stage.id if from_stage else None,
            to_stage_id=to_stage.id,
            occurred_at=uow.now,
            amount=opp.amount,
            currency=opp.currency,
            probability=effective_probability(to_stage, opp.probability_override),
            expected_close_date=opp.expected_close_date,
            actor_id=uow.actor.user_id,
        )
    )
    uow.session.flush()


def last_open_stage_id(uow: UnitOfWork, opportunity_id: int) -> int | None:
    """The open stage a closed deal was in before it was closed (for reopening it there)."""
    stmt = (
        select(OpportunityStageEvent.to_stage_id)
        .join(PipelineStage, PipelineStage.id == OpportunityStageEvent.to_stage_id)
        .where(OpportunityStageEvent.opportunity_id == opportunity_id, PipelineStage.kind == "open")
        .order_by(OpportunityStageEvent.id.desc())
        .limit(1)
    )
    return uow.session.scalar(stmt)


def stage_history(uow: UnitOfWork, opportunity_id: int) -> pd.DataFrame:
    """Every history row of a deal, oldest first, with stage names, who, and how long the stage lasted.

    Columns: id, kind, kind_label, from_stage, to_stage, occurred_at, left_at, days, amount, currency,
    probability, expected_close_date, actor_name, backward (a move to an earlier stage), slipped
    (the close date moved later than at the previous row).
    """
    with uow:
        uow.authorize("opportunities.read")
        source, target, actor = aliased(PipelineStage), aliased(PipelineStage), aliased(User)
        stmt = (
            select(
                OpportunityStageEvent.id,
                OpportunityStageEvent.kind,
                source.name.label("from_stage"),
                source.position.label("from_position"),
                target.name.label("to_stage"),
                target.position.label("to_position"),
                target.kind.label("to_kind"),
                OpportunityStageEvent.occurred_at,
                OpportunityStageEvent.amount,
                OpportunityStageEvent.currency,
                OpportunityStageEvent.probability,
                OpportunityStageEvent.expected_close_date,
                actor.display_name.label("actor_name"),
            )
            .join(target, target.id == OpportunityStageEvent.to_stage_id)
            .outerjoin(source, source.id == OpportunityStageEvent.from_stage_id)
            .outerjoin(actor, actor.id == OpportunityStageEvent.actor_id)
            .where(OpportunityStageEvent.opportunity_id == opportunity_id)
            .order_by(OpportunityStageEvent.id)
        )
        rows = pd.DataFrame(uow.session.execute(stmt).mappings().all())
        now = uow.now
    if rows.empty:
        return rows
    rows["kind_label"] = rows["kind"].map(KIND_LABELS)
    changes = rows[rows["kind"] != "revised"]
    left = changes["occurred_at"].shift(-1)
    rows["left_at"] = left.reindex(rows.index)
    rows.loc[changes.index, "days"] = (left.fillna(now) - changes["occurred_at"]).dt.days
    # from_position is all None for a deal with only its "created" row: compare as numbers (NaN never smaller)
    rows["backward"] = (rows["kind"] == "moved") & (rows["to_position"] < rows["from_position"].astype(float))
    previous_close = rows["expected_close_date"].shift(1)
    rows["slipped"] = rows["expected_close_date"].notna() & previous_close.notna() & (
        rows["expected_close_date"] > previous_close
    )
    rows["actor_name"] = rows["actor_name"].fillna("System")
    return rows.drop(columns=["from_position", "to_position"])
