"""Router: page config, language, login gate with inactivity timeout, navigation by role, sidebar."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.components import context, session  # noqa: E402
from app.components.feedback import no_permission, show_flash  # noqa: E402
from app.components.i18n import LANG_KEY, LANGUAGES, default_lang, t  # noqa: E402
from app.components.navigation import PAGES, START, PageSpec, visible_sections  # noqa: E402
from core.capabilities import load_all  # noqa: E402
from core.users import UserView  # noqa: E402

load_all()

st.set_page_config(page_title="CRM-Suite", page_icon=":material/hub:", layout="wide")


def language_switch() -> None:
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = default_lang(st.context.locale)
    st.sidebar.segmented_control(
        t("nav.language"),
        list(LANGUAGES),
        format_func=lambda code: LANGUAGES[code],
        key=LANG_KEY,
        required=True,
    )


def navigation_for(user: UserView) -> tuple[st.Page, PageSpec]:
    """Menu of the pages this role may open; every other page is registered hidden and refused below."""
    sections = visible_sections(user.actor())
    listed = {spec.url_path for specs in sections.values() for spec in specs}
    spec_of: dict[int, PageSpec] = {}

    def page_of(spec: PageSpec, *, hidden: bool) -> st.Page:
        page = st.Page(
            spec.script,
            title=t(spec.title_key),
            icon=spec.icon,
            url_path=spec.url_path,
            default=spec is START,
            visibility="hidden" if hidden else "visible",
        )
        spec_of[id(page)] = spec
        return page

    menu: dict[str, list[st.Page]] = {
        (t(f"section.{section}") if section else ""): [page_of(spec, hidden=False) for spec in specs]
        for section, specs in sections.items()
    }
    menu.setdefault("", []).extend(page_of(spec, hidden=True) for spec in PAGES if spec.url_path not in listed)
    selected = st.navigation(menu, position="sidebar", expanded=True)
    return selected, spec_of[id(selected)]


def sidebar_user(user: UserView) -> None:
    with st.sidebar:
        st.divider()
        st.markdown(f"**{user.display_name}**  \n{t(f'role.{user.role.value}')}")
        st.button(
            t("nav.logout"),
            key="nav__logout",
            icon=":material/logout:",
            width="stretch",
            on_click=session.log_out,
            args=("auth.logged_out",),
        )


def main() -> None:
    user = session.check_activity()
    language_switch()
    if user is None:
        login = st.Page("pages/anmelden.py", title=t("page.login"), icon=":material/login:", url_path="anmelden", default=True)
        st.navigation([login], position="hidden").run()
        return
    page, spec = navigation_for(user)
    sidebar_user(user)
    show_flash()
    if not spec.allowed(context.current_actor()):
        no_permission()
        return
    page.run()


main()
