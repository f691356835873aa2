"""How pages report outcomes: domain errors as messages, successes as toasts that survive a rerun."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from app.components.i18n import t
from core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed

FLASH_KEY = "ui__flash"


def flash(message: str) -> None:
    """Queue a success toast for the next run (actions usually end in a rerun)."""
    st.session_state.setdefault(FLASH_KEY, []).append(message)


def show_flash() -> None:
    for message in st.session_state.pop(FLASH_KEY, []):
        st.toast(message, icon=":material/check_circle:")


def field_errors_text(fields: Mapping[str, str], labels: Mapping[str, str]) -> str:
    return "\n".join(f"- **{labels.get(name, name)}**: {message}" for name, message in fields.items())


def show_error(error: DomainError, *, labels: Mapping[str, str] | None = None) -> None:
    """One message per error kind; validation errors list each field by its label."""
    if isinstance(error, ValidationFailed):
        st.error(f"{t('error.validation')}\n\n{field_errors_text(error.fields, labels or {})}", icon=":material/error:")
    elif isinstance(error, Conflict):
        st.error(f"**{t('error.conflict')}** {error.message}", icon=":material/sync_problem:")
    elif isinstance(error, PermissionDenied):
        st.error(f"**{t('error.permission')}** {error.message}", icon=":material/block:")
    elif isinstance(error, NotFound):
        st.warning(error.message, icon=":material/search_off:")
    else:
        st.error(error.message, icon=":material/error:")


def no_permission() -> None:
    st.error(f"**{t('error.permission')}** {t('error.page_forbidden')}", icon=":material/block:")
