"""Who is logged in, which database, which clock: the per-session context every page uses.

Only the sessionmaker lives in `st.cache_resource`; sessions are opened per service call by
the unit of work and never kept in `st.session_state`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import SCRIPT_RUN_CONTEXT_ATTR_NAME
from sqlalchemy.orm import Session, sessionmaker

from core.database import session_factory
from core.errors import PermissionDenied
from core.permissions import Actor, authorize
from core.settings import get_settings
from core.uow import Clock, UnitOfWork, utc_now
from core.users import UserView

T = TypeVar("T")
USER_KEY = "auth__user"
LAST_ACTIVE_KEY = "auth__last_active"
LOGOUT_REASON_KEY = "auth__logout_reason"
# Tests (and only tests) put a FrozenClock here; the app otherwise reads the wall clock.
CLOCK_KEY = "app__clock"


def database_url() -> str:
    return get_settings().database_url


@st.cache_resource(show_spinner=False)
def factory_for(url: str) -> sessionmaker[Session]:
    return session_factory(url)


def factory() -> sessionmaker[Session]:
    return factory_for(database_url())


def clock() -> Clock:
    return st.session_state.get(CLOCK_KEY, utc_now)


def current_user() -> UserView | None:
    return st.session_state.get(USER_KEY)


def current_actor() -> Actor:
    user = current_user()
    if user is None:
        raise RuntimeError("no user logged in")
    return user.actor()


def uow() -> UnitOfWork:
    """A fresh unit of work for one service call, acting as the logged-in user."""
    return UnitOfWork(factory(), actor=current_actor(), clock=clock())


def may(permission: str, *, owner_id: int | None = None) -> bool:
    """Whether the current user may do this to a record of `owner_id` (core's rule, used to disable controls)."""
    try:
        authorize(current_actor(), permission, owner_id=owner_id, check_owner=owner_id is not None)
    except PermissionDenied:
        return False
    return True


def deferred(build: Callable[[], T]) -> Callable[[], T]:
    """Bind a download button's data callable to this page's session.

    Streamlit runs such a callable only when the button is clicked, in a server thread outside the
    script run, where `st.session_state` (logged-in user, language, clock) is not reachable. The
    returned callable attaches the page's script context to that thread for the duration of the call.
    """
    ctx = get_script_run_ctx()

    def run() -> T:
        thread = threading.current_thread()
        previous = getattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, None)
        if ctx is not None and previous is None:
            setattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, ctx)
        try:
            return build()
        finally:
            if previous is None:
                setattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, None)

    return run
