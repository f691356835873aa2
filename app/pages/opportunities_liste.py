"""Verkaufschancen: the deal list (filters, saved views, bulk stage and owner changes, export) and the
"Neue Verkaufschance" form, which opens the new deal's page after saving."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.fields import widget_key
from app.components.i18n import t
from app.components.links import open_opportunity
from app.components.list_report import BulkFormAction, BulkOutcome, Column, ListFilter, ListReport
from app.components.object_page import EditForm, Versioned
from app.components.opportunity_form import (
    STATUSES,
    create_fields,
    find_stage,
    label,
    reason_inputs,
    stage_choices,
    status_label,
)
from core.errors import DomainError, ValidationFailed
from core.listing import ListQuery, Page
from core.sales.opportunities import DEFAULT_SORT, LEAD_SOURCES, create_opportunity, move_stage, update_opportunity

NS = "opp_list"
NEW = "opp_new"
CREATE_PENDING = f"{NS}__create_pending"
# Other pages open the form for a company (account page) or the list filtered (board: ?stage_id=…).
PRESET_ACCOUNT = f"{NS}__new_for_account"
CREATED = f"{NS}__created"
# Errors that concern the dialog's input itself (the reason), not a single row: the dialog shows them.
DIALOG_FIELDS = frozenset({"won_reason_id", "lost_reason_id", "close_reason_text"})

actor = context.current_actor()
owners = queries.owner_choices()
teams = queries.team_choices()
pipelines = queries.pipelines()
pipeline_names = {p.id: p.name for p in pipelines}


def go_to_created() -> None:
    created = st.session_state.pop(CREATED, None)
    if created is not None:
        open_opportunity(created)


go_to_created()


def take_link_filters() -> None:
    """`?pipeline_id=…&stage_id=…` (e.g. from the board's "Mehr …") preset the filters once."""
    params = st.query_params
    for name in ("pipeline_id", "stage_id"):
        raw = params.get(name)
        if raw is not None and str(raw).isdigit():
            st.session_state[f"{NS}__filter_{name}"] = [int(raw)]
            st.session_state[f"{NS}__filter_status"] = []  # a won or lost lane's deals are not open
            st.session_state.setdefault(f"{NS}__view", None)  # an explicit link wins over the default view
            del params[name]


def valid_stage_filter() -> dict[int, str]:
    """Stage options for the chosen pipelines; stages of pipelines no longer chosen leave the filter."""
    chosen = st.session_state.get(f"{NS}__filter_pipeline_id") or []
    options = stage_choices(pipelines, chosen)
    key = f"{NS}__filter_stage_id"
    if key in st.session_state:
        st.session_state[key] = [s for s in st.session_state[key] or [] if s in options]
    return options


def fetch(query: ListQuery) -> Page:
    """The service's page with status in words and the weighted amount (amount × probability)."""
    page = queries.opportunities_page(query)
    rows = page.rows.copy()
    if not rows.empty:
        rows["weighted_amount"] = [
            (Decimal(a) * int(p) / Decimal(100)).quantize(Decimal("0.01"))
            for a, p in zip(rows["amount"], rows["probability"])
        ]
        rows["status"] = rows["status"].map(status_label)
    else:
        rows["weighted_amount"] = pd.Series(dtype=object)
    return Page(rows, page.total, page.page, page.page_size)


def row_label(row: pd.Series) -> str:
    return f"{row['name']} · {row['account_name']}"


# Bulk actions ------------------------------------------------------------------------------------
def row_error(exc: DomainError) -> str:
    """The service's message for one row (a validation error by its field messages)."""
    return "; ".join(exc.fields.values()) if isinstance(exc, ValidationFailed) and exc.fields else exc.message


def stage_fields(prefix: str) -> Mapping[str, Any]:
    stages = stage_choices(pipelines)
    stage_id = st.selectbox(
        t("opp.bulk_target_stage"),
        list(stages),
        index=None,
        format_func=stages.get,
        placeholder=t("common.choose"),
        key=f"{prefix}__stage",
    )
    stage = find_stage(pipelines, stage_id) if stage_id is not None else None
    reason_id, text = reason_inputs(prefix, stage.kind) if stage and not stage.is_open else (None, None)
    return {"stage": stage, "reason_id": reason_id, "reason_text": text}


def move_rows(ids: list[int], values: Mapping[str, Any]) -> BulkOutcome:
    stage = values["stage"]
    if stage is None:
        raise ValidationFailed({"stage_id": t("opp.bulk_choose_stage")})
    failures: dict[int, str] = {}
    for opportunity_id in ids:
        try:
            move_stage(
                context.uow(),
                opportunity_id,
                stage_id=stage.id,
                expected_version=None,
                reason_id=values["reason_id"],
                reason_text=values["reason_text"],
                note=t("opp.bulk_note"),
            )
        except ValidationFailed as exc:
            if DIALOG_FIELDS & set(exc.fields):
                raise  # the reason is missing or wrong: no row can succeed with this input
            failures[opportunity_id] = row_error(exc)
        except DomainError as exc:
            failures[opportunity_id] = row_error(exc)
    moved = len(ids) - len(failures)
    return BulkOutcome(t("opp.bulk_moved", n=moved, stage=stage.name), failures)


def owner_fields(prefix: str) -> Mapping[str, Any]:
    owner_id = st.selectbox(
        t("opp.bulk_new_owner"),
        list(owners),
        index=None,
        format_func=lambda i: owners.get(i, str(i)),
        placeholder=t("common.choose"),
        key=f"{prefix}__owner",
    )
    return {"owner_id": owner_id}


def reassign_rows(ids: list[int], values: Mapping[str, Any]) -> BulkOutcome:
    owner_id = values["owner_id"]
    if owner_id is None:
        raise ValidationFailed({"owner_id": t("opp.bulk_choose_owner")})
    failures: dict[int, str] = {}
    for opportunity_id in ids:
        try:
            update_opportunity(
                context.uow(), opportunity_id, {"owner_id": owner_id}, expected_version=None, reason=t("opp.bulk_note")
            )
        except DomainError as exc:
            failures[opportunity_id] = row_error(exc)
    return BulkOutcome(t("opp.bulk_reassigned", n=len(ids) - len(failures), owner=owners.get(owner_id, "")), failures)


# "Neue Verkaufschance" ----------------------------------------------------------------------------
def create(values: dict[str, Any], _version: int | None, reason: str | None) -> Versioned:
    return create_opportunity(context.uow(), values, reason=reason)


def remember(view: Versioned) -> None:
    st.session_state.pop(CREATE_PENDING, None)
    st.session_state[CREATED] = view.id
    queries.clear_reads()


def create_dialog() -> None:
    default = next((p for p in pipelines if p.is_default), pipelines[0])
    pipeline_key = widget_key(NEW, "pipeline_id")
    pipeline_id = st.session_state.get(pipeline_key) or default.id
    pipeline = next(p for p in pipelines if p.id == pipeline_id)
    stage_key = widget_key(NEW, "stage_id")
    if stage_key in st.session_state and st.session_state[stage_key] not in {s.id for s in pipeline.stages}:
        st.session_state[stage_key] = pipeline.open_stages[0].id  # the pipeline changed: start at its first stage

    @st.dialog(t("opp.new"), width="large", on_dismiss=lambda: st.session_state.pop(CREATE_PENDING, None))
    def _dialog() -> None:
        st.caption(t("opp.new_help"))
        preset: dict[str, Any] = {
            "pipeline_id": default.id,
            "stage_id": default.open_stages[0].id,
            "currency": "EUR",
            "owner_id": actor.user_id if actor.user_id in owners else None,
            "account_id": st.session_state.get(PRESET_ACCOUNT),
        }
        EditForm(
            ns=NEW,
            fields=create_fields(pipelines, pipeline_id, owners),
            save=create,
            submit_label=t("opp.create"),
            on_saved=remember,
            live=True,
        ).render(record_id=None, version=None, values=preset)
        go_to_created()  # the save ran in the dialog's own rerun

    _dialog()


# Page ---------------------------------------------------------------------------------------------
title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title(f":material/handshake: {t('page.opportunities')}")
may_write = actor.can("opportunities.write") and bool(pipelines)  # no active pipeline: nothing to create in
if may_write and new_col.button(t("opp.new"), key=f"{NS}__new", type="primary", icon=":material/add:", width="stretch"):
    st.session_state[CREATE_PENDING] = True
    st.session_state[PRESET_ACCOUNT] = None
    st.session_state.pop(f"{NEW}__loaded", None)  # a fresh form
if may_write and st.session_state.get(CREATE_PENDING):
    create_dialog()

take_link_filters()
stage_options = valid_stage_filter()
status_names = {s: status_label(s) for s in STATUSES}
ListReport(
    ns=NS,
    noun=t("opp.plural"),
    columns=[
        Column("id", t("list.id"), "int", sortable=True, visible=False),
        Column("name", label("name"), sortable=True),
        Column("account_name", label("account_id"), sortable=True, min_width=130),
        Column("stage_name", label("stage_id"), sortable=True, min_width=100),
        # Status and probability are under "Spalten": the stage says both (Gewonnen, Verloren; the weighted amount).
        Column("status", t("opp.status"), visible=False),
        Column("amount", label("amount"), "money", sortable=True),
        Column("probability", t("opp.probability"), "whole_percent", visible=False),
        Column("weighted_amount", t("opp.weighted_amount"), "money", min_width=135),
        Column("expected_close_date", label("expected_close_date"), "date", sortable=True, min_width=115),
        Column("owner_name", label("owner_id"), sortable=True, min_width=110),
        Column("lead_source", label("lead_source"), visible=False),
        Column("updated_at", t("common.updated_at"), "datetime", sortable=True, visible=False),
    ],
    fetch=fetch,
    row_label=row_label,
    open_record=open_opportunity,
    filters=[
        ListFilter("pipeline_id", label("pipeline_id"), list(pipeline_names), format_func=pipeline_names.get),
        ListFilter("stage_id", label("stage_id"), list(stage_options), format_func=stage_options.get),
        ListFilter("status", t("opp.status"), STATUSES, format_func=status_names.get, width=1.6),
        ListFilter("owner_id", label("owner_id"), list(owners), format_func=lambda i: owners.get(i, str(i))),
        ListFilter(
            "team_id", t("opp.team"), list(teams), format_func=lambda i: teams.get(i, str(i)), kind="select", more=True
        ),
        ListFilter("lead_source", label("lead_source"), LEAD_SOURCES, more=True),
        ListFilter("close_from", t("opp.close_from"), kind="date", more=True),
        ListFilter("close_to", t("opp.close_to"), kind="date", more=True),
        ListFilter("amount_min", t("opp.amount_min"), kind="number", more=True),
        ListFilter("amount_max", t("opp.amount_max"), kind="number", more=True),
    ],
    bulk_form_actions=[
        BulkFormAction(
            "move",
            t("opp.bulk_move"),
            ":material/move_down:",
            t("opp.bulk_move_title"),
            t("opp.bulk_move_text"),
            stage_fields,
            move_rows,
            labels={
                "stage_id": label("stage_id"),
                "won_reason_id": t("opp.won_reason"),
                "lost_reason_id": t("opp.lost_reason"),
                "close_reason_text": t("opp.reason_text"),
            },
        ),
        BulkFormAction(
            "owner",
            t("opp.bulk_owner"),
            ":material/person_edit:",
            t("opp.bulk_owner_title"),
            t("opp.bulk_owner_text"),
            owner_fields,
            reassign_rows,
            labels={"owner_id": label("owner_id")},
        ),
    ]
    if may_write
    else [],
    export_name="verkaufschancen",
    search_placeholder=t("opp.search_placeholder"),
    empty_hint=t("opp.empty"),
    default_sort=DEFAULT_SORT,
    # Like HubSpot's and Salesforce's deal lists: the open deals, the next close dates (and the overdue ones) first.
    default_filters={"status": ["open"]},
    default_view_label=t("opp.default_view"),
    saved_views=actor.user_id is not None,
).render()
