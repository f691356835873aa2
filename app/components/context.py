"""Who is logged in, which database, which clock: the per-session context every page uses.

Only the sessionmaker lives in `st.cache_resource`; sessions are opened per service call by
the unit of work and never kept in `st.session_state`.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from core.database import session_factory
from core.errors import PermissionDenied
from core.permissions import Actor, authorize
from core.settings import get_settings
from core.uow import Clock, UnitOfWork, utc_now
from core.users import UserView

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
