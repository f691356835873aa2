from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.permissions import Actor
from core.sales.opportunities import OpportunityView, create_opportunity
from core.sales.pipelines import PipelineView, list_pipelines
from core.uow import Clock, UnitOfWork, utc_now


def pipelines(factory: sessionmaker[Session], actor: Actor) -> dict[str, PipelineView]:
    """The reference pipelines the migration installs, by name (Neugeschäft, Bestandskunden)."""
    return {p.name: p for p in list_pipelines(UnitOfWork(factory, actor=actor))}


def stage_ids(factory: sessionmaker[Session], actor: Actor, pipeline: str = "Neugeschäft") -> dict[str, int]:
    return {s.name: s.id for s in pipelines(factory, actor)[pipeline].stages}


def make_opportunity(
    factory: sessionmaker[Session], actor: Actor, *, account_id: int, clock: Clock = utc_now, **values: Any
) -> OpportunityView:
    data = {"name": "Fräsmaschinen Ersatzinvestition", "account_id": account_id, "amount": "48000"} | values
    return create_opportunity(UnitOfWork(factory, actor=actor, clock=clock), data)
