"""Datenschutz-Cockpit: the data-subject requests at a glance — open, due within 7 days, overdue, average
handling time, closed late; requests by type; the open requests by due date with their traffic lights; the
record of processing activities (Art. 30) as PDF and the check of the request log's hash chain."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.charts import horizontal_bars, show_chart
from app.components.exporting import download_button
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from core.formatting import fmt_date, fmt_number
from core.gdpr.deadlines import DUE_SOON_DAYS
from core.gdpr.requests import Dashboard
from core.gdpr.vocabulary import REQUEST_TYPES, STATUSES, label, type_label
from core.ledger import Verification

NS = "gdpr_cockpit"
LIST_PAGE = "pages/gdpr_requests.py"
DETAIL_PAGE = "pages/gdpr_request_detail.py"
DETAIL_ID_KEY = "gdpr_request_detail__id"
lang = current_lang()


def open_request(request_id: int) -> None:
    st.session_state[DETAIL_ID_KEY] = request_id
    st.switch_page(DETAIL_PAGE, query_params={"id": str(request_id)})


def key_figures(data: Dashboard) -> None:
    kpi_row(
        [
            Kpi(t("gdpr.kpi_open"), data.open, help=t("gdpr.kpi_open_help"), icon=":material/pending_actions:"),
            Kpi(t("gdpr.kpi_due_soon"), data.due_soon, help=t("gdpr.kpi_due_soon_help", days=DUE_SOON_DAYS),
                icon=":material/schedule:"),
            Kpi(t("gdpr.kpi_overdue"), data.overdue, help=t("gdpr.kpi_overdue_help"), icon=":material/alarm:"),
        ]
    )
    kpi_row(
        [
            Kpi(t("gdpr.kpi_average"), data.average_handling_days, kind="decimal", help=t("gdpr.kpi_average_help"),
                icon=":material/timer:"),
            Kpi(
                t("gdpr.kpi_late"),
                data.closed_late,
                help=t("gdpr.kpi_late_help"),
                icon=":material/running_with_errors:",
            ),
            Kpi(
                t("gdpr.kpi_closed"),
                t(
                    "gdpr.kpi_closed_value",
                    completed=fmt_number(data.completed, lang),
                    rejected=fmt_number(data.rejected, lang),
                ),
                kind="text",
                help=t("gdpr.kpi_closed_help"),
                icon=":material/task_alt:",
            ),
        ]
    )


def by_type_chart(data: Dashboard) -> None:
    frame = pd.DataFrame(
        {
            "type": [type_label(k, lang) for k in REQUEST_TYPES],
            "count": [data.by_type.get(k, 0) for k in REQUEST_TYPES],
        }
    )
    frame["count_text"] = [fmt_number(n, lang) for n in frame["count"]]
    show_chart(
        horizontal_bars(
            frame, category="type", value="count", category_title=t("gdpr.type"), value_title=t("gdpr.requests_count"),
            tooltip_text="count_text",
        ),
        key=f"{NS}__by_type",
    )


def open_requests() -> None:
    rows = queries.gdpr_requests(open_only=True).sort_values(["due_on", "id"], kind="stable").reset_index(drop=True)
    if rows.empty:
        st.info(t("gdpr.no_open"), icon=":material/task_alt:")
        return
    table = pd.DataFrame(
        {
            t("gdpr.deadline_light"): [t(f"gdpr.light_{light}") for light in rows["light"]],
            t("list.id"): rows["id"].astype(int),
            t("gdpr.type"): [type_label(k, lang) for k in rows["type"]],
            t("gdpr.status"): [label(STATUSES, s, lang) for s in rows["status"]],
            t("gdpr.requester"): rows["requester"].fillna("–"),
            t("gdpr.due_on"): [fmt_date(d, lang) for d in rows["due_on"]],
            t("gdpr.days_left"): [fmt_number(int(d), lang) for d in rows["days_left"]],
            t("gdpr.assignee"): rows["assignee"].fillna(t("gdpr.unassigned")),
        }
    )
    st.caption(t("gdpr.light_legend"))
    event = st.dataframe(
        table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key=f"{NS}__open_table"
    )
    selected = event.selection.rows if event is not None else []
    names = {
        int(r.id): t("gdpr.row_label", light=t(f"gdpr.light_{r.light}"), id=int(r.id), type=type_label(r.type, lang),
                     requester=r.requester or "–")
        for r in rows.itertuples()
    }
    pick_col, open_col = st.columns([3, 1], vertical_alignment="bottom")
    picked = pick_col.selectbox(
        t("gdpr.request"), list(names), index=None, format_func=names.__getitem__,
        placeholder=t("gdpr.open_placeholder"), key=f"{NS}__pick",
    )
    target = picked if picked is not None else (int(rows.iloc[selected[0]]["id"]) if selected else None)
    if open_col.button(t("list.open"), key=f"{NS}__open", type="primary", icon=":material/open_in_new:",
                       disabled=target is None, width="stretch") and target is not None:
        open_request(target)


def show_verification(verification: Verification) -> None:
    if verification.ok:
        st.success(t("audit.chain_ok", n=fmt_number(verification.checked, lang)), icon=":material/verified:")
    else:
        broken = t("audit.chain_broken", id=verification.first_bad_id, problem=verification.problem)
        st.error(broken, icon=":material/gpp_bad:")


def records_and_checks() -> None:
    st.subheader(t("gdpr.records_title"))
    st.caption(t("gdpr.records_intro"))

    def processing_record() -> bytes:
        from core.gdpr.documents import processing_record_pdf

        return processing_record_pdf(context.uow())

    download_button(
        st.container(), t("gdpr.processing_record"), processing_record,
        file_name="verzeichnis-verarbeitungstaetigkeiten.pdf", key=f"{NS}__record_pdf", width="content",
    )
    if st.button(t("gdpr.check_log"), key=f"{NS}__check", icon=":material/verified:", help=t("gdpr.check_help")):
        show_verification(queries.gdpr_chain_status(fresh=True))


st.title(f":material/admin_panel_settings: {t('page.gdpr_dashboard')}")
st.caption(t("gdpr.dashboard_intro"))
data = queries.gdpr_dashboard()
if data.open + data.completed + data.rejected == 0:
    st.info(t("gdpr.dashboard_empty"), icon=":material/info:")
    st.page_link(LIST_PAGE, label=t("page.gdpr_requests"), icon=":material/assignment_ind:")
    records_and_checks()
else:
    key_figures(data)
    st.subheader(t("gdpr.open_title"))
    open_requests()
    chart_col, records_col = st.columns(2, gap="large")
    with chart_col:
        st.subheader(t("gdpr.by_type_title"))
        by_type_chart(data)
    with records_col:
        records_and_checks()
