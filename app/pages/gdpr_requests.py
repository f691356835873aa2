"""Betroffenenanfragen: every data-subject request with its deadline as a traffic light, filtered by status and
type (open ones by default), and the "Neue Anfrage" dialog that records an incoming request; the service
computes the one-month deadline, which the page shows right after saving."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from app.components.list_report import Column, ListFilter, ListReport
from core.errors import DomainError
from core.formatting import fmt_date
from core.gdpr.deadlines import BERLIN
from core.gdpr.requests import receive_request
from core.gdpr.vocabulary import CHANNELS, REQUEST_TYPES, STATUSES, label, type_label
from core.listing import ListQuery, Page

NS = "gdpr_list"
NEW = "gdpr_new"
CREATE_PENDING = f"{NS}__create_pending"
CREATED = f"{NS}__created"  # (request id, due date) of the request just recorded, until opened or dismissed
OPEN_ONLY = f"{NS}__open_only"
DETAIL_PAGE = "pages/gdpr_request_detail.py"
DETAIL_ID_KEY = "gdpr_request_detail__id"
SORTABLE = ("id", "received_at", "due_on")
lang = current_lang()

FIELD_LABELS = {
    "type": t("gdpr.type"),
    "channel": t("gdpr.channel"),
    "requester": t("gdpr.requester"),
    "requester_email": t("gdpr.requester_email"),
    "requester_phone": t("gdpr.requester_phone"),
    "received_at": t("gdpr.received_at"),
    "assignee_id": t("gdpr.assignee"),
}


def open_request(request_id: int) -> None:
    st.session_state[DETAIL_ID_KEY] = request_id
    st.switch_page(DETAIL_PAGE, query_params={"id": str(request_id)})


# "Neue Anfrage" ----------------------------------------------------------------------------------
def close_create() -> None:
    st.session_state.pop(CREATE_PENDING, None)


def create_dialog() -> None:
    owners = queries.owner_choices()
    me = context.current_actor().user_id
    now = context.clock()().astimezone(BERLIN)

    @st.dialog(t("gdpr.new"), width="large", on_dismiss=close_create)
    def _dialog() -> None:
        st.caption(t("gdpr.new_intro"))
        left, right = st.columns(2)
        kind = left.selectbox(
            t("gdpr.type"), list(REQUEST_TYPES), format_func=lambda k: type_label(k, lang), key=f"{NEW}__type"
        )
        channel = right.selectbox(
            t("gdpr.channel"), list(CHANNELS), format_func=lambda k: label(CHANNELS, k, lang), key=f"{NEW}__channel"
        )
        day = left.date_input(
            t("gdpr.received_day"), value=now.date(), max_value=now.date(), format="DD.MM.YYYY", key=f"{NEW}__day"
        )
        time = right.time_input(t("gdpr.received_time"), value=now.time().replace(second=0, microsecond=0),
                                key=f"{NEW}__time", step=60)
        st.caption(t("gdpr.received_help"))
        name = left.text_input(t("gdpr.requester_name"), key=f"{NEW}__name")
        email = right.text_input(t("gdpr.requester_email"), key=f"{NEW}__email")
        phone = left.text_input(t("gdpr.requester_phone"), key=f"{NEW}__phone")
        assignee = right.selectbox(
            t("gdpr.assignee"),
            list(owners),
            index=list(owners).index(me) if me in owners else None,
            format_func=lambda i: owners.get(i, str(i)),
            placeholder=t("gdpr.unassigned"),
            key=f"{NEW}__assignee",
        )
        description = st.text_area(
            t("gdpr.description"), key=f"{NEW}__description", placeholder=t("gdpr.description_placeholder"), height=100
        )
        go, cancel = st.columns(2)
        if go.button(t("gdpr.create"), key=f"{NEW}__go", type="primary", icon=":material/add:", width="stretch"):
            received = (
                dt.datetime.combine(day, time, tzinfo=BERLIN)
                if isinstance(day, dt.date) and isinstance(time, dt.time)
                else None
            )
            try:
                view = receive_request(
                    context.uow(),
                    type=kind,
                    channel=channel,
                    requester_name=name,
                    requester_email=email,
                    requester_phone=phone,
                    description=description,
                    received_at=received,
                    assignee_id=assignee,
                )
            except DomainError as exc:
                show_error(exc, labels=FIELD_LABELS)
                return
            close_create()
            for field in ("type", "channel", "day", "time", "name", "email", "phone", "assignee", "description"):
                st.session_state.pop(f"{NEW}__{field}", None)
            st.session_state[CREATED] = (view.id, view.due_on)
            queries.clear_reads()
            flash(t("gdpr.created", id=view.id))
            st.rerun()
        if cancel.button(t("common.cancel"), key=f"{NEW}__cancel", width="stretch"):
            close_create()
            st.rerun()

    _dialog()


def created_notice() -> None:
    """The request just recorded, with the deadline the service computed, and a way to open it."""
    created = st.session_state.get(CREATED)
    if created is None:
        return
    request_id, due_on = created
    with st.container(border=True):
        st.success(t("gdpr.created_due", id=request_id, due=fmt_date(due_on, lang)), icon=":material/event:")
        open_col, close_col, _ = st.columns([1, 1, 3])
        if open_col.button(t("gdpr.open_created"), key=f"{NS}__open_created", type="primary",
                           icon=":material/open_in_new:", width="stretch"):
            st.session_state.pop(CREATED, None)
            open_request(request_id)
        if close_col.button(t("gdpr.dismiss"), key=f"{NS}__dismiss_created", icon=":material/close:", width="stretch"):
            st.session_state.pop(CREATED, None)
            st.rerun()


# List ---------------------------------------------------------------------------------------------
def fetch(query: ListQuery) -> Page:
    """The service's requests, searched, sorted and paged here (a register of requests, not of customers)."""
    rows = queries.gdpr_requests(
        status=query.filters.get("status"),
        type=query.filters.get("type"),
        open_only=bool(st.session_state.get(OPEN_ONLY)),
    )
    if query.search:
        term = query.search.casefold()
        found = rows["requester"].fillna("").str.casefold().str.contains(term, regex=False)
        rows = rows[found | (rows["id"].astype(str) == term.lstrip("#"))]
    if query.sort in SORTABLE:
        rows = rows.sort_values([query.sort, "id"], ascending=not query.descending, kind="stable")
    start = (query.page - 1) * query.page_size
    shown = rows.iloc[start : start + query.page_size].copy()
    shown["light"] = [t(f"gdpr.light_{light}") for light in shown["light"]]
    shown["type"] = [type_label(k, lang) for k in shown["type"]]
    shown["status"] = [label(STATUSES, s, lang) for s in shown["status"]]
    shown["channel"] = [label(CHANNELS, c, lang) for c in shown["channel"]]
    shown["extended"] = [t("common.yes") if e else "" for e in shown["extended"]]
    shown["days_left"] = shown["days_left"].astype(object).where(shown["days_left"].notna(), None)
    return Page(shown.reset_index(drop=True), len(rows), query.page, query.page_size)


