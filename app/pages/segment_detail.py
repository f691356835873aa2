"""Segment: one segment (`?id=`) — header with size, kind, last refresh and the members reachable by e-mail; the
actions Bearbeiten (Segment-Editor), Neu berechnen and Löschen (confirmed); sections Definition (the rules in plain
German with their nesting; static segments: add members or upload a CSV), Mitglieder (pages read by cursor, export
of all members page by page, "Warum Mitglied?"), Verlauf (size chart, runs, joins and leaves), Erreichbarkeit
(channel × purpose from the stored snapshot, recomputed on request), Verwendung and Performance. The rules are
core.segments'; the page asks for input and shows outcomes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

import pandas as pd
import streamlit as st

from app.components import context, queries, segment_queries
from app.components.charts import line_over_time, show_chart
from app.components.exporting import download_button
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t, t_or
from app.components.links import open_contact, selected_id
from app.components.object_page import Facet, object_header, object_sections
from core.consent.vocabulary import CHANNELS, GATE_REASONS, label
from core.errors import DomainError
from core.formatting import DISPLAY_TZ, fmt_datetime, fmt_money, fmt_number
from core.segments.insights import (
    REACH_AT_ONCE,
    ChannelReach,
    DealFigures,
    ReachSnapshot,
    refresh_reach,
    refresh_reach_if_small,
)
from core.segments.recalc import recalculate
from core.segments.service import (
    KINDS,
    MAX_PAGE,
    MemberRow,
    SegmentView,
    add_static_members,
    delete_segment,
    import_static_members,
    members_page,
    remove_static_members,
)
from exports.excel.table import dataframe_to_xlsx

NS = "seg_obj"
ID_KEY = "segment_detail__id"
LOADED = f"{NS}__loaded"  # the segment whose inputs the widgets hold; another segment starts them afresh
DIALOG = f"{NS}__dialog"  # the open dialog: "delete"
CURSORS = f"{NS}__cursors"  # the member pages seen so far: the contact id each one continues after
WHY = f"{NS}__why"  # (contact id, reasons) of the last "Warum Mitglied?"
IMPORTED = f"{NS}__imported"  # the outcome of the last CSV upload
LIST_PAGE = "pages/segmente_liste.py"
BUILDER_PAGE = "pages/segment_builder.py"
PAGE_SIZES = (25, 50, 100)
EXCEL_MAX_ROWS = 1_048_575
MARKDOWN_CHARS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
lang = current_lang()
may_write = context.may("segments.write")


def md(text: str) -> str:
    """User text (names, rule values) shown literally in markdown."""
    return MARKDOWN_CHARS.sub(r"\\\1", text)


def open_segment(segment_id: int) -> None:
    st.session_state[ID_KEY] = segment_id
    st.switch_page("pages/segment_detail.py", query_params={"id": str(segment_id)})


def start_afresh(segment_id: int) -> None:
    """Inputs, member pages and dialogs belong to one segment: opening another one clears them."""
    if st.session_state.get(LOADED) == segment_id:
        return
    for key in [k for k in st.session_state if str(k).startswith(f"{NS}_") and k != f"{NS}__tab"]:
        del st.session_state[key]
    st.session_state[LOADED] = segment_id


def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


def attempt(run: Callable[[], str]) -> None:
    """One service call; on success a toast and a rerun with fresh data, else the service's message here."""
    try:
        message = run()
    except DomainError as exc:
        queries.clear_reads()
        show_error(exc)
        return
    queries.clear_reads()
    flash(message)
    st.rerun()


def kind_label(kind: str) -> str:
    de, en = KINDS.get(kind, (kind, kind))
    return en if lang == "en" else de


def channel_label(channel: str) -> str:
    return label(CHANNELS, channel, lang)


def purpose_label(de: str, en: str) -> str:
    return en if lang == "en" else de


# Header and actions --------------------------------------------------------------------------------------------
def email_facet(snapshot: ReachSnapshot) -> str:
    email = snapshot.channel("email")
    return t("seg.reach_not_yet") if email is None else fmt_number(email.reachable, lang)


