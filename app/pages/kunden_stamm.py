"""Kundenstamm: one account — key figures, edit form, addresses, contacts and the change log, plus the
tabs and facets later capabilities register (app/components/object_tabs.py).
Without a selected account it is the "Neue Firma" wizard."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.address_tab import address_tab
from app.components.dialogs import delete_section
from app.components.duplicate_hints import render_duplicate_hints, render_form_hints
from app.components.feedback import show_error
from app.components.fields import FormField
from app.components.history_view import change_log_section
from app.components.i18n import current_lang, t
from app.components.links import ACCOUNT_ID_KEY, open_account, open_contact, selected_id
from app.components.object_page import EditForm, Facet, object_header
from app.components.object_tabs import ObjectTab, facets_for, render_object_tabs
from app.components.wizard import Wizard, WizardStep
from core.accounts import (
    INDUSTRIES,
    LEGAL_FORMS,
    REVENUE_CLASSES,
    AccountView,
    create_account,
    delete_account,
    update_account,
)
from core.addresses import Owner
from core.errors import DomainError
from core.formatting import fmt_datetime, fmt_number
from core.listing import ListQuery

NS = "acc_obj"
lang = current_lang()
owners = queries.owner_choices()


def label(name: str) -> str:
    return t(f"field.account.{name}")


def with_current(options: tuple[str, ...], current: str | None) -> tuple[str, ...]:
    """Keep a stored value selectable even if it is not (or no longer) in the catalogue."""
    return options if current is None or current in options else (*options, current)


def field_groups(current: AccountView | None) -> list[tuple[str, list[FormField]]]:
    industry = current.industry if current else None
    return [
        (
            t("accounts.step_company"),
            [
                FormField("name", label("name"), required=True, placeholder="Müller Maschinenbau"),
                FormField("legal_form", label("legal_form"), "select", LEGAL_FORMS),
                FormField("industry", label("industry"), "select", with_current(INDUSTRIES, industry)),
                FormField("revenue_class", label("revenue_class"), "select", REVENUE_CLASSES),
                FormField("employees", label("employees"), "int"),
                FormField("external_id", label("external_id"), help=t("accounts.external_id_help")),
            ],
        ),
        (
            t("accounts.step_address"),
            [
                FormField("street", label("street")),
                FormField("postcode", label("postcode"), placeholder="50667"),
                FormField("city", label("city")),
                FormField("country", label("country"), required=True, placeholder="DE", help=t("accounts.country_help")),
                FormField("phone", label("phone"), placeholder="+49 221 123456"),
                FormField("email", label("email"), placeholder="info@firma.de"),
                FormField("website", label("website"), placeholder="https://"),
            ],
        ),
        (
            t("accounts.step_owner"),
            [
                FormField("owner_id", label("owner_id"), "select", list(owners), format_func=lambda i: owners.get(i, str(i))),
                FormField("notes", label("notes"), "textarea"),
            ],
        ),
    ]


def new_account_wizard() -> None:
    st.title(f":material/add_business: {t('accounts.new')}")
    if not context.may("accounts.write"):
        st.info(t("accounts.pick_from_list"), icon=":material/info:")
        st.page_link("pages/firmen_liste.py", label=t("page.accounts"), icon=":material/domain:")
        return

    def created(view: AccountView) -> None:
        st.session_state[ACCOUNT_ID_KEY] = view.id
        st.query_params["id"] = str(view.id)

    render_duplicate_hints("accounts", st.session_state.get("acc_new__data") or {})
    Wizard(
        ns="acc_new",
        steps=[WizardStep(title, fields) for title, fields in field_groups(None)],
        finish=lambda data: create_account(context.uow(), data | {"country": data.get("country") or "DE"}),
        finish_label=t("accounts.create"),
        on_done=created,
        done_message=t("accounts.created"),
        initial={"country": "DE"},
    ).render()


def header(account: AccountView) -> None:
    object_header(
        account.name,
        subtitle=t(
            "common.record_meta",
            id=account.id,
            created=fmt_datetime(account.created_at, lang),
            updated=fmt_datetime(account.updated_at, lang),
            version=account.version,
        ),
        facets=[
            Facet(label("legal_form"), account.legal_form or "–"),
            Facet(label("industry"), account.industry or "–"),
            Facet(label("revenue_class"), account.revenue_class or "–"),
            Facet(label("owner_id"), account.owner_name or "–"),
            Facet(label("city"), " ".join(p for p in (account.postcode, account.city) if p) or "–"),
            Facet(t("accounts.contacts"), fmt_number(account.contact_count, lang)),
            *facets_for("account", context.current_actor(), account),
        ],
        icon=":material/business:",
    )


def save(account_id: int) -> Any:
    def run(values: dict[str, Any], expected_version: int | None, reason: str | None) -> AccountView:
        return update_account(context.uow(), account_id, values, expected_version=expected_version, reason=reason)

    return run


def overview(account: AccountView) -> None:
    editable = context.may("accounts.write", owner_id=account.owner_id)
    if not editable:
        st.info(t("common.read_only"), icon=":material/lock:")
    fields = [f for _, group in field_groups(account) for f in group]
    render_form_hints("accounts", NS, fields, exclude_id=account.id, saved=account.form_values())
    EditForm(
        ns=NS, fields=fields, save=save(account.id), submit_label=t("common.save"), with_reason=True, live=True
    ).render(record_id=account.id, version=account.version, values=account.form_values(), disabled=not editable)
    if context.may("accounts.delete"):

        def back_to_list() -> None:
            st.session_state[ACCOUNT_ID_KEY] = None
            st.switch_page("pages/firmen_liste.py")

        delete_section(
            ns=NS,
            prefix="accounts",
            name=account.name,
            delete=lambda: delete_account(context.uow(), account.id, expected_version=account.version),
            after=back_to_list,
        )


def contacts_tab(account: AccountView) -> None:
    page = queries.contacts_page(ListQuery(filters={"account_id": account.id}, sort="last_name", page_size=200))
    if context.may("contacts.write") and st.button(
        t("contacts.new"), key=f"{NS}__new_contact", icon=":material/person_add:"
    ):
        open_contact(None, account_id=account.id)
    if page.rows.empty:
        st.info(t("accounts.no_contacts"), icon=":material/info:")
        return
    rows = page.rows
    table = pd.DataFrame(
        {
            t("field.contact.last_name"): rows["last_name"],
            t("field.contact.first_name"): rows["first_name"],
            t("field.contact.job_title"): rows["job_title"].fillna(""),
            t("field.contact.email"): rows["email"].fillna(""),
            t("field.contact.phone"): rows["phone"].fillna(""),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    names = {int(r.id): f"{r.first_name} {r.last_name}" for r in rows.itertuples()}
    pick_col, open_col = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick_col.selectbox(t("contacts.open_one"), list(names), format_func=names.get, key=f"{NS}__contact_pick")
    if open_col.button(t("list.open"), key=f"{NS}__contact_open", icon=":material/open_in_new:", width="stretch"):
        open_contact(chosen)


account_id = selected_id(ACCOUNT_ID_KEY)
if account_id is None:
    new_account_wizard()
else:
    try:
        account = queries.account(account_id)
    except DomainError as exc:
        show_error(exc)
        if st.button(t("accounts.back_to_list"), key=f"{NS}__back", icon=":material/arrow_back:"):
            st.switch_page("pages/firmen_liste.py")
    else:
        header(account)
        owner = Owner("account", account.id)
        render_object_tabs(
            NS,
            "account",
            context.current_actor(),
            account,
            [
                ObjectTab("account", "overview", "object.overview", overview, order=10),
                ObjectTab(
                    "account",
                    "addresses",
                    "object.addresses",
                    lambda a: address_tab(f"{NS}_addr", owner, record_owner_id=a.owner_id),
                    order=20,
                ),
                ObjectTab("account", "contacts", "object.contacts", contacts_tab, order=30),
                ObjectTab(
                    "account",
                    "history",
                    "object.history",
                    lambda a: change_log_section(f"{NS}_log", owner, name=a.name),
                    order=90,
                ),
            ],
        )
        if st.button(t("accounts.new"), key=f"{NS}__new", icon=":material/add:"):
            open_account(None)
