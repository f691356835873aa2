"""Dubletten: stored duplicate candidates as a list, a selected pair compared side by side, dismiss."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context
from app.components.duplicate_compare import render_pair
from app.components.feedback import flash, show_error
from app.components.i18n import t
from app.components.list_report import Column, ListFilter, ListReport
from core.dedupe.review import DISMISSED, dismiss_candidate, get_candidate, list_candidates
from core.dedupe.scan import OPEN
from core.errors import DomainError
from core.listing import ListQuery, Page

NS = "dubletten"
SELECTED = f"{NS}__selected"

st.title(f":material/content_copy: {t('page.duplicates')}")
st.caption(t("dedupe.intro"))
entity = (
    st.segmented_control(
        t("dedupe.entity"),
        ["contact", "account"],
        default="contact",
        format_func=lambda e: t(f"dedupe.entity_{e}"),
        key=f"{NS}__entity",
    )
    or "contact"
)


def fetch(query: ListQuery) -> Page:
    return list_candidates(context.uow(), entity, query)


def select_pair(candidate_id: int | None) -> None:
    st.session_state[SELECTED] = candidate_id


def label(row: pd.Series) -> str:
    return f"{row['name_a']} ~ {row['name_b']}"


ListReport(
    ns=f"{NS}_{entity}",
    noun=t("dedupe.noun"),
    columns=[
        Column("id", t("list.id"), "int"),
        Column("score", t("dedupe.col_score"), "percent", sortable=True),
        Column("name_a", t("dedupe.col_name_a"), sortable=True),
        Column("city_a", t("dedupe.col_city_a")),
        Column("name_b", t("dedupe.col_name_b")),
        Column("city_b", t("dedupe.col_city_b")),
        Column("found_at", t("dedupe.col_found_at"), "datetime", sortable=True),
    ],
    fetch=fetch,
    row_label=label,
    open_record=select_pair,
    filters=[
        ListFilter("status", t("dedupe.status"), [OPEN, DISMISSED], format_func=lambda s: t(f"dedupe.status_{s}"))
    ],
    export_name="dubletten",
    empty_hint=t("dedupe.empty"),
    default_sort="score",
    default_descending=True,
).render()


def open_merge(entity_name: str, id_a: int, id_b: int) -> None:
    """Hand the pair to the merge wizard (app/pages/zusammenfuehren.py reads merge__pair)."""
    st.session_state["merge__pair"] = (entity_name, id_a, id_b)
    st.switch_page("pages/zusammenfuehren.py")


def dismiss(candidate_id: int) -> None:
    try:
        dismiss_candidate(context.uow(), candidate_id)
    except DomainError as error:
        show_error(error)
        return
    st.session_state[SELECTED] = None
    flash(t("dedupe.dismissed"))
    st.rerun()


selected = st.session_state.get(SELECTED)
if selected:
    try:
        pair = get_candidate(context.uow(), int(selected))
    except DomainError as error:
        show_error(error)
    else:
        render_pair(pair)
        merge_col, dismiss_col = st.columns(2)
        if (
            pair.status == OPEN
            and context.may("duplicates.merge")
            and merge_col.button(t("dedupe.merge"), key=f"{NS}__merge", type="primary", icon=":material/merge:")
        ):
            open_merge(pair.entity, int(pair.record_a["id"]), int(pair.record_b["id"]))
        if pair.status == OPEN and dismiss_col.button(t("dedupe.dismiss"), key=f"{NS}__dismiss", icon=":material/block:"):
            dismiss(pair.id)
