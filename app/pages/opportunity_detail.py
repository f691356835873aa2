"""Verkaufschance: one deal — key figures and the stage path, stage actions (move, won, lost, reopen),
the edit form with the probability/forecast overrides, contact roles, line items, quotes and orders,
the stage history, the change log and deletion."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.dialogs import confirm, delete_section
from app.components.feedback import flash, show_error
from app.components.history_view import ISO_DATE, change_log_downloads, counted, history_table, verification_badge
from app.components.i18n import current_lang, t, t_or
from app.components.links import OPPORTUNITY_ID_KEY, open_account, selected_id
from app.components.object_page import EditForm, Facet, object_header, object_sections
from app.components.opportunity_form import (
    amount_text,
    edit_fields,
    label,
    reason_inputs,
    status_label,
)
from app.components.quote_section import render_line_items, render_quotes
from core.errors import Conflict, DomainError
from core.formatting import fmt_date, fmt_datetime, fmt_money, fmt_number
from core.sales.contact_roles import ROLES, add_contact_role, remove_contact_role
from core.sales.opportunities import (
    OpportunityView,
    delete_opportunity,
    lose_opportunity,
    move_stage,
    reopen_opportunity,
    update_opportunity,
    win_opportunity,
)
from core.sales.pipelines import FORECAST_LABELS, PipelineView

NS = "opp_obj"
DATE_FIELDS = frozenset({"expected_close_date", "closed_date"})
CLOSING = f"{NS}__closing"  # the open stage dialog: "won", "lost" or "reopen"
lang = current_lang()
owners = queries.owner_choices()

REASON_LABELS = {
    "won_reason_id": t("opp.won_reason"),
    "lost_reason_id": t("opp.lost_reason"),
    "close_reason_text": t("opp.reason_text"),
}


PATH_CSS = """
<style>
.opp-path {display: flex; gap: 4px; margin: 0.25rem 0 0.75rem 0; flex-wrap: wrap;}
.opp-path span {flex: 1 1 0; min-width: 7rem; text-align: center; padding: 0.45rem 1.1rem 0.45rem 1.4rem;
  background: #eef0f4; color: #4a5263; font-size: 0.9rem; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis;
  clip-path: polygon(0 0, calc(100% - 12px) 0, 100% 50%, calc(100% - 12px) 100%, 0 100%, 12px 50%);}
.opp-path span:first-child {clip-path: polygon(0 0, calc(100% - 12px) 0, 100% 50%, calc(100% - 12px) 100%, 0 100%);
  padding-left: 0.9rem;}
