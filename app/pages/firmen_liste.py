"""Firmen: the account list (search, filter by industry/legal form/owner, open, delete, export)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.i18n import t
from app.components.links import open_account
from app.components.list_report import Column, ListFilter, ListReport, delete_action
from core.accounts import INDUSTRIES, LEGAL_FORMS, delete_account

actor = context.current_actor()


def label(row: pd.Series) -> str:
    place = " ".join(str(p) for p in (row["postcode"], row["city"]) if p)
    return f"{row['name']} · {place}" if place else str(row["name"])


title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title(f":material/domain: {t('page.accounts')}")
if actor.can("accounts.write") and new_col.button(
    t("accounts.new"), key="acc_list__new", type="primary", icon=":material/add:", width="stretch"
):
    open_account(None)

owners = queries.owner_choices()
ListReport(
    ns="acc_list",
    noun=t("accounts.plural"),
    columns=[
        Column("id", t("list.id"), "int", sortable=True),
        Column("name", t("field.account.name"), sortable=True),
        Column("legal_form", t("field.account.legal_form")),
        Column("industry", t("field.account.industry"), sortable=True),
        Column("postcode", t("field.account.postcode"), sortable=True),
        Column("city", t("field.account.city"), sortable=True),
        Column("owner_name", t("field.account.owner_id")),
        Column("contacts", t("accounts.contacts"), "int"),
        Column("updated_at", t("common.updated_at"), "datetime", sortable=True),
    ],
    fetch=queries.accounts_page,
    row_label=label,
    open_record=open_account,
    filters=[
        ListFilter("industry", t("field.account.industry"), INDUSTRIES),
        ListFilter("legal_form", t("field.account.legal_form"), LEGAL_FORMS),
        ListFilter("owner_id", t("field.account.owner_id"), list(owners), format_func=lambda i: owners.get(i, str(i))),
    ],
    bulk_actions=[
        delete_action(
            "accounts", lambda record_id, reason: delete_account(context.uow(), record_id, expected_version=None, reason=reason)
        )
    ]
    if actor.can("accounts.delete")
    else [],
    export_name="firmen",
    search_placeholder=t("accounts.search_placeholder"),
    empty_hint=t("accounts.empty"),
    default_sort="name",
).render()
