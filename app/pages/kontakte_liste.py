"""Kontakte: the contact list (search, filter by company/owner, open, delete, export)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.i18n import t
from app.components.links import open_contact
from app.components.list_report import Column, ListFilter, ListReport, delete_action
from core.contacts import delete_contact

actor = context.current_actor()


def label(row: pd.Series) -> str:
    name = f"{row['first_name']} {row['last_name']}"
    return f"{name} · {row['account_name']}" if row["account_name"] else name


title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title(f":material/contacts: {t('page.contacts')}")
if actor.can("contacts.write") and new_col.button(
    t("contacts.new"), key="con_list__new", type="primary", icon=":material/person_add:", width="stretch"
):
    open_contact(None)

owners = queries.owner_choices()
ListReport(
    ns="con_list",
    noun=t("contacts.plural"),
    columns=[
        Column("id", t("list.id"), "int", sortable=True),
        Column("last_name", t("field.contact.last_name"), sortable=True),
        Column("first_name", t("field.contact.first_name"), sortable=True),
        Column("job_title", t("field.contact.job_title")),
        Column("email", t("field.contact.email"), sortable=True),
        Column("phone", t("field.contact.phone"), visible=False),
        Column("account_name", t("field.contact.account_id"), sortable=True),
        Column("city", t("field.contact.city"), sortable=True),
        Column("owner_name", t("field.contact.owner_id"), visible=False),
        Column("updated_at", t("common.updated_at"), "datetime", sortable=True),
    ],
    fetch=queries.contacts_page,
    row_label=label,
    open_record=open_contact,
    filters=[
        ListFilter("owner_id", t("field.contact.owner_id"), list(owners), format_func=lambda i: owners.get(i, str(i))),
    ],
    bulk_actions=[
        delete_action(
            "contacts", lambda record_id, reason: delete_contact(context.uow(), record_id, expected_version=None, reason=reason)
        )
    ]
    if actor.can("contacts.delete")
    else [],
    export_name="kontakte",
    search_placeholder=t("contacts.search_placeholder"),
    empty_hint=t("contacts.empty"),
    default_sort="last_name",
).render()