.opp-path span.passed {background: #d6e4f5; color: #1d3b63;}
.opp-path span.current {background: #1f6feb; color: #fff; font-weight: 600;}
.opp-path span.won {background: #1a7f37; color: #fff; font-weight: 600;}
.opp-path span.lost {background: #c62828; color: #fff; font-weight: 600;}
</style>
"""


# Header ----------------------------------------------------------------------------------------
def pipeline_of(opp: OpportunityView) -> PipelineView | None:
    return next((p for p in queries.pipelines() if p.id == opp.pipeline_id), None)


def stage_path(opp: OpportunityView, pipeline: PipelineView | None) -> None:
    """All stages of the pipeline as chevrons: passed ones tinted, the current one highlighted."""
    stages = pipeline.stages if pipeline else ()
    cells = []
    for stage in stages:
        if stage.id == opp.stage_id:
            css = {"won": "won", "lost": "lost"}.get(stage.kind, "current")
        elif stage.is_open and opp.status == "open" and stage.position < opp.stage_position:
            css = "passed"
        else:
            css = ""
        marker = " ✓" if css in ("current", "won", "lost") else ""
        cells.append(f'<span class="{css}" title="{html.escape(stage.name)}">{html.escape(stage.name)}{marker}</span>')
    if not cells:
        cells.append(f'<span class="current">{html.escape(opp.stage_name)}</span>')
    st.markdown(PATH_CSS + f'<div class="opp-path">{"".join(cells)}</div>', unsafe_allow_html=True)


def probability_text(opp: OpportunityView) -> str:
    text = f"{fmt_number(opp.probability, lang)} %"
    return f"{text} ({t('opp.manual')})" if opp.probability_is_override else text


def forecast_text(opp: OpportunityView) -> str:
    shown = FORECAST_LABELS[opp.forecast_category]
    if opp.status == "open" and opp.forecast_category_override is not None:
        system = FORECAST_LABELS[opp.forecast_category_system]
        return f"{shown} ({t('opp.manual')}; {t('opp.system')}: {system})"
    return shown


def facet_rows(facets: list[Facet], per_row: int = 4) -> None:
    """Key figures in rows of `per_row` boxes (eight in one row would break every label)."""
    for start in range(0, len(facets), per_row):
        for cell, facet in zip(st.columns(per_row), facets[start : start + per_row]):
            with cell.container(border=True):
                st.caption(facet.label)
                st.markdown(f"**{facet.value or '–'}**")


def header(opp: OpportunityView, pipeline: PipelineView | None) -> None:
    object_header(
        opp.name,
        subtitle=t(
            "common.record_meta",
            id=opp.id,
            created=fmt_datetime(opp.created_at, lang),
            updated=fmt_datetime(opp.updated_at, lang),
            version=opp.version,
        ),
        icon=":material/handshake:",
    )
    badges = st.container(horizontal=True, vertical_alignment="center")
    color = {"open": "blue", "won": "green", "lost": "red"}[opp.status]
    badges.badge(f"{status_label(opp.status)} · {pipeline.name if pipeline else opp.pipeline_name}", color=color)
    if opp.status != "open" and (opp.close_reason or opp.close_reason_text):
        reason = " – ".join(p for p in (opp.close_reason, opp.close_reason_text) if p)
        badges.badge(t(f"opp.{opp.status}_because", reason=reason), color="gray")
    if opp.is_stale:
        unchanged = (context.clock()() - opp.updated_at).days
        badges.badge(t("opp.stale", n=unchanged), icon=":material/schedule:", color="orange")
    if badges.button(
        t("opp.to_account", name=opp.account_name), key=f"{NS}__to_account", icon=":material/business:", type="tertiary"
    ):
        open_account(opp.account_id)
    facet_rows(
        [
            Facet(label("account_id"), opp.account_name),
            Facet(label("amount"), fmt_money(opp.amount, lang, opp.currency)),
            Facet(t("opp.weighted_amount"), fmt_money(opp.weighted_amount, lang, opp.currency)),
            Facet(t("opp.probability"), probability_text(opp)),
            Facet(t("opp.forecast_category"), forecast_text(opp)),
            Facet(label("closed_date"), fmt_date(opp.closed_date, lang))
            if opp.status != "open" and opp.closed_date
            else Facet(label("expected_close_date"), fmt_date(opp.expected_close_date, lang) or "–"),
            Facet(t("opp.days_in_stage"), t("opp.days", n=fmt_number(opp.days_in_stage, lang))),
            Facet(label("owner_id"), opp.owner_name or "–"),
        ]
    )
    stage_path(opp, pipeline)


# Stage actions -----------------------------------------------------------------------------------
def after_write(message: str) -> None:
    queries.clear_reads()
    flash(message)
    st.rerun()


def attempt(action: Callable[[], Any], message: str) -> None:
    """Run a service call; on success toast and rerun, else the service's message (fresh data on a conflict)."""
    try:
        action()
    except DomainError as exc:
        if isinstance(exc, Conflict):
            queries.clear_reads()
        show_error(exc)
        return
    after_write(message)


def stage_actions(opp: OpportunityView, pipeline: PipelineView | None) -> None:
    if not context.may("opportunities.write", owner_id=opp.owner_id) or pipeline is None:
        return
    row = st.container(horizontal=True, vertical_alignment="center")
    if opp.status == "open":
        row.caption(t("opp.move_to"), width="content")
        for stage in pipeline.open_stages:
            if stage.id == opp.stage_id:
                continue
            arrow = ":material/arrow_back:" if stage.position < opp.stage_position else ":material/arrow_forward:"
            if row.button(stage.name, key=f"{NS}__move_{stage.id}", icon=arrow):
                attempt(
                    lambda stage_id=stage.id: move_stage(
                        context.uow(), opp.id, stage_id=stage_id, expected_version=opp.version
                    ),
                    t("opp.moved", stage=stage.name),
                )
        if row.button(t("opp.win"), key=f"{NS}__win", icon=":material/emoji_events:", type="primary"):
            st.session_state[CLOSING] = "won"
        if row.button(t("opp.lose"), key=f"{NS}__lose", icon=":material/thumb_down:"):
            st.session_state[CLOSING] = "lost"
    elif row.button(t("opp.reopen"), key=f"{NS}__reopen", icon=":material/replay:", type="primary"):
        st.session_state[CLOSING] = "reopen"
    closing = st.session_state.get(CLOSING)
    if closing in ("won", "lost") and opp.status == "open":
        close_dialog(opp, closing)
    elif closing == "reopen" and opp.status != "open":
        reopen_dialog(opp, pipeline)
    else:
        st.session_state.pop(CLOSING, None)


def close_dialog(opp: OpportunityView, kind: str) -> None:
    """Won (reason optional) or lost (reason required, text for reasons like „Sonstiges“)."""

    @st.dialog(t(f"opp.{kind}_title"), on_dismiss=lambda: st.session_state.pop(CLOSING, None))
    def _dialog() -> None:
        st.markdown(t(f"opp.{kind}_text", name=opp.name))
        reason_id, text = reason_inputs(f"{NS}_{kind}", kind)
        closed = st.date_input(
            t("opp.closed_date"),
            value=None,
            format="DD.MM.YYYY",
            key=f"{NS}_{kind}__date",
            help=t("opp.closed_date_help"),
        )
        go, cancel = st.columns(2)
        verb = t("opp.win" if kind == "won" else "opp.lose")
        if go.button(verb, key=f"{NS}_{kind}__go", type="primary", width="stretch"):
            service = win_opportunity if kind == "won" else lose_opportunity
            try:
                service(
                    context.uow(),
                    opp.id,
                    expected_version=opp.version,
                    reason_id=reason_id,
                    reason_text=text,
                    closed_date=closed if isinstance(closed, dt.date) else None,
                )
            except DomainError as exc:
                show_error(exc, labels=REASON_LABELS)
                return
            st.session_state.pop(CLOSING, None)
            after_write(t(f"opp.{kind}_done"))
        if cancel.button(t("common.cancel"), key=f"{NS}_{kind}__cancel", width="stretch"):
            st.session_state.pop(CLOSING, None)
            st.rerun()

    _dialog()


def reopen_dialog(opp: OpportunityView, pipeline: PipelineView) -> None:
    """Back into an open stage; proposed: the stage the deal was in before it was closed."""
    history = queries.stage_history(opp.id)
    open_names = {s.name: s.id for s in pipeline.open_stages}
    entered = zip(history.get("to_stage", []), history.get("to_kind", []))
    before = [name for name, kind in entered if kind == "open" and name in open_names]
    proposed = open_names[before[-1]] if before else pipeline.open_stages[0].id
    options = [s.id for s in pipeline.open_stages]
    names = {s.id: s.name for s in pipeline.open_stages}

    @st.dialog(t("opp.reopen_title"), on_dismiss=lambda: st.session_state.pop(CLOSING, None))
    def _dialog() -> None:
        st.markdown(t("opp.reopen_text", name=opp.name))
        stage_id = st.selectbox(
            label("stage_id"), options, index=options.index(proposed), format_func=names.get, key=f"{NS}_reopen__stage"
        )
        go, cancel = st.columns(2)
        if go.button(t("opp.reopen"), key=f"{NS}_reopen__go", type="primary", width="stretch"):
            try:
                reopen_opportunity(context.uow(), opp.id, expected_version=opp.version, stage_id=stage_id)
            except DomainError as exc:
                show_error(exc)
                return
            st.session_state.pop(CLOSING, None)
            after_write(t("opp.reopened", stage=names[stage_id]))
        if cancel.button(t("common.cancel"), key=f"{NS}_reopen__cancel", width="stretch"):
            st.session_state.pop(CLOSING, None)
            st.rerun()

    _dialog()


# Sections --------------------------------------------------------------------------------------
def overview(opp: OpportunityView, pipeline: PipelineView | None) -> None:
    editable = context.may("opportunities.write", owner_id=opp.owner_id)
    if not editable:
        st.info(t("common.read_only"), icon=":material/lock:")
    stage = pipeline.stage(opp.stage_id) if pipeline else None

    def save(values: dict[str, Any], expected_version: int | None, reason: str | None) -> OpportunityView:
        return update_opportunity(
            context.uow(), opp.id, values, expected_version=expected_version, reason=reason
        )

    values = opp.form_values() | {"amount": amount_text(opp.amount)}
    fields = edit_fields(owners, stage.probability if stage else opp.probability, opp.forecast_category_system)
    EditForm(
        ns=f"{NS}_edit", fields=fields, save=save, submit_label=t("common.save"), with_reason=True, live=True
    ).render(record_id=opp.id, version=opp.version, values=values, disabled=not editable)
    overridden = opp.probability_override is not None or opp.forecast_category_override is not None
    if editable and overridden:
        st.caption(t("opp.override_hint"))
        if st.button(t("opp.reset_overrides"), key=f"{NS}__reset_overrides", icon=":material/restart_alt:"):
            attempt(
                lambda: update_opportunity(
                    context.uow(),
                    opp.id,
                    {"probability_override": None, "forecast_category_override": None},
                    expected_version=opp.version,
                    reason=t("opp.reset_overrides"),
                ),
                t("opp.overrides_cleared"),
            )
    if context.may("opportunities.delete"):

        def back_to_list() -> None:
            st.session_state[OPPORTUNITY_ID_KEY] = None
            st.switch_page("pages/opportunities_liste.py")

        delete_section(
            ns=NS,
            prefix="opp",
            name=opp.name,
            delete=lambda: delete_opportunity(context.uow(), opp.id, expected_version=opp.version),
            after=back_to_list,
        )


def contacts(opp: OpportunityView) -> None:
    roles = queries.opportunity_contacts(opp.id)
    if roles:
        st.dataframe(
            pd.DataFrame(
                {
                    t("opp.contact"): [r.contact_name for r in roles],
                    t("opp.role"): [r.role for r in roles],
                    t("opp.primary"): ["★" if r.is_primary else "" for r in roles],
                    t("field.contact.email"): [r.email or "" for r in roles],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.info(t("opp.no_contacts"), icon=":material/info:")
    if not context.may("opportunities.write", owner_id=opp.owner_id):
        return
    with st.container(border=True):
        st.markdown(f"**{t('opp.add_contact')}**")
        search_col, pick_col, role_col, primary_col = st.columns([2, 2, 1.3, 1], vertical_alignment="bottom")
        term = search_col.text_input(
            t("opp.contact_search"),
            key=f"{NS}_roles__search",
            placeholder=t("opp.contact_search_placeholder"),
            help=t("opp.contact_search_help"),
        )
        matches = queries.contact_search(term, opp.account_id)
        contact_id = pick_col.selectbox(
            t("opp.contact"),
            list(matches),
            index=None,
            format_func=matches.get,
            placeholder=t("common.choose") if matches else t("opp.no_contact_match"),
            key=f"{NS}_roles__contact",
        )
        role = role_col.selectbox(t("opp.role"), ROLES, key=f"{NS}_roles__role")
        primary = primary_col.checkbox(t("opp.primary_contact"), key=f"{NS}_roles__primary", value=not roles)
        if st.button(t("opp.add_contact_button"), key=f"{NS}_roles__add", icon=":material/person_add:"):
            if contact_id is None:
                st.error(t("opp.choose_contact"), icon=":material/error:")
            else:
                attempt(
                    lambda: add_contact_role(
                        context.uow(), opp.id, contact_id=contact_id, role=role, is_primary=primary
                    ),
                    t("opp.contact_added", name=matches[contact_id]),
                )
    if roles:
        by_id = {r.id: r for r in roles}
        pick_col, remove_col = st.columns([3, 1], vertical_alignment="bottom")
        role_id = pick_col.selectbox(
            t("opp.remove_contact_pick"),
            list(by_id),
            format_func=lambda i: f"{by_id[i].contact_name} ({by_id[i].role})",
            key=f"{NS}_roles__remove_pick",
        )
        if remove_col.button(
            t("opp.remove_contact"), key=f"{NS}_roles__remove", icon=":material/person_remove:", width="stretch"
        ):

            def remove(role_id: int = role_id) -> None:
                remove_contact_role(context.uow(), role_id)
                queries.clear_reads()
                flash(t("opp.contact_removed", name=by_id[role_id].contact_name))

            confirm(
                key=f"{NS}_roles__confirm_remove",
                title=t("opp.remove_contact_title"),
                message=t("opp.remove_contact_text", name=by_id[role_id].contact_name, deal=opp.name),
                confirm_label=t("opp.remove_contact"),
                on_confirm=remove,
            )


def history_section(opp: OpportunityView) -> None:
    """Every stage change and revision: backward moves and later close dates are marked."""
    rows = queries.stage_history(opp.id)
    if rows.empty:
        st.info(t("opp.history_empty"), icon=":material/history:")
        return
    st.caption(t("opp.history_intro"))
    kinds = [
        t_or(f"opp.kind_{k}", k) + (f" ↩ {t('opp.backward')}" if back else "")
        for k, back in zip(rows["kind"], rows["backward"])
    ]
    close_dates = [
        (fmt_date(d, lang) if d is not None and not pd.isna(d) else "–") + (f" ⚠ {t('opp.slipped')}" if slipped else "")
        for d, slipped in zip(rows["expected_close_date"], rows["slipped"])
    ]
    table = pd.DataFrame(
        {
            t("opp.hist_when"): [fmt_datetime(v.to_pydatetime(), lang) for v in rows["occurred_at"]],
            t("opp.hist_kind"): kinds,
            t("opp.hist_from"): ["" if k == "revised" else f or "–" for k, f in zip(rows["kind"], rows["from_stage"])],
            t("opp.hist_to"): rows["to_stage"],
            t("opp.hist_days"): ["" if pd.isna(d) else fmt_number(int(d), lang) for d in rows["days"]],
            label("amount"): [fmt_money(a, lang, c) for a, c in zip(rows["amount"], rows["currency"])],
            t("opp.probability"): [f"{fmt_number(p, lang)} %" for p in rows["probability"]],
            label("expected_close_date"): close_dates,
            t("opp.hist_who"): rows["actor_name"],
        }
    )
    # pixel widths so that all nine columns fit the wide layout without a horizontal scrollbar
    widths = {"opp.hist_when": 120, "opp.hist_kind": 140, "opp.hist_from": 110, "opp.hist_to": 110, "opp.hist_days": 45}
    st.dataframe(
        table.iloc[::-1],
        hide_index=True,
        width="stretch",
        height=min(600, 38 + 35 * len(table)),
        column_config={t(key): st.column_config.TextColumn(width=px) for key, px in widths.items()}
        | {t("opp.probability"): st.column_config.TextColumn(width=115)},
    )
    st.caption(t("opp.history_legend"))


def change_log(opp: OpportunityView) -> None:
    log = queries.opportunity_change_log(opp.id)
    if log.entries.empty:
        st.info(t("history.empty"), icon=":material/history:")
        return
    verification_badge(log.verification)
    frame = readable_references(log.entries)
    table = history_table(frame)
    objects = [
        t("entity.opportunity") if e == "opportunity" else f"{t_or(f'entity.{e}', e)} {i}"
        for e, i in zip(frame["entity"], frame["entity_id"])
    ]
    table.insert(1, t("changelog.object"), objects)
    st.caption(counted("changelog.count", len(table)))
    st.dataframe(table, hide_index=True, width="stretch", height=min(600, 38 + 35 * len(table)))
    change_log_downloads(
        f"{NS}_log", table, t("changelog.title", name=opp.name), f"aenderungsprotokoll-verkaufschance-{opp.id}"
    )


def readable_references(frame: pd.DataFrame) -> pd.DataFrame:
    """Stage, pipeline and reason ids by name, codes in words, dates German (owner, company: history_view)."""
    pipelines = queries.pipelines()
    names: dict[str, dict[str, str]] = {
        "stage_id": {str(s.id): s.name for p in pipelines for s in p.stages},
        "pipeline_id": {str(p.id): p.name for p in pipelines},
        "won_reason_id": {str(r.id): r.label for r in queries.deal_reasons("won")},
        "lost_reason_id": {str(r.id): r.label for r in queries.deal_reasons("lost")},
        "forecast_category_override": dict(FORECAST_LABELS),
        "status": {s: status_label(s) for s in ("open", "won", "lost")},
    }
    frame = frame.copy()
    for column in ("old_value", "new_value"):
        frame[column] = [readable(f, v, names) for f, v in zip(frame["field"], frame[column])]
    return frame


def readable(field: Any, value: Any, names: dict[str, dict[str, str]]) -> Any:
    if not isinstance(field, str) or value is None or (isinstance(value, float) and pd.isna(value)):
        return value
    if field in names:
        return names[field].get(str(value), value)
    if field in DATE_FIELDS and ISO_DATE.fullmatch(str(value)):
        return fmt_date(dt.date.fromisoformat(str(value)), lang)
    return value


# Page --------------------------------------------------------------------------------------------
opportunity_id = selected_id(OPPORTUNITY_ID_KEY)
if opportunity_id is None:
    st.title(f":material/handshake: {t('page.opportunity')}")
    st.info(t("opp.pick_from_list"), icon=":material/info:")
    st.page_link("pages/opportunities_liste.py", label=t("page.opportunities"), icon=":material/handshake:")
else:
    try:
        opp = queries.opportunity(opportunity_id)
    except DomainError as exc:
        show_error(exc)
        if st.button(t("opp.back_to_list"), key=f"{NS}__back", icon=":material/arrow_back:"):
            st.switch_page("pages/opportunities_liste.py")
    else:
        pipeline = pipeline_of(opp)
        header(opp, pipeline)
        stage_actions(opp, pipeline)
        sections: list[tuple[str, Callable[[], None]]] = [
            (t("object.overview"), lambda: overview(opp, pipeline)),
            (t("opp.section_contacts"), lambda: contacts(opp)),
            (t("opp.section_lines"), lambda: render_line_items(opp.id, key=f"{NS}_lines")),
            (t("opp.section_quotes"), lambda: render_quotes(opp.id, key=f"{NS}_quotes")),
            (t("opp.section_history"), lambda: history_section(opp)),
            (t("object.history"), lambda: change_log(opp)),
        ]
        for container, (_title, render) in zip(object_sections(NS, [title for title, _ in sections]), sections):
            with container:
                try:
                    render()
                except DomainError as exc:
                    show_error(exc)
