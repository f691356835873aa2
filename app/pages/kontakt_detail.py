"""Kontakt: one person — header, edit form, addresses and change log (plus tabs and facets that later
capabilities register in app/components/object_tabs.py); without a selection, a new contact."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.components import context, queries
from app.components.address_tab import address_tab
from app.components.dialogs import delete_section
from app.components.duplicate_hints import render_form_hints
from app.components.feedback import show_error
from app.components.fields import FormField
from app.components.history_view import change_log_section
from app.components.i18n import current_lang, t
from app.components.links import CONTACT_ID_KEY, open_account, open_contact, selected_id
from app.components.object_page import EditForm, Facet, Versioned, object_header
from app.components.object_tabs import ObjectTab, facets_for, render_object_tabs
from core.addresses import Owner
from core.contacts import SALUTATIONS, ContactView, create_contact, delete_contact, update_contact
from core.errors import DomainError
from core.formatting import fmt_datetime

NS = "con_obj"
PRESET_ACCOUNT_KEY = "kontakt_detail__preset_account"
lang = current_lang()
owners = queries.owner_choices()


def label(name: str) -> str:
    return t(f"field.contact.{name}")


FIELDS = [
    FormField("salutation", label("salutation"), "select", SALUTATIONS),
    FormField("title", label("title"), placeholder="Dr."),
    FormField("first_name", label("first_name"), required=True),
    FormField("last_name", label("last_name"), required=True),
    FormField("account_id", label("account_id"), "lookup", lookup=queries.account_search),
    FormField("job_title", label("job_title")),
    FormField("email", label("email"), placeholder="name@firma.de"),
    FormField("phone", label("phone"), placeholder="+49 221 123456"),
    FormField("mobile", label("mobile")),
    FormField("birth_date", label("birth_date"), "date"),
    FormField("postcode", label("postcode")),
    FormField("city", label("city")),
    FormField("country", label("country"), required=True, help=t("accounts.country_help")),
    FormField("owner_id", label("owner_id"), "select", list(owners), format_func=lambda i: owners.get(i, str(i))),
]


def remember(view: Versioned) -> None:
    """After creating: show the new contact on this page (and in the URL)."""
    st.session_state[CONTACT_ID_KEY] = view.id
    st.session_state.pop(PRESET_ACCOUNT_KEY, None)
    st.query_params["id"] = str(view.id)


def create(values: dict[str, Any], _version: int | None, reason: str | None) -> ContactView:
    return create_contact(context.uow(), values, reason=reason)


def new_contact() -> None:
    st.title(f":material/person_add: {t('contacts.new')}")
    if not context.may("contacts.write"):
        st.info(t("contacts.pick_from_list"), icon=":material/info:")
        st.page_link("pages/kontakte_liste.py", label=t("page.contacts"), icon=":material/contacts:")
        return
    st.caption(t("contacts.new_help"))
    preset = {"country": "DE", "account_id": st.session_state.get(PRESET_ACCOUNT_KEY)}
    render_form_hints("contacts", f"{NS}_new", FIELDS)
    EditForm(
        ns=f"{NS}_new", fields=FIELDS, save=create, submit_label=t("contacts.create"), on_saved=remember, live=True
    ).render(record_id=None, version=None, values=preset)


def header(contact: ContactView) -> None:
    object_header(
        contact.full_name,
        subtitle=t(
            "common.record_meta",
            id=contact.id,
            created=fmt_datetime(contact.created_at, lang),
            updated=fmt_datetime(contact.updated_at, lang),
            version=contact.version,
        ),
        facets=[
            Facet(label("account_id"), contact.account_name or "–"),
            Facet(label("job_title"), contact.job_title or "–"),
            Facet(label("email"), contact.email or "–"),
            Facet(label("phone"), contact.phone or contact.mobile or "–"),
            Facet(label("owner_id"), contact.owner_name or "–"),
            *facets_for("contact", context.current_actor(), contact),
        ],
        icon=":material/person:",
    )
    if contact.account_id and st.button(
        t("contacts.open_account", name=contact.account_name), key=f"{NS}__to_account", icon=":material/business:"
    ):
        open_account(contact.account_id)


def overview(contact: ContactView) -> None:
    editable = context.may("contacts.write", owner_id=contact.owner_id)
    if not editable:
        st.info(t("common.read_only"), icon=":material/lock:")
    render_form_hints("contacts", NS, FIELDS, exclude_id=contact.id, saved=contact.form_values())

    def save(values: dict[str, Any], expected_version: int | None, reason: str | None) -> ContactView:
        return update_contact(context.uow(), contact.id, values, expected_version=expected_version, reason=reason)

    EditForm(ns=NS, fields=FIELDS, save=save, submit_label=t("common.save"), with_reason=True, live=True).render(
        record_id=contact.id, version=contact.version, values=contact.form_values(), disabled=not editable
    )
    if context.may("contacts.delete"):

        def back_to_list() -> None:
            st.session_state[CONTACT_ID_KEY] = None
            st.switch_page("pages/kontakte_liste.py")

        delete_section(
            ns=NS,
            prefix="contacts",
            name=contact.full_name,
            delete=lambda: delete_contact(context.uow(), contact.id, expected_version=contact.version),
            after=back_to_list,
        )


contact_id = selected_id(CONTACT_ID_KEY)
if contact_id is None:
    new_contact()
else:
    try:
        contact = queries.contact(contact_id)
    except DomainError as exc:
        show_error(exc)
        if st.button(t("contacts.back_to_list"), key=f"{NS}__back", icon=":material/arrow_back:"):
            st.switch_page("pages/kontakte_liste.py")
    else:
        header(contact)
        owner = Owner("contact", contact.id)
        render_object_tabs(
            NS,
            "contact",
            context.current_actor(),
            contact,
            [
                ObjectTab("contact", "overview", "object.overview", overview, order=10),
                ObjectTab(
                    "contact",
                    "addresses",
                    "object.addresses",
                    lambda c: address_tab(f"{NS}_addr", owner, record_owner_id=c.owner_id),
                    order=20,
                ),
                ObjectTab(
                    "contact",
                    "history",
                    "object.history",
                    lambda c: change_log_section(f"{NS}_log", owner, name=c.full_name),
                    order=90,
                ),
            ],
        )
        if st.button(t("contacts.new"), key=f"{NS}__new", icon=":material/person_add:"):
            open_contact(None)
