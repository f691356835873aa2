"""Segmente: every segment with its kind, size, the members reachable per channel (from the stored reach snapshot),
the last refresh (a failed one flagged) and the trend of its last runs as a sparkline; "Neues Segment" opens the
Segment-Editor, "Neu berechnen" recalculates the selected segments. Segments are few: the list is searched, sorted
and paged here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context, segment_queries
from app.components.i18n import current_lang, t
from app.components.list_report import BulkAction, Column, ListFilter, ListReport
from core.consent.vocabulary import CHANNELS, label
from core.errors import DomainError
from core.formatting import fmt_number
from core.listing import ListQuery, Page
from core.segments.recalc import recalculate
from core.segments.service import KINDS

NS = "seg_list"
DETAIL_PAGE = "pages/segment_detail.py"
BUILDER_PAGE = "pages/segment_builder.py"
DETAIL_ID_KEY = "segment_detail__id"
SORTABLE = ("name", "size", "last_refreshed_at")
SPARKS = "▁▂▃▄▅▆▇█"
lang = current_lang()


def open_segment(segment_id: int) -> None:
    st.session_state[DETAIL_ID_KEY] = segment_id
    st.switch_page(DETAIL_PAGE, query_params={"id": str(segment_id)})


def kind_label(kind: str) -> str:
    de, en = KINDS.get(kind, (kind, kind))
    return en if lang == "en" else de


def sparkline(sizes: list[int]) -> str:
    """The sizes of the last runs as block characters, lowest ▁ to highest █ (a size that never changed: a level
    line ▄), and the change over them; empty before a second run, when there is no trend yet."""
    if len(sizes) < 2:
        return ""
    low, high = min(sizes), max(sizes)
    span = high - low
    flat = SPARKS[len(SPARKS) // 2 - 1]
    bars = "".join(flat if span == 0 else SPARKS[round((size - low) * (len(SPARKS) - 1) / span)] for size in sizes)
    change = sizes[-1] - sizes[0]
    return f"{bars} {'+' if change > 0 else '±' if change == 0 else ''}{fmt_number(change, lang)}"


def status_text(row: pd.Series) -> str:
    if isinstance(row["refresh_error"], str) and row["refresh_error"]:
        return t("seg.status_error", error=row["refresh_error"])
    if pd.isna(row["last_refreshed_at"]):
        return t("seg.status_never")
    return t("seg.status_ok")


def fetch(query: ListQuery) -> Page:
    rows = segment_queries.segment_list()
    if query.filters.get("kind"):
        rows = rows[rows["kind"] == query.filters["kind"]]
    if query.search:
        term = query.search.casefold()
        text = rows["name"].str.casefold() + " " + rows["description"].fillna("").str.casefold()
        rows = rows[text.str.contains(term, regex=False)]
    if query.sort in SORTABLE:
        key = (lambda s: s.str.casefold()) if query.sort == "name" else None
        rows = rows.sort_values(query.sort, ascending=not query.descending, kind="stable", key=key)
    start = (query.page - 1) * query.page_size
    shown = rows.iloc[start : start + query.page_size].copy()
    shown["status"] = [status_text(row) for _, row in shown.iterrows()]
    shown["kind"] = [kind_label(kind) for kind in shown["kind"]]
    shown["trend"] = [sparkline(list(sizes)) for sizes in shown["trend"]]
    for channel in CHANNELS:
        shown[channel] = shown[channel].astype(object).where(shown[channel].notna(), None)
    return Page(shown.reset_index(drop=True), len(rows), query.page, query.page_size)


def recalculate_selected(ids: list[int]) -> str:
    """Each selected segment in its own run; the ones that fail are named with their error."""
    done, failed = 0, []
    listed = segment_queries.segment_list()
    names = dict(zip(listed["id"], listed["name"]))
    for segment_id in ids:
        try:
            recalculate(context.uow(), segment_id, reason="manual")
        except DomainError as exc:
            failed.append(f"„{names.get(segment_id, segment_id)}“: {exc.message}")
            continue
        done += 1
    message = t("seg.recalculated_n", n=done)
    return f"{message} {t('seg.recalc_failed', failures='; '.join(failed))}" if failed else message


title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title(f":material/groups: {t('page.segmente_liste')}")
may_write = context.may("segments.write")
if may_write and new_col.button(
    t("seg.new"), key=f"{NS}__new", type="primary", icon=":material/add:", width="stretch"
):
    st.switch_page(BUILDER_PAGE)
st.caption(t("seg.list_intro"))

ListReport(
    ns=NS,
    noun=t("seg.plural"),
    columns=[
        Column("id", t("list.id"), "int"),
        Column("name", t("seg.name"), sortable=True),
        Column("kind", t("seg.kind")),
        Column("size", t("seg.size"), "int", sortable=True),
        *(Column(key, label(CHANNELS, key, lang), "int") for key in CHANNELS),  # reachable: see the intro
        Column("last_refreshed_at", t("seg.last_refresh"), "datetime", sortable=True),
        Column("status", t("seg.status")),
        Column("trend", t("seg.trend")),
        Column("reach_at", t("seg.reach_at"), "datetime", visible=False),
        Column("description", t("seg.description"), visible=False),
    ],
    fetch=fetch,
    row_label=lambda row: f"{row['name']} ({row['kind']})",
    open_record=open_segment,
    filters=[
        ListFilter("kind", t("seg.kind"), list(KINDS), format_func=kind_label, kind="select"),
    ],
    bulk_actions=[
        BulkAction(
            key="recalc",
            label=t("seg.recalculate"),
            icon=":material/refresh:",
            run=recalculate_selected,
            confirm_title=t("seg.recalc_title"),
            confirm_text=t("seg.recalc_text"),
        )
    ]
    if may_write
    else [],
    export_name="segmente",
    search_placeholder=t("seg.search_placeholder"),
    empty_hint=t("seg.empty_writer" if may_write else "seg.empty"),
    default_sort="name",
).render()
st.caption(t("seg.reach_hint"))
