"""Start page: what this role needs first — own work, data protection status, or administration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import show_error
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from app.components.links import open_account
from core.errors import DomainError
from core.formatting import fmt_date, fmt_datetime
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.sales.opportunities import local_today

lang = current_lang()
user = context.current_user()
actor = context.current_actor()
assert user is not None
st.title(t("start.greeting", name=user.display_name))
st.caption(f"{t(f'role.{user.role.value}')} · {fmt_date(context.clock()(), lang)}")


def count(fetch: Callable[[ListQuery], Page], **filters: object) -> int:
    return fetch(ListQuery(filters=filters, page_size=1)).total


def my_work(actor: Actor) -> None:
    """Sales roles: my accounts and contacts, and what changed last among my accounts."""
    st.subheader(t("start.my_work"))
    mine = {"owner_id": actor.user_id}
    kpi_row(
        [
            Kpi(t("start.my_accounts"), count(queries.accounts_page, **mine), icon=":material/domain:"),
            Kpi(t("start.my_contacts"), count(queries.contacts_page, **mine), icon=":material/contacts:"),
            Kpi(t("start.all_accounts"), count(queries.accounts_page), icon=":material/apartment:"),
            Kpi(t("start.all_contacts"), count(queries.contacts_page), icon=":material/groups:"),
        ]
    )
    if actor.can("opportunities.write"):
        my_pipeline(actor)
    recent = queries.accounts_page(ListQuery(filters=mine, sort="updated_at", descending=True, page_size=5)).rows
    st.markdown(f"**{t('start.recently_changed')}**")
    if recent.empty:
        st.info(t("start.no_own_accounts"), icon=":material/info:")
        return
    for row in recent.itertuples():
        name_col, city_col, when_col, open_col = st.columns([3, 2, 2, 1], vertical_alignment="center")
        name_col.markdown(f"**{row.name}**")
        # pandas 3 stores missing text as NaN, which is truthy: test for real values.
        city_col.caption(" ".join(str(p) for p in (row.postcode, row.city) if pd.notna(p) and p) or "–")
        when_col.caption(fmt_datetime(row.updated_at, lang))
        if open_col.button(t("list.open"), key=f"start__open_{row.id}", icon=":material/open_in_new:"):
            open_account(int(row.id))


def my_pipeline(actor: Actor) -> None:
    """Sales roles: my open deals, those due this month, and the way to the board."""
    today = local_today(context.clock()())
    month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    mine = {"owner_id": actor.user_id, "status": "open"}
    kpi_row(
        [
            Kpi(t("start.my_open_deals"), count(queries.opportunities_page, **mine), icon=":material/handshake:"),
            Kpi(
                t("start.my_deals_due"),
                count(queries.opportunities_page, **mine, close_from=today.replace(day=1), close_to=month_end),
                icon=":material/event:",
            ),
        ]
    )
    st.page_link("pages/pipeline_kanban.py", label=t("page.pipeline_kanban"), icon=":material/view_kanban:")


def overview_counts() -> None:
    st.subheader(t("start.overview"))
    kpi_row(
        [
            Kpi(t("start.all_accounts"), count(queries.accounts_page), icon=":material/apartment:"),
            Kpi(t("start.all_contacts"), count(queries.contacts_page), icon=":material/groups:"),
        ]
    )


def compliance_status() -> None:
    st.subheader(t("start.compliance"))
    result = queries.chain_status()
    if result.ok:
        st.success(t("audit.chain_ok", n=result.checked), icon=":material/verified:")
    else:
        st.error(t("audit.chain_broken", id=result.first_bad_id, problem=result.problem), icon=":material/gpp_bad:")
    st.page_link("pages/audit_protokoll.py", label=t("page.audit"), icon=":material/verified_user:")


def administration() -> None:
    st.subheader(t("start.administration"))
    users = queries.users_table()
    keys = queries.api_keys_table()
    kpi_row(
        [
            Kpi(t("start.active_users"), int(users["is_active"].sum()) if not users.empty else 0, icon=":material/group:"),
            Kpi(t("start.active_keys"), int(keys["revoked_at"].isna().sum()) if not keys.empty else 0, icon=":material/key:"),
        ]
    )
    if actor.can("events.read"):
        events = queries.events(limit=5)
        st.markdown(f"**{t('start.latest_events')}**")
        if events.empty:
            st.info(t("events.empty"), icon=":material/info:")
        for row in events.itertuples():
            st.caption(f"{fmt_datetime(row.occurred_at, lang)} · `{row.name}` · {row.entity} {row.entity_id}")


def shortcuts() -> None:
    st.subheader(t("start.shortcuts"))
    links = [
        ("pages/firmen_liste.py", "page.accounts", ":material/domain:", "accounts.read"),
        ("pages/kontakte_liste.py", "page.contacts", ":material/contacts:", "contacts.read"),
        ("pages/opportunities_liste.py", "page.opportunities", ":material/handshake:", "opportunities.read"),
        ("pages/stammdaten_bericht.py", "page.master_data_report", ":material/bar_chart:", "reports.read"),
        ("pages/audit_protokoll.py", "page.audit", ":material/verified_user:", "audit.read"),
        ("pages/admin_benutzer.py", "page.users", ":material/group:", "users.manage"),
    ]
    allowed = [link for link in links if actor.can(link[3])]
    for cell, (path, key, icon, _) in zip(st.columns(len(allowed) or 1), allowed):
        with cell.container(border=True):
            st.page_link(path, label=t(key), icon=icon, width="stretch")


try:
    if actor.can("accounts.write") and not actor.can("users.manage"):
        my_work(actor)
    else:
        overview_counts()
    if actor.can("audit.read"):
        compliance_status()
    if actor.can("users.manage"):
        administration()
    shortcuts()
except DomainError as exc:
    show_error(exc)
