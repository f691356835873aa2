"""What the opportunity pages share: the deal's form fields, stage and status
labels, and the won/lost reason inputs (list bulk action, detail page dialogs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import streamlit as st

from app.components import queries
from app.components.fields import FormField
from app.components.i18n import current_lang, t
from core.formatting import fmt_number
from core.sales.opportunities import CURRENCIES, LEAD_SOURCES
from core.sales.pipelines import FORECAST_LABELS, PipelineView, StageView
from db.models.sales import FORECAST_CATEGORIES

STATUSES = ("open", "won", "lost")


def label(name: str) -> str:
    return t(f"field.opportunity.{name}")


def status_label(status: str) -> str:
    return t(f"opp.status_{status}")


def stage_choices(pipelines: Sequence[PipelineView], pipeline_ids: Sequence[int] = ()) -> dict[int, str]:
    """Stages of the given pipelines (all without), named with their pipeline when several are shown."""
    shown = [p for p in pipelines if not pipeline_ids or p.id in pipeline_ids]
    several = len(shown) > 1
    return {s.id: f"{p.name} · {s.name}" if several else s.name for p in shown for s in p.stages}


def find_stage(pipelines: Sequence[PipelineView], stage_id: int) -> StageView | None:
    return next((s for p in pipelines for s in p.stages if s.id == stage_id), None)


def amount_text(amount: Decimal | None) -> str:
    """An amount as the edit form shows it: German, e.g. "48.000,00"."""
    return "" if amount is None else fmt_number(amount, "de", digits=2)


def _owner_field(owners: Mapping[int, str]) -> FormField:
    return FormField("owner_id", label("owner_id"), "select", list(owners), format_func=lambda i: owners.get(i, str(i)))


def _common_fields() -> list[FormField]:
    return [
        FormField("amount", label("amount"), placeholder="48.000,00", help=t("opp.amount_help")),
        FormField("currency", label("currency"), "select", CURRENCIES, required=True),
        FormField("expected_close_date", label("expected_close_date"), "date", future=True),
    ]


def create_fields(
    pipelines: Sequence[PipelineView], pipeline_id: int, owners: Mapping[int, str]
) -> list[FormField]:
    """The "Neue Verkaufschance" form; the stage choice follows the chosen pipeline."""
    names = {p.id: p.name for p in pipelines}
    stages = stage_choices(pipelines, [pipeline_id])
    return [
        FormField("name", label("name"), required=True, placeholder=t("opp.name_placeholder")),
        FormField("account_id", label("account_id"), "lookup", required=True, lookup=queries.account_search),
        FormField("pipeline_id", label("pipeline_id"), "select", list(names), format_func=names.get, required=True),
        FormField("stage_id", label("stage_id"), "select", list(stages), format_func=stages.get, required=True),
        *_common_fields(),
        _owner_field(owners),
        FormField("lead_source", label("lead_source"), "select", LEAD_SOURCES),
        FormField("campaign", label("campaign")),
        FormField("competitor", label("competitor")),
        FormField("next_step", label("next_step"), "textarea"),
    ]


def edit_fields(owners: Mapping[int, str], stage_probability: int, stage_category: str) -> list[FormField]:
    """The detail page's form; empty overrides mean "the stage's default" (shown in the help)."""
    lang = current_lang()
    return [
        FormField("name", label("name"), required=True),
        FormField("account_id", label("account_id"), "lookup", required=True, lookup=queries.account_search),
        *_common_fields(),
        _owner_field(owners),
        FormField(
            "probability_override",
            label("probability_override"),
            "int",
            help=t("opp.probability_override_help", value=fmt_number(stage_probability, lang)),
        ),
        FormField(
            "forecast_category_override",
            label("forecast_category_override"),
            "select",
            FORECAST_CATEGORIES,
            format_func=FORECAST_LABELS.get,
            help=t("opp.forecast_override_help", value=FORECAST_LABELS[stage_category]),
        ),
        FormField("lead_source", label("lead_source"), "select", LEAD_SOURCES),
        FormField("campaign", label("campaign")),
        FormField("competitor", label("competitor")),
        FormField("external_id", label("external_id")),
        FormField("next_step", label("next_step"), "textarea"),
        FormField("description", label("description"), "textarea"),
    ]


def reason_inputs(prefix: str, kind: str) -> tuple[int | None, str | None]:
    """Reason select (lost: required; won: optional) and free text, required for reasons like „Sonstiges“."""
    reasons = {r.id: r for r in queries.deal_reasons(kind)}
    required = kind == "lost"
    options: list[int | None] = list(reasons) if required else [None, *reasons]
    reason_id = st.selectbox(
        t(f"opp.{kind}_reason") + (" *" if required else ""),
        options,
        index=None if required else 0,
        format_func=lambda i: t("common.not_set") if i is None else reasons[i].label,
        placeholder=t("common.choose"),
        key=f"{prefix}__reason",
    )
    needs_text = reason_id is not None and reasons[reason_id].needs_text
    text = st.text_area(
        t("opp.reason_text") + (" *" if needs_text else ""),
        key=f"{prefix}__reason_text",
        height=80,
        max_chars=500,
        help=t("opp.reason_text_help"),
    )
    return reason_id, (text or "").strip() or None
