"""AppTest fixtures: a migrated SQLite file with one user per role and a few records (made through
the services), the app pointed at it via CRM_DATABASE_URL, and logged-in AppTests per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.accounts import AccountView, create_account
from core.contacts import ContactView, create_contact
from core.database import session_factory
from core.permissions import SYSTEM, Role
from core.settings import get_settings
from core.uow import UnitOfWork
from core.users import UserView, create_user
from db.migrate import upgrade
from tests.conftest import FrozenClock

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"
PASSWORD = "sehr-geheim-123"
TIMEOUT = 30


class NavigationOnlyPagesManager(PagesManager):
    """AppTest resets `uses_pages_directory` before every run, so an app that keeps its
    st.navigation pages in app/pages/ would be re-run as a v1 "pages folder" app after the
    first run (executing page files without main.py). A real server clears the flag once
    `st.navigation` is called; this keeps it cleared in tests as well."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        PagesManager.uses_pages_directory = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AppData:
    url: str
    users: dict[Role, UserView]
    account: AccountView
    other_account: AccountView
    contact: ContactView


def username(role: Role) -> str:
    return f"test.{role.value.replace('_', '-')}"


@pytest.fixture(scope="session")
def app_data(tmp_path_factory: pytest.TempPathFactory) -> AppData:
    url = f"sqlite:///{tmp_path_factory.mktemp('appdb') / 'app.db'}"
    upgrade(url)
    factory = session_factory(url)
    users = {
        role: create_user(
            UnitOfWork(factory, actor=SYSTEM),
            {"username": username(role), "display_name": f"Erika {role.value.title()}", "role": role},
            password=PASSWORD,
        )
        for role in Role
    }
    rep = users[Role.SALES_REP].actor()
    manager = users[Role.SALES_MANAGER].actor()
    account = create_account(
        UnitOfWork(factory, actor=rep),
        {"name": "Müller Maschinenbau", "legal_form": "GmbH", "industry": "Maschinenbau", "postcode": "50667", "city": "Köln"},
    )
    other = create_account(
        UnitOfWork(factory, actor=manager),
        {"name": "Schulz Logistik", "legal_form": "KG", "industry": "Logistik", "postcode": "20095", "city": "Hamburg"},
    )
    contact = create_contact(
        UnitOfWork(factory, actor=rep),
        {"first_name": "Jürgen", "last_name": "Weiß", "account_id": account.id, "email": "j.weiss@example.de"},
    )
    return AppData(url, users, account, other, contact)


@pytest.fixture(autouse=True)
def app_env(app_data: AppData, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRM_DATABASE_URL", app_data.url)
    monkeypatch.setattr(app_test_module, "PagesManager", NavigationOnlyPagesManager)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def app_clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc))


LoggedIn = Callable[..., AppTest]


@pytest.fixture
def logged_in(app_data: AppData, app_clock: FrozenClock) -> LoggedIn:
    """An AppTest with the user of `role` logged in through session state, on the start page."""

    def make(role: Role, *, lang: str = "de") -> AppTest:
        at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
        at.session_state["app__clock"] = app_clock
        at.session_state["auth__user"] = app_data.users[role]
        at.session_state["auth__last_active"] = app_clock()
        at.session_state["ui__lang"] = lang
        return at.run()

    return make


def fresh_app() -> AppTest:
    return AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
