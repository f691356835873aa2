"""Deals on the account and contact pages: the tab "Verkaufschancen" and the account's "Offene Pipeline"."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.i18n import current_lang, t
from app.components.links import open_opportunity
from app.components.object_tabs import HeaderFacet, ObjectTab, register_header_facet, register_object_tab
from core.accounts import AccountView
from core.contacts import ContactView
from core.formatting import fmt_date, fmt_money, fmt_number
from core.listing import MAX_PAGE_SIZE, ListQuery

LIST_PAGE = "pages/opportunities_liste.py"
# Read by the list page: open its "Neue Verkaufschance" form with this company preset.
CREATE_PENDING = "opp_list__create_pending"
PRESET_ACCOUNT = "opp_list__new_for_account"


def deals_table(rows: pd.DataFrame, *, with_role: bool) -> pd.DataFrame:
    lang = current_lang()
    table = {
        t("field.opportunity.name"): rows["name"],
        t("field.opportunity.stage_id"): rows["stage_name"],
        t("opp.status"): [t(f"opp.status_{s}") for s in rows["status"]],
        t("field.opportunity.amount"): [fmt_money(a, lang, c) for a, c in zip(rows["amount"], rows["currency"])],
        t("opp.probability"): [f"{fmt_number(p, lang)} %" for p in rows["probability"]],
        t("field.opportunity.expected_close_date"): [
            "" if d is None or pd.isna(d) else fmt_date(d, lang) for d in rows["expected_close_date"]
        ],
        t("field.opportunity.owner_id"): rows["owner_name"].fillna(""),
    }
    if with_role:
        table = {
            t("field.opportunity.account_id"): rows["account_name"],
            **table,
            t("opp.role"): [f"{r} ★" if p else r for r, p in zip(rows["role"], rows["is_primary"])],
        }
    return pd.DataFrame(table)


def open_picker(ns: str, rows: pd.DataFrame) -> None:
    names = {int(r.id): str(r.name) for r in rows.itertuples()}
    pick_col, open_col = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick_col.selectbox(t("opp.open_one"), list(names), format_func=names.get, key=f"{ns}__pick")
    if open_col.button(t("list.open"), key=f"{ns}__open", icon=":material/open_in_new:", width="stretch"):
        open_opportunity(chosen)


def new_for_account(account_id: int) -> None:
    st.session_state[CREATE_PENDING] = True
    st.session_state[PRESET_ACCOUNT] = account_id
    st.session_state.pop("opp_new__loaded", None)
    st.switch_page(LIST_PAGE)


def account_tab(account: AccountView) -> None:
    ns = "acc_obj_opp"
    if context.may("opportunities.write") and st.button(t("opp.new"), key=f"{ns}__new", icon=":material/add:"):
        new_for_account(account.id)
    page = queries.opportunities_page(
        ListQuery(filters={"account_id": account.id}, sort="expected_close_date", page_size=MAX_PAGE_SIZE)
    )
    rows = page.rows
    if rows.empty:
        st.info(t("opp.account_none"), icon=":material/info:")
        return
    st.caption(t("opp.count", n=page.total, open=int((rows["status"] == "open").sum())))
    st.dataframe(deals_table(rows, with_role=False), hide_index=True, width="stretch")
    open_picker(ns, rows)


def contact_tab(contact: ContactView) -> None:
    rows = queries.contact_opportunities(contact.id)
    if rows.empty:
        st.info(t("opp.contact_none"), icon=":material/info:")
        return
    st.caption(t("opp.count", n=len(rows), open=int((rows["status"] == "open").sum())))
    st.dataframe(deals_table(rows, with_role=True), hide_index=True, width="stretch")
    open_picker("con_obj_opp", rows)


def open_pipeline(account: AccountView) -> str | None:
    """Open amounts per currency ("48.000,00 € · 5.000,00 CHF"); nothing when there are no open deals."""
    totals = queries.account_open_pipeline(account.id)
    lang = current_lang()
    return " · ".join(fmt_money(total, lang, currency) for currency, total in totals.items()) or None


READ = "opportunities.read"
register_object_tab(ObjectTab("account", "opportunities", "opp.tab", account_tab, permission=READ, order=40))
register_object_tab(ObjectTab("contact", "opportunities", "opp.tab", contact_tab, permission=READ, order=40))
register_header_facet(
    HeaderFacet("account", "open_pipeline", "opp.open_pipeline", open_pipeline, permission=READ, order=10)
)