def row_label(row: pd.Series) -> str:
    requester = row["requester"] or "–"
    return t("gdpr.row_label", light=row["light"], id=int(row["id"]), type=row["type"], requester=requester)


title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title(f":material/assignment_ind: {t('page.gdpr_requests')}")
may_manage = context.may("gdpr.manage")
if may_manage and new_col.button(
    t("gdpr.new"), key=f"{NS}__new", type="primary", icon=":material/add:", width="stretch"
):
    st.session_state[CREATE_PENDING] = True
if may_manage and st.session_state.get(CREATE_PENDING):
    create_dialog()
st.caption(t("gdpr.list_intro"))
created_notice()

st.session_state.setdefault(OPEN_ONLY, True)
toggle_col, legend_col = st.columns([1, 3], vertical_alignment="center")
toggle_col.toggle(t("gdpr.open_only"), key=OPEN_ONLY)
legend_col.caption(t("gdpr.light_legend"))
ListReport(
    ns=NS,
    noun=t("gdpr.plural"),
    columns=[
        Column("id", t("list.id"), "int", sortable=True),
        Column("type", t("gdpr.type")),
        Column("status", t("gdpr.status")),
        Column("requester", t("gdpr.requester")),
        Column("received_at", t("gdpr.received_at"), "datetime", sortable=True),
        Column("light", t("gdpr.deadline_light")),
        Column("due_on", t("gdpr.due_on"), "date", sortable=True),
        Column("days_left", t("gdpr.days_left"), "int"),
        Column("assignee", t("gdpr.assignee")),
        Column("channel", t("gdpr.channel"), visible=False),
        Column("extended", t("gdpr.extended"), visible=False),
    ],
    fetch=fetch,
    row_label=row_label,
    open_record=open_request,
    filters=[
        ListFilter(
            "status", t("gdpr.status"), list(STATUSES), format_func=lambda s: label(STATUSES, s, lang), kind="select"
        ),
        ListFilter(
            "type", t("gdpr.type"), list(REQUEST_TYPES), format_func=lambda k: type_label(k, lang), kind="select"
        ),
    ],
    export_name="betroffenenanfragen",
    search_placeholder=t("gdpr.search_placeholder"),
    empty_hint=t("gdpr.empty_open" if st.session_state.get(OPEN_ONLY) else "gdpr.empty"),
    default_sort="due_on",
).render()