def header(view: SegmentView, snapshot: ReachSnapshot) -> None:
    refreshed = fmt_datetime(view.last_refreshed_at, lang) if view.last_refreshed_at else t("seg.never")
    object_header(
        view.name,
        subtitle=view.description or None,
        icon=":material/groups:",
        facets=[
            Facet(t("seg.size"), fmt_number(view.member_count, lang)),
            Facet(t("seg.kind"), kind_label(view.kind)),
            Facet(t("seg.last_refresh"), refreshed),
            Facet(t("seg.reachable_email"), email_facet(snapshot)),
        ],
    )
    if view.refresh_error:
        st.error(t("seg.refresh_error", error=view.refresh_error), icon=":material/error:")


def recalculate_now(view: SegmentView) -> str:
    with st.spinner(t("seg.recalculating")):
        run = recalculate(context.uow(), view.id, reason="manual")
        refresh_reach_if_small(context.uow(), view.id, run.size)
    return t(
        "seg.recalculated",
        size=fmt_number(run.size, lang),
        joined=fmt_number(run.joined, lang),
        left=fmt_number(run.left, lang),
    )


def actions(view: SegmentView) -> None:
    if not may_write:
        return
    row = st.container(horizontal=True)
    if row.button(t("seg.edit"), key=f"{NS}__edit", icon=":material/edit:"):
        st.switch_page(BUILDER_PAGE, query_params={"id": str(view.id)})
    if row.button(t("seg.recalculate"), key=f"{NS}__recalc", type="primary", icon=":material/refresh:"):
        attempt(lambda: recalculate_now(view))
    if row.button(t("common.delete"), key=f"{NS}__delete", icon=":material/delete:"):
        st.session_state[DIALOG] = "delete"


def delete_dialog(view: SegmentView) -> None:
    @st.dialog(t("seg.delete_title"), width="small", on_dismiss=close_dialog)
    def _dialog() -> None:
        st.markdown(t("seg.delete_text", name=md(view.name), n=fmt_number(view.member_count, lang)))
        yes, no = st.columns(2)
        if yes.button(t("common.delete"), key=f"{NS}__delete_yes", type="primary", icon=":material/delete:",
                      width="stretch"):
            try:
                delete_segment(context.uow(), view.id, expected_version=view.version)
            except DomainError as exc:
                queries.clear_reads()
                show_error(exc)
                return
            close_dialog()
            queries.clear_reads()
            flash(t("seg.deleted", name=view.name))
            st.session_state.pop(ID_KEY, None)
            st.switch_page(LIST_PAGE)
        if no.button(t("common.cancel"), key=f"{NS}__delete_no", width="stretch"):
            close_dialog()
            st.rerun()

    _dialog()


def open_dialog(view: SegmentView) -> None:
    if st.session_state.get(DIALOG) == "delete" and may_write:
        delete_dialog(view)
    else:
        close_dialog()


# Definition ----------------------------------------------------------------------------------------------------
def segment_links(segments: dict[int, str], key: str) -> None:
    row = st.container(horizontal=True)
    for segment_id, name in segments.items():
        if row.button(name, key=f"{NS}__{key}_{segment_id}", icon=":material/groups:"):
            open_segment(segment_id)


def definition_section(view: SegmentView) -> None:
    if view.kind == "static":
        st.info(t("seg.static_hint"), icon=":material/playlist_add:")
        if may_write:
            add_members(view)
            import_members(view)
        return
    st.markdown(f"**{t('seg.rules')}**")
    lines = segment_queries.outline(view.id)
    st.markdown("\n".join(f"{'  ' * line.depth}- {md(line.text)}" for line in lines))
    if view.references:
        st.caption(t("seg.references"))
        segment_links(view.references, "ref")


def add_members(view: SegmentView) -> None:
    k = f"{NS}_add"
    with st.container(border=True):
        st.markdown(f"**{t('seg.add_title')}**")
        term = st.text_input(t("seg.contact_search"), key=f"{k}__q", placeholder=t("seg.contact_search_placeholder"))
        found = queries.contact_search(term) if term.strip() else {}
        chosen = st.multiselect(
            t("seg.contacts"), list(found), format_func=lambda i: found.get(i, f"#{i}"), key=f"{k}__ids",
            placeholder=t("seg.contacts_placeholder"),
        )
        if st.button(t("seg.add"), key=f"{k}__go", icon=":material/person_add:", disabled=not chosen):
            attempt(lambda: added_message(add_static_members(context.uow(), view.id, chosen).changed))


def added_message(n: int) -> str:
    return t("seg.added", n=fmt_number(n, lang))


