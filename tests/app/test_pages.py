"""Every page × every role, navigation by permission, login, language, forms, conflicts, timeout."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.components.navigation import PAGES, PageSpec
from core.accounts import get_account, list_accounts, update_account
from core.contacts import list_contacts
from core.database import session_factory
from core.listing import ListQuery
from core.permissions import Actor, Role
from core.uow import STALE_MESSAGE, UnitOfWork
from tests.app.conftest import PASSWORD, AppData, LoggedIn, fresh_app, username
from tests.conftest import FrozenClock


def role_actor(role: Role) -> Actor:
    return Actor(user_id=0, name=role.value, role=role)


def page_cases(*, allowed: bool) -> list[tuple[Role, PageSpec]]:
    return [(role, spec) for role in Role for spec in PAGES if spec.allowed(role_actor(role)) is allowed]


def case_id(case: tuple[Role, PageSpec]) -> str:
    return f"{case[0].value}-{case[1].url_path}"


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def titles(at: AppTest) -> list[str]:
    return [title.value for title in at.title]


def errors(at: AppTest) -> list[str]:
    return [error.value for error in at.error]


@pytest.mark.parametrize("case", page_cases(allowed=True), ids=case_id)
def test_every_allowed_page_renders_for_every_role(case: tuple[Role, PageSpec], logged_in: LoggedIn) -> None:
    role, spec = case
    at = logged_in(role)
    at.switch_page(spec.script).run()
    assert_clean(at)
    assert titles(at), "page shows a title"
    assert not any("Keine Berechtigung" in e for e in errors(at))


@pytest.mark.parametrize("case", page_cases(allowed=False), ids=case_id)
def test_forbidden_page_opened_directly_is_refused(case: tuple[Role, PageSpec], logged_in: LoggedIn) -> None:
    role, spec = case
    at = logged_in(role)
    at.switch_page(spec.script).run()
    assert_clean(at)
    assert any("Keine Berechtigung" in e for e in errors(at))
    assert not titles(at), "the page itself did not run"


def test_object_pages_open_with_a_record(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.VIEWER)
    at.session_state["kunden_stamm__id"] = app_data.account.id
    at.switch_page("pages/kunden_stamm.py").run()
    assert_clean(at)
    assert "Müller Maschinenbau" in titles(at)[0]
    assert [tab.label for tab in at.tabs] == ["Übersicht", "Adressen", "Kontakte", "Verkaufschancen", "Änderungsprotokoll"]
    assert any("nicht bearbeiten" in info.value for info in at.info), "viewer sees a read-only form"
    at.session_state["kontakt_detail__id"] = app_data.contact.id
    at.switch_page("pages/kontakt_detail.py").run()
    assert_clean(at)
    assert "Jürgen Weiß" in titles(at)[0]


def test_login_form_rejects_wrong_and_accepts_right_password() -> None:
    at = fresh_app().run()
    assert_clean(at)
    at.text_input(key="login__username").input(username(Role.SALES_REP))
    at.text_input(key="login__password").input("falsch-falsch-falsch")
    at.button[0].click().run()
    assert any("Benutzername oder Passwort ist falsch" in e for e in errors(at))
    assert "auth__user" not in at.session_state

    at.text_input(key="login__username").input(username(Role.SALES_REP))
    at.text_input(key="login__password").input(PASSWORD)
    at.button[0].click().run()
    assert_clean(at)
    assert titles(at) == ["Guten Tag, Erika Sales_Rep"]
    assert at.session_state["auth__user"].role is Role.SALES_REP


def test_logout_returns_to_login(logged_in: LoggedIn) -> None:
    at = logged_in(Role.MARKETING)
    at.button(key="nav__logout").click().run()
    assert_clean(at)
    assert at.text_input(key="login__username") is not None
    assert any("abgemeldet" in info.value for info in at.info)


def test_language_switch_changes_labels(logged_in: LoggedIn) -> None:
    at = logged_in(Role.SALES_MANAGER)
    at.switch_page("pages/firmen_liste.py").run()
    assert "Firmen" in titles(at)[0]
    assert at.text_input(key="acc_list__search").label == "Suche"
    at.segmented_control(key="ui__lang").set_value("en").run()
    assert_clean(at)
    assert "Companies" in titles(at)[0]
    assert at.text_input(key="acc_list__search").label == "Search"
    assert at.button(key="nav__logout").label == "Log out"


def test_session_times_out_after_inactivity(logged_in: LoggedIn, app_clock: FrozenClock) -> None:
    at = logged_in(Role.SALES_REP)
    app_clock.advance(minutes=29)
    at.run()
    assert titles(at)[0].startswith("Guten Tag"), "activity within the timeout keeps the session"
    app_clock.advance(minutes=30)
    at.run()
    assert_clean(at)
    assert "auth__user" not in at.session_state
    assert any("ohne Aktivität abgemeldet" in info.value for info in at.info)


def test_create_contact_through_form(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.SALES_REP)
    at.switch_page("pages/kontakt_detail.py").run()
    ns = "con_obj_new__f__"
    at.text_input(key=f"{ns}first_name").input("Anna")
    at.text_input(key=f"{ns}last_name").input("Schmidt")
    at.text_input(key=f"{ns}email").input("kein-at-zeichen")
    at.button(key="con_obj_new__submit").click().run()
    assert_clean(at)
    assert any("keine gültige E-Mail-Adresse" in m.value for m in at.markdown), "message next to the field"
    assert at.text_input(key=f"{ns}first_name").value == "Anna", "input kept after a validation error"

    at.text_input(key=f"{ns}account_id__q").input("müller").run()
    at.text_input(key=f"{ns}email").input("anna.schmidt@example.de")
    picker = at.selectbox(key=f"{ns}account_id")
    assert picker.options == ["– keine Angabe –", "Müller Maschinenbau (Köln)"], "the company is searched on the server"
    picker.set_value(app_data.account.id)
    at.button(key="con_obj_new__submit").click().run()
    assert_clean(at)
    assert "Anna Schmidt" in titles(at)[0]
    factory = session_factory(app_data.url)
    actor = app_data.users[Role.SALES_REP].actor()
    rows = list_contacts(UnitOfWork(factory, actor=actor), ListQuery(search="anna.schmidt")).rows
    assert list(rows["account_name"]) == ["Müller Maschinenbau"]


def test_stale_edit_shows_conflict_and_keeps_input(logged_in: LoggedIn, app_data: AppData) -> None:
    factory = session_factory(app_data.url)
    manager = app_data.users[Role.SALES_MANAGER].actor()
    at = logged_in(Role.SALES_MANAGER)
    at.session_state["kunden_stamm__id"] = app_data.other_account.id
    at.switch_page("pages/kunden_stamm.py").run()
    field = "acc_obj__f__city"
    assert at.text_input(key=field).value == "Hamburg"

    seen = get_account(UnitOfWork(factory, actor=manager), app_data.other_account.id)
    update_account(UnitOfWork(factory, actor=manager), seen.id, {"phone": "+49 40 123456"}, expected_version=seen.version)

    at.text_input(key=field).input("Bremen")
    at.text_input(key="acc_obj__f__postcode").input("28195")
    at.button(key="acc_obj__submit").click().run()
    assert_clean(at)
    assert any(STALE_MESSAGE in e for e in errors(at))
    assert at.text_input(key=field).value == "Bremen", "the user's input is kept"
    stored = get_account(UnitOfWork(factory, actor=manager), seen.id)
    assert (stored.city, stored.phone) == ("Hamburg", "+49 40 123456"), "nothing was overwritten"

    at.button(key="acc_obj__overwrite").click().run()
    assert_clean(at)
    stored = get_account(UnitOfWork(factory, actor=manager), seen.id)
    assert (stored.city, stored.phone) == ("Bremen", "+49 40 123456"), "explicit save keeps the other change"
    assert not any(STALE_MESSAGE in e for e in errors(at))


def test_account_wizard_creates_account(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.SALES_REP)
    at.switch_page("pages/firmen_liste.py").run()
    at.button(key="acc_list__new").click().run()
    assert_clean(at)
    assert "Neue Firma" in titles(at)[0]
    # AppTest re-requests the page last given to switch_page(); follow the app's own navigation.
    at.switch_page("pages/kunden_stamm.py")
    at.button(key="acc_new__next").click().run()
    assert any("Pflichtfeld" in m.value for m in at.markdown), "a required field blocks the next step"
    assert [w.key for w in at.text_input if w.key.startswith("acc_new__f__")] == [
        "acc_new__f__name",
        "acc_new__f__external_id",
    ], "still on the first step"
    at.text_input(key="acc_new__f__name").input("Becker Elektrotechnik")
    at.selectbox(key="acc_new__f__legal_form").set_value("AG")
    at.button(key="acc_new__next").click().run()
    at.text_input(key="acc_new__f__postcode").input("80331")
    at.text_input(key="acc_new__f__city").input("München")
    at.button(key="acc_new__back").click().run()
    assert at.text_input(key="acc_new__f__name").value == "Becker Elektrotechnik", "state kept across steps"
    at.button(key="acc_new__next").click().run()
    assert at.text_input(key="acc_new__f__city").value == "München"
    at.button(key="acc_new__next").click().run()
    at.button(key="acc_new__next").click().run()
    assert any("Becker Elektrotechnik" in m.value for m in at.markdown), "review step lists the input"
    at.button(key="acc_new__finish").click().run()
    assert_clean(at)
    assert "Becker Elektrotechnik" in titles(at)[0]
    actor = app_data.users[Role.SALES_REP].actor()
    page = list_accounts(UnitOfWork(session_factory(app_data.url), actor=actor), ListQuery(search="Becker"))
    assert page.total == 1 and page.rows["owner_name"][0] == "Erika Sales_Rep"


def test_list_selection_opens_object_page(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.SALES_MANAGER)
    at.switch_page("pages/firmen_liste.py").run()
    pick = next(w for w in at.multiselect if w.key and w.key.startswith("acc_list__pick_"))
    assert at.button(key="acc_list__open").disabled
    pick.select(app_data.other_account.id).run()
    at.button(key="acc_list__open").click().run()
    assert_clean(at)
    assert "Schulz Logistik" in titles(at)[0]


def test_list_search_without_match_shows_hint(logged_in: LoggedIn) -> None:
    at = logged_in(Role.VIEWER)
    at.switch_page("pages/kontakte_liste.py").run()
    at.text_input(key="con_list__search").input("gibt-es-nicht").run()
    assert_clean(at)
    assert any("Keine Treffer" in info.value for info in at.info)


def test_audit_chain_check_shows_result(logged_in: LoggedIn) -> None:
    at = logged_in(Role.COMPLIANCE)
    at.switch_page("pages/audit_protokoll.py").run()
    at.button(key="audit__check").click().run()
    assert_clean(at)
    assert at.session_state["audit__chain_result"].ok
    assert at.dataframe, "the log is listed"


def test_api_key_is_shown_once(logged_in: LoggedIn) -> None:
    at = logged_in(Role.ADMIN)
    at.switch_page("pages/admin_api_schluessel.py").run()
    at.text_input(key="apikeys__name").input("ERP-Anbindung")
    at.multiselect(key="apikeys__scopes").select("accounts.read")
    at.button(key="FormSubmitter:apikeys__new_form-Schlüssel erzeugen").click().run()
    assert_clean(at)
    assert len(at.code) == 1 and at.code[0].value.startswith("crm_")
    at.button(key="apikeys__copied").click().run()
    assert not at.code, "the key is not shown again"


def test_admin_creates_user(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.ADMIN)
    at.switch_page("pages/admin_benutzer.py").run()
    ns = "users_new__f__"
    at.text_input(key=f"{ns}username").input("neu.mitarbeiter")
    at.text_input(key=f"{ns}display_name").input("Neue Mitarbeiterin")
    at.selectbox(key=f"{ns}role").set_value(Role.MARKETING)
    at.text_input(key=f"{ns}password").input("kurz")
    at.button(key="FormSubmitter:users_new__form-Benutzer anlegen").click().run()
    assert any("mindestens 10 Zeichen" in m.value for m in at.markdown)
    at.text_input(key=f"{ns}password").input("lang-genug-2026")
    at.button(key="FormSubmitter:users_new__form-Benutzer anlegen").click().run()
    assert_clean(at)
    assert "neu.mitarbeiter" in list(at.dataframe[0].value.iloc[:, 0])


def test_start_page_lists_own_account_without_postcode(logged_in: LoggedIn, app_data: AppData) -> None:
    from core.accounts import create_account, delete_account

    factory = session_factory(app_data.url)
    rep = app_data.users[Role.SALES_REP].actor()
    bare = create_account(UnitOfWork(factory, actor=rep), {"name": "Ohne Adresse GmbH"})
    st.cache_data.clear()  # the account was created outside the app: no cached read may hide it
    try:
        at = logged_in(Role.SALES_REP)
        at.switch_page("pages/startseite.py").run()
        assert_clean(at)
        assert any("Ohne Adresse GmbH" in m.value for m in at.markdown), [m.value for m in at.markdown]
    finally:
        delete_account(UnitOfWork(factory, actor=app_data.users[Role.ADMIN].actor()), bare.id, expected_version=None)


def test_new_contact_form_warns_about_a_likely_duplicate_while_typing(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.SALES_MANAGER)
    at.switch_page("pages/kontakt_detail.py").run()
    ns = "con_obj_new__f__"
    assert not at.warning, "no hint before anything is typed"
    at.text_input(key=f"{ns}first_name").input("Jürgen").run()
    at.text_input(key=f"{ns}last_name").input("Weiss").run()
    at.text_input(key=f"{ns}email").input("J.Weiss@Example.de").run()
    assert_clean(at)
    assert any("Möglicherweise doppelt" in w.value for w in at.warning), [w.value for w in at.warning]
    hint_text = " ".join(m.value for m in at.markdown)
    assert "Weiß" in hint_text and str(app_data.contact.id) in hint_text, "names the existing contact"


def test_object_page_of_a_record_points_to_its_likely_duplicate(logged_in: LoggedIn, app_data: AppData) -> None:
    from core.contacts import create_contact, delete_contact

    factory = session_factory(app_data.url)
    manager = app_data.users[Role.SALES_MANAGER].actor()
    twin = create_contact(
        UnitOfWork(factory, actor=manager),
        {"first_name": "Jürgen", "last_name": "Weiss", "email": "j.weiss@example.de"},
    )
    try:
        at = logged_in(Role.SALES_MANAGER)
        at.session_state["kontakt_detail__id"] = twin.id
        at.switch_page("pages/kontakt_detail.py").run()
        assert_clean(at)
        assert any("Möglicherweise doppelt" in w.value for w in at.warning)
        assert str(app_data.contact.id) in " ".join(m.value for m in at.markdown)
    finally:
        delete_contact(UnitOfWork(factory, actor=manager), twin.id, expected_version=None)


def test_edit_form_warns_about_a_likely_duplicate_before_saving(logged_in: LoggedIn, app_data: AppData) -> None:
    from core.contacts import create_contact, delete_contact, get_contact

    factory = session_factory(app_data.url)
    manager = app_data.users[Role.SALES_MANAGER].actor()
    other = create_contact(UnitOfWork(factory, actor=manager), {"first_name": "Petra", "last_name": "Lange"})
    try:
        at = logged_in(Role.SALES_MANAGER)
        at.session_state["kontakt_detail__id"] = other.id
        at.switch_page("pages/kontakt_detail.py").run()
        assert not any("Möglicherweise doppelt" in w.value for w in at.warning)
        at.text_input(key="con_obj__f__first_name").input("Jürgen").run()
        at.text_input(key="con_obj__f__last_name").input("Weiß").run()
        at.text_input(key="con_obj__f__email").input("j.weiss@example.de").run()
        assert_clean(at)
        assert any("Möglicherweise doppelt" in w.value for w in at.warning), "hint before saving"
        assert get_contact(UnitOfWork(factory, actor=manager), other.id).last_name == "Lange", "nothing saved yet"
    finally:
        delete_contact(UnitOfWork(factory, actor=manager), other.id, expected_version=None)


def test_admin_sets_the_duplicate_threshold_in_percent(logged_in: LoggedIn, app_data: AppData) -> None:
    from core.dedupe.settings import get_threshold, set_threshold

    factory = session_factory(app_data.url)
    admin = app_data.users[Role.ADMIN].actor()
    before = get_threshold(UnitOfWork(factory, actor=admin), "contact")
    try:
        at = logged_in(Role.ADMIN)
        at.switch_page("pages/admin_dubletten.py").run()
        assert at.slider(key="admin_dubletten__contact").value == round(before * 100)
        at.slider(key="admin_dubletten__contact").set_value(82)
        at.button(key="FormSubmitter:admin_dubletten__form-Speichern").click().run()
        assert_clean(at)
        assert get_threshold(UnitOfWork(factory, actor=admin), "contact") == pytest.approx(0.82)
    finally:
        set_threshold(UnitOfWork(factory, actor=admin), "contact", before)
