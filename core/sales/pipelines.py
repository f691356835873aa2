"""Pipelines, their stages and the won/lost reasons: read for every page, configured by admins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select

from core.errors import NotFound, ValidationFailed
from core.records import create_record, update_record
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import DealReason, Pipeline, PipelineStage
from db.models.sales import FORECAST_CATEGORIES

FORECAST_LABELS = {
    "pipeline": "Pipeline",
    "best_case": "Best Case",
    "commit": "Commit",
    "closed": "Abgeschlossen",
    "omitted": "Ausgelassen",
}
assert set(FORECAST_LABELS) == set(FORECAST_CATEGORIES)


@dataclass(frozen=True)
class StageView:
    id: int
    pipeline_id: int
    name: str
    position: int
    kind: str
    probability: int
    forecast_category: str
    stale_after_days: int | None
    version: int

    @property
    def is_open(self) -> bool:
        return self.kind == "open"


@dataclass(frozen=True)
class PipelineView:
    id: int
    name: str
    is_default: bool
    stages: tuple[StageView, ...]

    @property
    def open_stages(self) -> tuple[StageView, ...]:
        return tuple(s for s in self.stages if s.is_open)

    def stage(self, stage_id: int) -> StageView:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise NotFound(f"Phase {stage_id} gehört nicht zur Pipeline „{self.name}“.")

    def closing_stage(self, kind: Literal["won", "lost"]) -> StageView:
        return next(s for s in self.stages if s.kind == kind)


@dataclass(frozen=True)
class ReasonView:
    id: int
    kind: str
    label: str
    needs_text: bool
    is_active: bool


def effective_probability(stage: StageView | PipelineStage, override: int | None) -> int:
    """The stage default until a user overrides it; closed stages are always 100 % / 0 %."""
    return override if override is not None and stage.kind == "open" else stage.probability


def effective_forecast_category(stage: StageView | PipelineStage, override: str | None) -> str:
    return override if override is not None and stage.kind == "open" else stage.forecast_category


def stage_view(stage: PipelineStage) -> StageView:
    return StageView(
        id=stage.id,
        pipeline_id=stage.pipeline_id,
        name=stage.name,
        position=stage.position,
        kind=stage.kind,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        stale_after_days=stage.stale_after_days,
        version=stage.version,
    )


def load_pipelines(uow: UnitOfWork, *, include_inactive: bool = False) -> list[PipelineView]:
    """All pipelines with their stages in order, inside an open unit of work."""
    stmt = select(Pipeline).order_by(Pipeline.position, Pipeline.id)
    if not include_inactive:
        stmt = stmt.where(Pipeline.is_active.is_(True))
    pipelines = uow.session.scalars(stmt).all()
    stages = uow.session.scalars(select(PipelineStage).order_by(PipelineStage.pipeline_id, PipelineStage.position)).all()
    return [
        PipelineView(
            id=p.id,
            name=p.name,
            is_default=p.is_default,
            stages=tuple(stage_view(s) for s in stages if s.pipeline_id == p.id),
        )
        for p in pipelines
    ]


def load_pipeline(uow: UnitOfWork, pipeline_id: int) -> PipelineView:
    for pipeline in load_pipelines(uow, include_inactive=True):
        if pipeline.id == pipeline_id:
            return pipeline
    raise NotFound(f"Pipeline {pipeline_id} gibt es nicht.")


def default_pipeline(uow: UnitOfWork) -> PipelineView:
    pipelines = load_pipelines(uow)
    if not pipelines:
        raise NotFound("Es ist keine Pipeline eingerichtet.")
    return next((p for p in pipelines if p.is_default), pipelines[0])


def list_pipelines(uow: UnitOfWork) -> list[PipelineView]:
    with uow:
        uow.authorize("opportunities.read")
        return load_pipelines(uow)


def list_reasons(uow: UnitOfWork, kind: Literal["won", "lost"], *, include_inactive: bool = False) -> list[ReasonView]:
    with uow:
        uow.authorize("opportunities.read")
        return load_reasons(uow, kind, include_inactive=include_inactive)


def load_reasons(uow: UnitOfWork, kind: str, *, include_inactive: bool = False) -> list[ReasonView]:
    stmt = select(DealReason).where(DealReason.kind == kind).order_by(DealReason.position, DealReason.id)
    if not include_inactive:
        stmt = stmt.where(DealReason.is_active.is_(True))
    return [ReasonView(r.id, r.kind, r.label, r.needs_text, r.is_active) for r in uow.session.scalars(stmt)]


class StageInput(InputModel):
    name: str = Field(min_length=2, max_length=100)
    probability: int = Field(ge=0, le=100)
    forecast_category: Literal[FORECAST_CATEGORIES]  # type: ignore[valid-type]
    stale_after_days: int | None = Field(default=None, ge=1, le=365)


STAGE_FIELDS = tuple(StageInput.model_fields)


def update_stage(
    uow: UnitOfWork, stage_id: int, values: Mapping[str, Any], *, expected_version: int | None
) -> StageView:
    """Rename a stage or change its defaults (probability, forecast category, stale threshold)."""
    with uow:
        uow.authorize("sales.configure")
        stage = uow.session.get(PipelineStage, stage_id)
        if stage is None:
            raise NotFound(f"Phase {stage_id} gibt es nicht.")
        data = parse(StageInput, {f: getattr(stage, f) for f in STAGE_FIELDS} | dict(values))
        if stage.kind != "open" and data.probability != stage.probability:
            raise ValidationFailed({"probability": "ist bei Gewonnen (100 %) und Verloren (0 %) fest"})
        update_record(uow, stage, data.model_dump(), entity="pipeline_stage", expected_version=expected_version)
        view = stage_view(stage)
        uow.commit()
        return view


class ReasonInput(InputModel):
    kind: Literal["won", "lost"]
    label: str = Field(min_length=2, max_length=100)
    needs_text: bool = False
    is_active: bool = True


def create_reason(uow: UnitOfWork, values: Mapping[str, Any]) -> ReasonView:
    data = parse(ReasonInput, values)
    with uow:
        uow.authorize("sales.configure")
        _check_unique_label(uow, data.kind, data.label)
        position = len(load_reasons(uow, data.kind, include_inactive=True)) + 1
        reason = create_record(
            uow,
            DealReason(**data.model_dump(), position=position, version=1),
            entity="deal_reason",
            fields=tuple(ReasonInput.model_fields),
        )
        uow.commit()
        return ReasonView(reason.id, reason.kind, reason.label, reason.needs_text, reason.is_active)


def update_reason(
    uow: UnitOfWork, reason_id: int, values: Mapping[str, Any], *, expected_version: int | None = None
) -> ReasonView:
    """Rename, require free text or deactivate a reason (deals that used it keep it)."""
    with uow:
        uow.authorize("sales.configure")
        reason = uow.session.get(DealReason, reason_id)
        if reason is None:
            raise NotFound(f"Grund {reason_id} gibt es nicht.")
        current = {f: getattr(reason, f) for f in ReasonInput.model_fields}
        data = parse(ReasonInput, current | dict(values) | {"kind": reason.kind})
        if data.label != reason.label:
            _check_unique_label(uow, reason.kind, data.label)
        update_record(uow, reason, data.model_dump(), entity="deal_reason", expected_version=expected_version)
        uow.commit()
        return ReasonView(reason.id, reason.kind, reason.label, reason.needs_text, reason.is_active)


def _check_unique_label(uow: UnitOfWork, kind: str, label: str) -> None:
    clash = uow.session.scalar(select(DealReason.id).where(DealReason.kind == kind, DealReason.label == label))
    if clash:
        raise ValidationFailed({"label": f"„{label}“ gibt es schon"})
