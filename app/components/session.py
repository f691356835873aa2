"""Login, logout and the inactivity timeout (measured from the last activity, on the injected clock)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app.components import context
from app.components.i18n import LANG_KEY
from core.settings import get_settings
from core.users import UserView, authenticate


def session_expired(last_active: dt.datetime | None, now: dt.datetime, timeout_minutes: int) -> bool:
    return last_active is None or now - last_active >= dt.timedelta(minutes=timeout_minutes)


def log_in(username: str, password: str) -> UserView:
    """Check the credentials (raises AuthenticationFailed) and start the session in the user's language."""
    settings = get_settings()
    user = authenticate(
        context.factory(), username, password, clock=context.clock(), max_failed=settings.max_failed_logins
    )
    st.session_state[context.USER_KEY] = user
    st.session_state[context.LAST_ACTIVE_KEY] = context.clock()()
    st.session_state[LANG_KEY] = user.locale
    st.session_state.pop(context.LOGOUT_REASON_KEY, None)
    return user


def log_out(reason: str | None = None) -> None:
    """Forget the user and everything the pages kept; `reason` is an i18n key shown on the login page."""
    lang = st.session_state.get(LANG_KEY)
    clock = st.session_state.get(context.CLOCK_KEY)
    st.session_state.clear()
    if lang:
        st.session_state[LANG_KEY] = lang
    if clock is not None:
        st.session_state[context.CLOCK_KEY] = clock
    if reason:
        st.session_state[context.LOGOUT_REASON_KEY] = reason


def check_activity() -> UserView | None:
    """The logged-in user, or None after a logout for inactivity; each run counts as activity."""
    user = context.current_user()
    if user is None:
        return None
    now = context.clock()()
    if session_expired(st.session_state.get(context.LAST_ACTIVE_KEY), now, get_settings().session_timeout_minutes):
        log_out("auth.timed_out")
        return None
    st.session_state[context.LAST_ACTIVE_KEY] = now
    return user