def import_members(view: SegmentView) -> None:
    k = f"{NS}_import"
    with st.container(border=True):
        st.markdown(f"**{t('seg.import_title')}**")
        st.caption(t("seg.import_help"))
        upload = st.file_uploader(t("seg.import_file"), type=["csv", "txt"], key=f"{k}__file")
        if st.button(t("seg.import"), key=f"{k}__go", icon=":material/upload_file:", disabled=upload is None):
            assert upload is not None
            try:
                result = import_static_members(context.uow(), view.id, upload.getvalue(), file_name=upload.name)
            except DomainError as exc:
                show_error(exc, labels={"datei": t("seg.import_file")})
                return
            queries.clear_reads()
            st.session_state[IMPORTED] = result
            st.rerun()
        result = st.session_state.get(IMPORTED)
        if result is not None:
            counts = {
                "rows": fmt_number(result.rows, lang),
                "added": fmt_number(result.added, lang),
                "already": fmt_number(result.already, lang),
                "unknown": fmt_number(result.unknown, lang),
            }
            st.success(t("seg.imported", **counts), icon=":material/task_alt:")
            if result.problems:
                st.warning("\n".join(f"- {md(problem)}" for problem in result.problems), icon=":material/warning:")


# Mitglieder ----------------------------------------------------------------------------------------------------
def member_frame(rows: list[MemberRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("list.id"): [r.contact_id for r in rows],
            t("seg.member_name"): [r.name for r in rows],
            t("seg.member_email"): [r.email or "" for r in rows],
            t("seg.member_company"): [r.company or "" for r in rows],
            t("seg.member_since"): [fmt_datetime(r.joined_at, lang) for r in rows],
        }
    )


def every_member(segment_id: int) -> Iterator[MemberRow]:
    """All members by contact id, read from the database one cursor page at a time."""
    uow, after = context.uow(), None
    while True:
        rows, after = members_page(uow, segment_id, after_contact_id=after, limit=MAX_PAGE)
        yield from rows
        if after is None:
            return


