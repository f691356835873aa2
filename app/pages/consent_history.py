"""Einwilligungsverlauf: every entry of the consent ledger, newest first, filtered by contact, channel, purpose,
action, source and period, exported as CSV or Excel, and the check of the whole hash chain."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app.components import consent_matrix as cm
from app.components import queries
from app.components.feedback import show_error
from app.components.i18n import current_lang, t
from app.components.list_report import Column, ListFilter, ListReport
from core.consent.vocabulary import ACTION_LABELS, CHANNELS, SOURCES
from core.errors import DomainError
from core.formatting import fmt_datetime
from core.listing import ListQuery, Page

NS = "consent_hist"
SEARCH_KEY = f"{NS}__search"
CONTACT_KEY = f"{NS}__filter_contact_id"
RESULT_KEY = f"{NS}__chain_result"
lang = current_lang()
purpose_names = cm.purpose_names(cm.purposes(include_inactive=True))
contact_of: dict[int, int] = {}  # entry id → contact id of the rows fetched in this run ("Öffnen")


def chain_check() -> None:
    check_col, result_col = st.columns([1, 3], vertical_alignment="center")
    if check_col.button(t("consent.check_chain"), key=f"{NS}__check", type="primary", icon=":material/verified:", width="stretch"):
        try:
            st.session_state[RESULT_KEY] = cm.chain_status()
        except DomainError as exc:
            show_error(exc)
    result = st.session_state.get(RESULT_KEY)
    with result_col:
        if result is None:
            st.caption(t("consent.check_hint"))
        elif result.ok:
            st.success(t("consent.chain_ok", n=result.checked), icon=":material/verified:")
        else:
            st.error(t("consent.chain_broken", id=result.first_bad_id, problem=result.problem), icon=":material/gpp_bad:")


def take_link_filter() -> None:
    """`?contact_id=…` (from the consent page) filters the list by that contact once."""
    raw = st.query_params.get("contact_id")
    if raw is not None and str(raw).isdigit():
        st.session_state[CONTACT_KEY] = int(raw)
        st.session_state[SEARCH_KEY] = ""
        del st.query_params["contact_id"]


def contact_label(contact_id: int) -> str:
    try:
        return f"{queries.contact(contact_id).full_name} (Nr. {contact_id})"
    except DomainError:
        return t("consent.contact_no", id=contact_id)  # erased: the ledger outlives the contact


def contact_options(term: str) -> dict[int, str]:
    """Contacts matching the search (a name or address), plus the one chosen in the filter."""
    found = queries.contact_search(term) if term and not term.isdigit() else {}
    chosen = st.session_state.get(CONTACT_KEY)
    if chosen is not None and chosen not in found:
        found = {chosen: contact_label(chosen)} | found
    return found


def readable(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["channel_label"] = [cm.channel_label(c) for c in rows["channel"]]
    rows["purpose_name"] = [purpose_names.get(int(p), str(p)) for p in rows["purpose_id"]]
    rows["action_label"] = [cm.action_label(a) for a in rows["action"]]
    rows["status_label"] = [cm.status_label(s) for s in rows["status"]]
    rows["basis_label"] = [cm.basis_label(b, short=True) for b in rows["legal_basis"]]
    rows["source_label"] = [cm.source_label(s) for s in rows["source"]]
    return rows


def fetch(query: ListQuery) -> Page:
    """The ledger page for the chosen filters; the search names a contact (number, name or e-mail)."""
    filters = dict(query.filters)
    search = (query.search or "").strip()
    if "contact_id" not in filters and search:
        if search.isdigit():
            filters["contact_id"] = int(search)
        else:
            found = queries.contact_search(search)
            if len(found) != 1:  # none, or several: the user picks one in the filter "Kontakt"
                return Page(pd.DataFrame(), 0, 1, query.page_size)
            filters["contact_id"] = next(iter(found))
    if isinstance(since := filters.pop("since", None), dt.date):
        filters["since"] = cm.local_day_start(since)
    if isinstance(until := filters.pop("until", None), dt.date):
        filters["until"] = cm.local_day_start(until + dt.timedelta(days=1))
    page = cm.history(ListQuery(filters=filters, page=query.page, page_size=query.page_size))
    rows = readable(page.rows)
    contact_of.update(zip(rows["id"].astype(int), rows["contact_id"].astype(int)))
    return Page(rows, page.total, page.page, page.page_size)


def row_label(row: pd.Series) -> str:
    when = fmt_datetime(pd.Timestamp(row["occurred_at"]).to_pydatetime(), lang)
    return t("consent.history_row", id=row["id"], when=when, action=row["action_label"], purpose=row["purpose_name"],
             channel=row["channel_label"], contact=row["contact_id"])


def open_entry(entry_id: int) -> None:
    cm.open_consent_page(contact_of[entry_id])


st.title(f":material/history: {t('page.consent_history')}")
st.caption(t("consent.history_intro"))
chain_check()
st.divider()

take_link_filter()
term = (st.session_state.get(SEARCH_KEY) or "").strip()
contacts = contact_options(term)
if term and not term.isdigit() and st.session_state.get(CONTACT_KEY) is None and len(contacts) > 1:
    st.info(t("consent.history_pick_contact", n=len(contacts)), icon=":material/person_search:")

ListReport(
    ns=NS,
    noun=t("consent.entries"),
    columns=[
        Column("id", t("consent.entry_no")),
        Column("occurred_at", t("consent.when"), "datetime"),
        Column("contact_id", t("consent.contact_id")),
        Column("action_label", t("consent.action")),
        Column("channel_label", t("consent.channel")),
        Column("purpose_name", t("consent.purpose")),
        Column("status_label", t("consent.status")),
        Column("basis_label", t("consent.basis")),
        Column("source_label", t("consent.source")),
        Column("text_version", t("consent.text_version"), "int"),
        Column("address", t("consent.address")),
        Column("actor_name", t("consent.actor")),
        Column("reason", t("consent.reason")),
        Column("evidence", t("consent.evidence"), visible=False),
        Column("valid_until", t("consent.valid_until"), "datetime", visible=False),
        Column("order_id", t("consent.order"), visible=False),
        Column("doi_requested_at", t("consent.doi_requested_at"), "datetime", visible=False),
        Column("doi_confirmed_at", t("consent.doi_confirmed_at"), "datetime", visible=False),
        Column("ip", t("consent.ip"), visible=False),
        Column("user_agent", t("consent.user_agent"), visible=False),
        Column("text_sha256", t("consent.text_hash"), visible=False),
        Column("hash", t("consent.hash"), visible=False),
    ],
    fetch=fetch,
    row_label=row_label,
    open_record=open_entry,
    filters=[
        ListFilter("contact_id", t("consent.contact"), list(contacts), format_func=contacts.get, kind="select"),
        ListFilter("channel", t("consent.channel"), list(CHANNELS), format_func=cm.channel_label, kind="select"),
        ListFilter("purpose_id", t("consent.purpose"), list(purpose_names), format_func=purpose_names.get, kind="select"),
        ListFilter("action", t("consent.action"), list(ACTION_LABELS), format_func=cm.action_label, kind="select"),
        ListFilter("source", t("consent.source"), list(SOURCES), format_func=cm.source_label, kind="select", more=True),
        ListFilter("since", t("consent.since_day"), kind="date", more=True),
        ListFilter("until", t("consent.until_day"), kind="date", more=True),
    ],
    export_name="einwilligungsverlauf",
    search_placeholder=t("consent.history_search"),
    empty_hint=t("consent.history_empty"),
).render()
