"""The Adressen tab of the account and contact pages: list, add, edit, mark primary, retire."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.fields import FormField
from app.components.i18n import current_lang, t
from app.components.object_page import EditForm, Versioned
from core import addresses
from core.addresses import ADDRESS_TYPES, MAIN_TYPE, AddressView, Owner
from core.errors import DomainError
from core.formatting import fmt_date
from core.permissions import Actor


@queries._cached()
def _addresses(url: str, actor: Actor, owner: Owner, include_retired: bool) -> list[AddressView]:
    return addresses.list_addresses(queries._uow(url, actor), owner=owner, include_retired=include_retired)


def owner_addresses(owner: Owner, *, include_retired: bool) -> list[AddressView]:
    return _addresses(*queries._key(), owner, include_retired)


def type_label(code: str) -> str:
    return t(f"address_type.{code}")


def label(name: str) -> str:
    return t(f"field.address.{name}")


def address_fields() -> list[FormField]:
    return [
        FormField("type", label("type"), "select", tuple(ADDRESS_TYPES), format_func=type_label, required=True),
        FormField("is_primary", label("is_primary"), "bool"),
        FormField("street", label("street"), required=True, placeholder="Hohe Straße"),
        FormField("house_number", label("house_number"), placeholder="12a"),
        FormField("postcode", label("postcode"), required=True, placeholder="50667"),
        FormField("city", label("city"), required=True, placeholder="Köln"),
        FormField("address_line2", label("address_line2"), placeholder="z. B. Gebäude B, 3. OG"),
        FormField("state", label("state")),
        FormField("country", label("country"), required=True, placeholder="DE", help=t("accounts.country_help")),
        FormField("valid_from", label("valid_from"), "date", future=True),
    ]


def status(address: AddressView, today: Any) -> str:
    if address.retired_on(today):
        return t("addresses.status_retired")
    if address.valid_from and address.valid_from > today:
        return t("addresses.status_future")
    return t("addresses.status_primary") if address.is_primary else t("addresses.status_active")


def address_table(rows: list[AddressView], today: Any) -> pd.DataFrame:
    lang = current_lang()
    return pd.DataFrame(
        {
            label("type"): [type_label(a.type) for a in rows],
            t("addresses.status"): [status(a, today) for a in rows],
            t("addresses.address"): [a.one_line() for a in rows],
            label("valid_from"): [fmt_date(a.valid_from, lang) for a in rows],
            label("valid_until"): [fmt_date(a.valid_until, lang) for a in rows],
        }
    )


def _after_write(message: str) -> None:
    queries.clear_reads()
    flash(message)


def _new_address_form(ns: str, owner: Owner, rows: list[AddressView]) -> None:
    main = MAIN_TYPE[owner.kind]
    has_main = any(a.type == main and a.is_primary for a in rows)

    def create(values: dict[str, Any], _version: int | None, reason: str | None) -> Versioned:
        return addresses.add_address(context.uow(), owner=owner, values=values, reason=reason)

    with st.expander(t("addresses.new"), icon=":material/add_location_alt:", expanded=not rows):
        EditForm(
            ns=f"{ns}_new",
            fields=address_fields(),
            save=create,
            submit_label=t("addresses.add"),
            with_reason=True,
            on_saved=lambda _saved: queries.clear_reads(),
        ).render(record_id=None, version=None, values={"type": main, "country": "DE", "is_primary": not has_main})


def _actions(ns: str, address: AddressView) -> None:
    primary_col, retire_col, _ = st.columns([1, 1, 2])
    if primary_col.button(
        t("addresses.mark_primary"),
        key=f"{ns}__primary",
        icon=":material/star:",
        disabled=address.is_primary,
        help=t("addresses.is_primary_already") if address.is_primary else None,
        width="stretch",
    ):
        try:
            addresses.mark_primary(context.uow(), address.id, expected_version=address.version)
        except DomainError as exc:
            show_error(exc)
        else:
            _after_write(t("addresses.marked_primary", type=type_label(address.type)))
            st.rerun()
    if retire_col.button(t("addresses.retire"), key=f"{ns}__retire", icon=":material/event_busy:", width="stretch"):
        st.session_state[_pending_key(ns)] = address.id
    if st.session_state.get(_pending_key(ns)) == address.id:
        _retire_dialog(ns, address)


def _pending_key(ns: str) -> str:
    return f"{ns}__retire_pending"


def _retire_dialog(ns: str, address: AddressView) -> None:
    """Confirmation for retiring; open while the address is pending, so the answer survives a full rerun."""
    pending = _pending_key(ns)

    @st.dialog(t("addresses.retire_title"), on_dismiss=lambda: st.session_state.pop(pending, None))
    def _dialog() -> None:
        st.markdown(t("addresses.retire_text", address=address.one_line(), type=type_label(address.type)))
        yes, no = st.columns(2)
        if yes.button(t("addresses.retire"), key=f"{ns}__retire_yes", type="primary", width="stretch"):
            try:
                addresses.retire_address(context.uow(), address.id, expected_version=address.version)
            except DomainError as exc:
                show_error(exc)
                return
            st.session_state.pop(pending, None)
            _after_write(t("addresses.retired_done"))
            st.rerun()
        if no.button(t("common.cancel"), key=f"{ns}__retire_no", width="stretch"):
            st.session_state.pop(pending, None)
            st.rerun()

    _dialog()


def _edit_form(ns: str, address: AddressView) -> None:
    def save(values: dict[str, Any], expected_version: int | None, reason: str | None) -> Versioned:
        return addresses.update_address(
            context.uow(), address.id, values, expected_version=expected_version, reason=reason
        )

    with st.expander(t("addresses.edit"), icon=":material/edit_location_alt:"):
        EditForm(
            ns=f"{ns}_edit", fields=address_fields(), save=save, submit_label=t("common.save"), with_reason=True
        ).render(record_id=address.id, version=address.version, values=address.form_values())


def address_tab(ns: str, owner: Owner, *, record_owner_id: int | None) -> None:
    """`record_owner_id`: the owner_id of the account/contact (a sales rep edits only their own)."""
    permission = "accounts.write" if owner.kind == "account" else "contacts.write"
    editable = context.may(permission, owner_id=record_owner_id)
    st.caption(t(f"addresses.intro_{owner.kind}"))
    include_retired = st.toggle(t("addresses.show_retired"), key=f"{ns}__show_retired")
    rows = owner_addresses(owner, include_retired=include_retired)
    today = addresses.local_date(context.clock()())
    if rows:
        st.caption(t("addresses.count_one") if len(rows) == 1 else t("addresses.count", n=len(rows)))
        st.dataframe(address_table(rows, today), hide_index=True, width="stretch")
    else:
        st.info(t("addresses.empty"), icon=":material/location_off:")
    if not editable:
        if rows:
            st.info(t("common.read_only"), icon=":material/lock:")
        return
    by_id = {a.id: a for a in rows}
    if by_id:
        with st.container(border=True):
            chosen = st.selectbox(
                t("addresses.pick"),
                list(by_id),
                format_func=lambda i: f"{type_label(by_id[i].type)}: {by_id[i].one_line()}",
                key=f"{ns}__pick",
            )
            address = by_id[chosen]
            if address.retired_on(today):
                st.caption(t("addresses.retired_note"))
            else:
                _actions(ns, address)
                _edit_form(ns, address)
    _new_address_form(ns, owner, rows)