def members_csv(segment_id: int) -> bytes:
    """CSV as German Excel opens it (semicolons, UTF-8 with BOM), written page by page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(member_frame([]).columns)
    for r in every_member(segment_id):
        writer.writerow((r.contact_id, r.name, r.email or "", r.company or "", fmt_datetime(r.joined_at, lang)))
    return buffer.getvalue().encode("utf-8-sig")


def members_xlsx(segment_id: int, name: str) -> bytes:
    rows: list[MemberRow] = []
    for row in every_member(segment_id):
        rows.append(row)
        if len(rows) >= EXCEL_MAX_ROWS:
            break
    frame = pd.DataFrame(
        {
            t("list.id"): [r.contact_id for r in rows],
            t("seg.member_name"): [r.name for r in rows],
            t("seg.member_email"): [r.email for r in rows],
            t("seg.member_company"): [r.company for r in rows],
            t("seg.member_since"): [r.joined_at for r in rows],
        }
    )
    return dataframe_to_xlsx(frame, sheet_name=t("seg.members"), title=name)


def member_exports(view: SegmentView) -> None:
    csv_col, xlsx_col, _ = st.columns([1, 1, 4])
    stem = f"segment-{view.id}-mitglieder"
    download_button(csv_col, t("list.export_csv"), lambda: members_csv(view.id), file_name=f"{stem}.csv",
                    key=f"{NS}__csv")
    download_button(xlsx_col, t("list.export_xlsx"), lambda: members_xlsx(view.id, view.name),
                    file_name=f"{stem}.xlsx", key=f"{NS}__xlsx")


def pager(after_next: int | None) -> None:
    cursors: list[int | None] = st.session_state.setdefault(CURSORS, [None])
    back, info, forward = st.columns([1, 2, 1], vertical_alignment="center")
    if back.button(t("seg.previous"), key=f"{NS}__prev", icon=":material/chevron_left:", disabled=len(cursors) == 1,
                   width="stretch"):
        cursors.pop()
        st.rerun()
    info.caption(t("seg.page_no", n=len(cursors)))
    if forward.button(t("seg.next"), key=f"{NS}__next", icon=":material/chevron_right:", disabled=after_next is None,
                      width="stretch"):
        cursors.append(after_next)
        st.rerun()


def why_member_box(view: SegmentView, rows: list[MemberRow]) -> None:
    with st.container(border=True):
        st.markdown(f"**{t('seg.why_title')}**")
        names = {r.contact_id: f"{r.name} (#{r.contact_id})" for r in rows}
        pick_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
        contact_id = pick_col.selectbox(
            t("seg.why_contact"), list(names), format_func=names.__getitem__, key=f"{NS}__why_contact",
            index=None, placeholder=t("seg.why_placeholder"),
        )
        if button_col.button(t("seg.why"), key=f"{NS}__why_go", icon=":material/help:", disabled=contact_id is None,
                             width="stretch"):
            try:
                st.session_state[WHY] = (contact_id, segment_queries.why_member(view.id, int(contact_id)))
            except DomainError as exc:
                show_error(exc)
        shown = st.session_state.get(WHY)
        if shown is None:
            return
        contact_id, reasons = shown
        st.caption(t("seg.why_for", name=md(names.get(contact_id, f"#{contact_id}"))))
        if reasons:
            st.markdown("\n".join(f"- {md(reason)}" for reason in reasons))
        else:
            st.info(t("seg.why_none"), icon=":material/info:")
        if st.button(t("seg.open_contact"), key=f"{NS}__why_open", icon=":material/person:"):
            open_contact(int(contact_id))


def remove_members(view: SegmentView, rows: list[MemberRow]) -> None:
    names = {r.contact_id: r.name for r in rows}
    pick_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick_col.multiselect(
        t("seg.remove_pick"), list(names), format_func=names.__getitem__, key=f"{NS}__remove_ids",
        placeholder=t("seg.contacts_placeholder"),
    )
    if button_col.button(t("seg.remove"), key=f"{NS}__remove_go", icon=":material/person_remove:",
                         disabled=not chosen, width="stretch"):
        st.session_state.pop(CURSORS, None)
        attempt(lambda: removed_message(remove_static_members(context.uow(), view.id, chosen).changed))


def removed_message(n: int) -> str:
    return t("seg.removed", n=fmt_number(n, lang))


def members_section(view: SegmentView) -> None:
    if view.member_count == 0:
        st.info(t("seg.no_members"), icon=":material/group_off:")
        return
    size_col, _ = st.columns([1, 3])
    size = size_col.selectbox(t("list.page_size"), PAGE_SIZES, index=1, key=f"{NS}__page_size",
                              on_change=lambda: st.session_state.pop(CURSORS, None))
    after = st.session_state.setdefault(CURSORS, [None])[-1]
    rows, after_next = segment_queries.members(view.id, after=after, limit=size)
    st.caption(t("seg.members_count", n=fmt_number(view.member_count, lang)))
    st.dataframe(member_frame(rows), hide_index=True, width="stretch",
                 column_config={t("list.id"): st.column_config.NumberColumn(format="%d", width="small")})
    pager(after_next)
    member_exports(view)
    if view.kind == "static" and may_write:
        remove_members(view, rows)
    why_member_box(view, rows)


# Verlauf -------------------------------------------------------------------------------------------------------
def history_section(view: SegmentView) -> None:
    runs = segment_queries.history(view.id)
    if runs.empty:
        st.info(t("seg.no_runs"), icon=":material/history:")
        return
    chart = pd.DataFrame(
        {
            "at": [pd.Timestamp(at).tz_convert(DISPLAY_TZ).tz_localize(None) for at in runs["started_at"]],
            "size": runs["size"].astype(int),
            "at_text": [fmt_datetime(at, lang) for at in runs["started_at"]],
            "size_text": [fmt_number(size, lang) for size in runs["size"]],
        }
    )
    show_chart(
        line_over_time(chart, time="at", value="size", time_title=t("seg.run_at"), value_title=t("seg.size"),
                       tooltip_time="at_text", tooltip_value="size_text"),
        key=f"{NS}__size_chart",
    )
    newest = runs.iloc[::-1]
    st.markdown(f"**{t('seg.runs')}**")
    st.dataframe(
        pd.DataFrame(
            {
                t("seg.run_at"): [fmt_datetime(at, lang) for at in newest["started_at"]],
                t("seg.run_reason"): [t_or(f"seg.reason_{r}", r) for r in newest["reason"]],
                t("seg.size"): newest["size"].astype(int),
                t("seg.joined"): newest["joined"].astype(int),
                t("seg.left"): newest["left"].astype(int),
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(newest)),
    )
    changes_table(view)


def changes_table(view: SegmentView) -> None:
    changes = segment_queries.recent_changes(view.id)
    st.markdown(f"**{t('seg.changes')}**")
    if changes.empty:
        st.caption(t("seg.no_changes"))
        return
    st.caption(t("seg.changes_intro", n=len(changes)))
    st.dataframe(
        pd.DataFrame(
            {
                t("seg.change_at"): [fmt_datetime(at, lang) for at in changes["at"]],
                t("seg.change"): [t(f"seg.change_{c}") for c in changes["change"]],
                t("list.id"): changes["contact_id"].astype(int),
                t("seg.member_name"): [n if isinstance(n, str) else t("seg.contact_gone") for n in changes["name"]],
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(changes)),
    )


# Erreichbarkeit ------------------------------------------------------------------------------------------------
def share(part: int, whole: int) -> str:
    return f"{fmt_number(100 * part / whole, lang, digits=1)} %" if whole else "–"


def channel_table(snapshot: ReachSnapshot) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("seg.channel"): [channel_label(c.channel) for c in snapshot.channels],
            t("seg.members"): [fmt_number(c.members, lang) for c in snapshot.channels],
            t("seg.reachable_any"): [fmt_number(c.reachable, lang) for c in snapshot.channels],
            t("seg.share"): [share(c.reachable, c.members) for c in snapshot.channels],
        }
    )


def purpose_matrix(snapshot: ReachSnapshot) -> pd.DataFrame:
    """Purposes × channels: members reachable (and their share)."""
    first = snapshot.channels[0].purposes if snapshot.channels else ()
    matrix = {t("seg.purpose"): [purpose_label(p.purpose_de, p.purpose_en) for p in first]}
    for channel in snapshot.channels:
        matrix[channel_label(channel.channel)] = [
            f"{fmt_number(p.reachable, lang)} ({share(p.reachable, p.members)})" for p in channel.purposes
        ]
    return pd.DataFrame(matrix)


def reasons_table(channel: ChannelReach) -> pd.DataFrame:
    reasons = [key for key in GATE_REASONS if any(key in p.reasons for p in channel.purposes)]
    table = {t("seg.purpose"): [purpose_label(p.purpose_de, p.purpose_en) for p in channel.purposes]}
    for reason in reasons:
        counts = [fmt_number(p.reasons.get(reason, 0), lang) for p in channel.purposes]
        table[label(GATE_REASONS, reason, lang)] = counts
    return pd.DataFrame(table)


def refresh_reach_now(view: SegmentView) -> str:
    with st.spinner(t("seg.reach_computing")):
        refresh_reach(context.uow(), view.id)
    return t("seg.reach_refreshed")


def reach_section(view: SegmentView, snapshot: ReachSnapshot) -> None:
    refresh = st.button(t("seg.reach_refresh"), key=f"{NS}__reach_refresh", icon=":material/refresh:")
    if refresh:
        attempt(lambda: refresh_reach_now(view))
    if snapshot.computed_at is None:
        st.info(t("seg.reach_never", limit=fmt_number(REACH_AT_ONCE, lang)), icon=":material/info:")
        return
    stand = t("seg.reach_stand", when=fmt_datetime(snapshot.computed_at, lang))
    if snapshot.is_stale(context.clock()()):
        st.warning(f"{stand} {t('seg.reach_stale')}", icon=":material/schedule:")
    else:
        st.caption(stand)
    st.dataframe(channel_table(snapshot), hide_index=True, width="stretch")
    st.markdown(f"**{t('seg.matrix')}**")
    st.caption(t("seg.matrix_help"))
    st.dataframe(purpose_matrix(snapshot), hide_index=True, width="stretch")
    for channel in snapshot.channels:
        with st.expander(t("seg.reasons_for", channel=channel_label(channel.channel)), icon=":material/rule:"):
            st.dataframe(reasons_table(channel), hide_index=True, width="stretch")


# Verwendung ----------------------------------------------------------------------------------------------------
def usage_section(view: SegmentView) -> None:
    uses = segment_queries.usages(view.id)
    if not uses and not view.references:
        st.info(t("seg.unused"), icon=":material/info:")
        return
    if uses:
        st.markdown(f"**{t('seg.used_by')}**")
        st.dataframe(
            pd.DataFrame({t("seg.usage_kind"): [u.kind_label for u in uses], t("seg.name"): [u.name for u in uses]}),
            hide_index=True,
            width="stretch",
        )
        row = st.container(horizontal=True)
        for use in (u for u in uses if u.page and u.id is not None):
            if row.button(f"{use.kind_label}: {use.name}", key=f"{NS}__use_{use.page}_{use.id}",
                          icon=":material/open_in_new:"):
                st.switch_page(use.page, query_params={"id": str(use.id)})
    else:
        st.caption(t("seg.not_used"))
    if view.references:
        st.markdown(f"**{t('seg.uses')}**")
        segment_links(view.references, "uses")


# Performance ---------------------------------------------------------------------------------------------------
def deal_table(deals: tuple[DealFigures, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("seg.currency"): [d.currency for d in deals],
            t("seg.won_count"): [fmt_number(d.won_count, lang) for d in deals],
            t("seg.won_amount"): [fmt_money(d.won_amount, lang, d.currency) for d in deals],
            t("seg.open_count"): [fmt_number(d.open_count, lang) for d in deals],
            t("seg.open_amount"): [fmt_money(d.open_amount, lang, d.currency) for d in deals],
        }
    )


def performance_section(view: SegmentView) -> None:
    result = segment_queries.performance(view.id)
    st.markdown(f"**{t('seg.deals_title')}**")
    st.caption(t("seg.deals_help"))
    if result.deals:
        home = result.deals[0]
        won, revenue, pipeline = st.columns(3)
        won.metric(t("seg.won_count"), fmt_number(home.won_count, lang))
        revenue.metric(t("seg.won_amount"), fmt_money(home.won_amount, lang, home.currency))
        pipeline.metric(t("seg.open_amount"), fmt_money(home.open_amount, lang, home.currency))
        if len(result.deals) > 1:
            st.caption(t("seg.currencies_apart"))
        st.dataframe(deal_table(result.deals), hide_index=True, width="stretch")
    else:
        st.info(t("seg.no_deals"), icon=":material/info:")
    st.markdown(f"**{t('seg.campaigns_title')}**")
    if not result.campaigns:
        st.info(t("seg.no_campaigns"), icon=":material/campaign:")
        return
    campaigns = result.campaigns
    st.dataframe(
        pd.DataFrame(
            {
                t("seg.campaign"): [c.name for c in campaigns],
                t("seg.sent_at"): [fmt_datetime(c.sent_at, lang) if c.sent_at else "" for c in campaigns],
                t("seg.recipients"): [fmt_number(c.recipients, lang) for c in campaigns],
                t("seg.open_rate"): [share(c.opened, c.recipients) for c in campaigns],
                t("seg.click_rate"): [share(c.clicked, c.recipients) for c in campaigns],
                t("seg.conversion_rate"): [share(c.converted, c.recipients) for c in campaigns],
            }
        ),
        hide_index=True,
        width="stretch",
    )


# Page ----------------------------------------------------------------------------------------------------------
segment_id = selected_id(ID_KEY)
if segment_id is None:
    st.title(f":material/groups: {t('page.segment_detail')}")
    st.info(t("seg.pick_from_list"), icon=":material/info:")
    st.page_link(LIST_PAGE, label=t("page.segmente_liste"), icon=":material/groups:")
else:
    try:
        segment = segment_queries.segment(segment_id)
        reach_snapshot = segment_queries.reach(segment_id)
    except DomainError as exc:
        show_error(exc)
        if st.button(t("seg.to_list"), key=f"{NS}__back", icon=":material/arrow_back:"):
            st.switch_page(LIST_PAGE)
    else:
        start_afresh(segment.id)
        header(segment, reach_snapshot)
        actions(segment)
        sections: list[tuple[str, Callable[[], None]]] = [
            (t("seg.section_definition"), lambda: definition_section(segment)),
            (t("seg.section_members"), lambda: members_section(segment)),
            (t("seg.section_history"), lambda: history_section(segment)),
            (t("seg.section_reach"), lambda: reach_section(segment, reach_snapshot)),
            (t("seg.section_usage"), lambda: usage_section(segment)),
            (t("seg.section_performance"), lambda: performance_section(segment)),
        ]
        for container, (_title, render) in zip(object_sections(NS, [title for title, _ in sections]), sections):
            with container:
                try:
                    render()
                except DomainError as exc:
                    show_error(exc)
        open_dialog(segment)
