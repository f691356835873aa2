"""Login: username and password; shows why the last session ended (logout or inactivity)."""

from __future__ import annotations

import streamlit as st

from app.components import context, session
from app.components.i18n import t
from core.errors import AuthenticationFailed
from core.settings import get_settings

ERROR_KEY = "login__error"


def submit() -> None:
    """Form callback: runs before the next script run, so the app opens directly for the new user."""
    username = st.session_state.get("login__username", "").strip()
    password = st.session_state.get("login__password", "")
    if not username or not password:
        st.session_state[ERROR_KEY] = t("auth.missing")
        return
    try:
        session.log_in(username, password)
    except AuthenticationFailed as exc:
        st.session_state[ERROR_KEY] = exc.message
    finally:
        st.session_state["login__password"] = ""


_, middle, _ = st.columns([1, 1.4, 1])
with middle:
    st.title(":material/hub: CRM-Suite")
    st.caption(t("auth.subtitle"))
    reason = st.session_state.get(context.LOGOUT_REASON_KEY)
    if reason:
        st.info(t(reason, minutes=get_settings().session_timeout_minutes), icon=":material/schedule:")
    error = st.session_state.pop(ERROR_KEY, None)
    if error:
        st.error(error, icon=":material/lock:")
    with st.form("login__form"):
        st.text_input(t("auth.username"), key="login__username", autocomplete="username")
        st.text_input(t("auth.password"), type="password", key="login__password", autocomplete="current-password")
        st.form_submit_button(t("auth.login"), type="primary", icon=":material/login:", width="stretch", on_click=submit)
