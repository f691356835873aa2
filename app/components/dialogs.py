"""Confirmation dialog for destructive actions."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.components import queries
from app.components.feedback import flash, show_error
from app.components.i18n import t
from core.errors import DomainError


def confirm(*, key: str, title: str, message: str, confirm_label: str, on_confirm: Callable[[], None]) -> None:
    """Open a modal; `on_confirm` runs only after the user confirms, then the page reruns.

    A DomainError from `on_confirm` is shown inside the dialog, which stays open.
    """

    @st.dialog(title, width="small")
    def _dialog() -> None:
        st.markdown(message)
        yes, no = st.columns(2)
        if yes.button(confirm_label, key=f"{key}__yes", type="primary", icon=":material/delete:", width="stretch"):
            try:
                on_confirm()
            except DomainError as exc:
                show_error(exc)
                return
            st.rerun()
        if no.button(t("common.cancel"), key=f"{key}__no", width="stretch"):
            st.rerun()

    _dialog()


def delete_section(*, ns: str, prefix: str, name: str, delete: Callable[[], None], after: Callable[[], None]) -> None:
    """The object page's "Löschen" expander: hint, button, confirmation, then `after()` (e.g. back to the list).

    Texts come from the `<prefix>.danger_zone|delete_hint|delete_title|delete_one|deleted` catalogue keys.
    """
    with st.expander(t(f"{prefix}.danger_zone"), icon=":material/warning:"):
        st.caption(t(f"{prefix}.delete_hint"))
        if st.button(t("common.delete"), key=f"{ns}__delete", icon=":material/delete:"):

            def remove() -> None:
                delete()
                queries.clear_reads()
                flash(t(f"{prefix}.deleted", n=1))
                after()

            confirm(
                key=f"{ns}__confirm_delete",
                title=t(f"{prefix}.delete_title"),
                message=t(f"{prefix}.delete_one", name=name),
                confirm_label=t("common.delete"),
                on_confirm=remove,
            )
