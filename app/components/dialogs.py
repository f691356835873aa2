"""Confirmation dialog for destructive actions."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.components.feedback import show_error
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
