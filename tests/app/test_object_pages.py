"""Kunden-Stamm and contact object pages: the Adressen tab, the Änderungsprotokoll tab (filters, badge,
export) and the registry through which later capabilities add tabs and header facets."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from app.components import object_tabs
from app.components.object_tabs import HeaderFacet, ObjectTab
from core.accounts import AccountView, create_account, get_account
from core.addresses import Owner, add_address, list_addresses
from core.database import session_factory
from core.permissions import Role
from core.uow import UnitOfWork
from db.append_only import append_only_ddl, drop_append_only_ddl
from tests.app.conftest import AppData, LoggedIn

ACCOUNT_PAGE = "pages/kunden_stamm.py"
CONTACT_PAGE = "pages/kontakt_detail.py"
NEW = "acc_obj_addr_new__f__"
_names = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, role: Role) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor())


def fresh_account(app_data: AppData, **values: str) -> AccountView:
    """An account of the sales rep of its own (the shared app database serves all tests)."""
    data = {"name": f"Adresstest {next(_names)} GmbH", "postcode": "50667", "city": "Köln"} | values
    return create_account(uow(app_data, Role.SALES_REP), data)


def open_account(logged_in: LoggedIn, role: Role, account_id: int) -> AppTest:
    at = logged_in(role)
    at.session_state["kunden_stamm__id"] = account_id
    at.switch_page(ACCOUNT_PAGE).run()
    assert_clean(at)
    return at


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def markdown_texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_add_an_address_through_the_tab(logged_in: LoggedIn, app_data: AppData) -> None:
    account = fresh_account(app_data)
    at = open_account(logged_in, Role.SALES_REP, account.id)
    assert [tab.label for tab in at.tabs] == ["Übersicht", "Adressen", "Kontakte", "Verkaufschancen", "Änderungsprotokoll"]
    assert at.toggle(key=f"{NEW}is_primary").value, "the first Besuchsadresse is proposed as primary"

    at.text_input(key=f"{NEW}street").input("Hohe Straße")
    at.text_input(key=f"{NEW}house_number").input("12")
    at.text_input(key=f"{NEW}postcode").input("5066")
    at.text_input(key=f"{NEW}city").input("Köln")
    at.button(key="FormSubmitter:acc_obj_addr_new__form-Adresse hinzufügen").click().run()
    assert_clean(at)
    assert any("fünf Ziffern" in m for m in markdown_texts(at)), "German message next to the postcode"

    at.text_input(key=f"{NEW}postcode").input("50670")
    at.button(key="FormSubmitter:acc_obj_addr_new__form-Adresse hinzufügen").click().run()
    assert_clean(at)
    table = frame_with(at, "Adressart")
    assert list(table["Adressart"]) == ["Besuchsadresse"]
    assert list(table["Status"]) == ["★ Hauptadresse"]
    assert list(table["Adresse"]) == ["Hohe Straße 12, 50670 Köln"]
    assert at.text_input(key=f"{NEW}street").value == "", "the new-address form is empty again"
    synced = get_account(uow(app_data, Role.SALES_REP), account.id)
    assert (synced.street, synced.postcode) == ("Hohe Straße 12", "50670"), "Hauptanschrift follows"


def test_mark_primary_and_retire(logged_in: LoggedIn, app_data: AppData) -> None:
    account = fresh_account(app_data)
    owner = Owner("account", account.id)
    billing = {"type": "rechnung", "street": "Postfach", "postcode": "50668", "city": "Köln"}
    add_address(uow(app_data, Role.SALES_REP), owner=owner, values=billing | {"is_primary": True})
    second = add_address(uow(app_data, Role.SALES_REP), owner=owner, values=billing | {"street": "Ringstraße"})

    at = open_account(logged_in, Role.SALES_REP, account.id)
    at.selectbox(key="acc_obj_addr__pick").set_value(second.id).run()
    at.button(key="acc_obj_addr__primary").click().run()
    assert_clean(at)
    table = frame_with(at, "Adressart")
    assert list(zip(table["Adresse"], table["Status"])) == [
        ("Ringstraße, 50668 Köln", "★ Hauptadresse"),
        ("Postfach, 50668 Köln", "aktiv"),
    ]

    at.selectbox(key="acc_obj_addr__pick").set_value(second.id).run()
    at.button(key="acc_obj_addr__retire").click().run()
    assert any("gilt ab heute nicht mehr" in m for m in markdown_texts(at)), "the dialog asks first"
    at.button(key="acc_obj_addr__retire_yes").click().run()
    assert_clean(at)
    assert list(frame_with(at, "Adressart")["Adresse"]) == ["Postfach, 50668 Köln"]
    retired = list_addresses(uow(app_data, Role.VIEWER), owner=owner, include_retired=True)
    assert [(a.id, a.is_primary, str(a.valid_until)) for a in retired if a.id == second.id] == [
        (second.id, False, "2026-11-25")
    ]
    at.toggle(key="acc_obj_addr__show_retired").set_value(True).run()
    assert "ausgelaufen" in list(frame_with(at, "Adressart")["Status"])


def test_foreign_account_addresses_are_read_only_for_a_sales_rep(logged_in: LoggedIn, app_data: AppData) -> None:
    at = open_account(logged_in, Role.SALES_REP, app_data.other_account.id)
    keys = {b.key for b in at.button}
    assert "acc_obj_addr__retire" not in keys
    assert "FormSubmitter:acc_obj_addr_new__form-Adresse hinzufügen" not in keys


def test_change_log_filters_badge_and_export(logged_in: LoggedIn, app_data: AppData) -> None:
    account = fresh_account(app_data)
    add_address(
        uow(app_data, Role.SALES_MANAGER),
        owner=Owner("account", account.id),
        values={"type": "liefer", "street": "Werkstraße", "postcode": "51063", "city": "Köln"},
        reason="Neues Lager",
    )
    at = open_account(logged_in, Role.SALES_REP, account.id)
    address_id = list_addresses(uow(app_data, Role.VIEWER), owner=Owner("account", account.id))[0].id
    log = frame_with(at, "Objekt")
    assert set(log["Objekt"]) == {"Firma", f"Lieferadresse (Adresse {address_id})"}
    badge = [m for m in markdown_texts(at) if "Kette geprüft" in m]
    assert badge and f"({len(log)} Einträge)" in badge[0]

    at.selectbox(key="acc_obj_log__field").set_value("street").run()
    filtered = frame_with(at, "Objekt")
    assert set(filtered["Feld"]) == {"Straße"} and set(filtered["Neuer Wert"]) == {"Werkstraße"}
    assert any("Kette geprüft ✓ (1 Eintrag)" in m for m in markdown_texts(at))

    at.selectbox(key="acc_obj_log__field").set_value(None).run()
    at.selectbox(key="acc_obj_log__user").set_value(app_data.users[Role.SALES_MANAGER].username).run()
    by_manager = frame_with(at, "Objekt")
    assert set(by_manager["Grund"]) == {"Neues Lager"}
    assert "Lieferadresse" in set(by_manager["Neuer Wert"]), "address type codes in words"
    downloads = {d.proto.label for d in at.get("download_button")}
    assert {"CSV", "PDF"} <= downloads


@pytest.fixture
def tampered_entry(app_data: AppData) -> Iterator[tuple[AccountView, int]]:
    """Change one audit row of a fresh account behind the triggers' back; restored afterwards."""
    account = fresh_account(app_data, city="Bonn", postcode="53111")
    engine = session_factory(app_data.url).kw["bind"]
    with engine.begin() as conn:
        entry_id, original = conn.execute(
            text(
                "SELECT id, new_value FROM audit_entries "
                "WHERE entity = 'account' AND entity_id = :id AND field = 'city'"
            ),
            {"id": str(account.id)},
        ).one()
        for ddl in drop_append_only_ddl("audit_entries", "sqlite"):
            conn.execute(text(ddl))
        conn.execute(text("UPDATE audit_entries SET new_value = 'Berlin' WHERE id = :id"), {"id": entry_id})
    yield account, entry_id
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET new_value = :v WHERE id = :id"), {"v": original, "id": entry_id})
        for ddl in append_only_ddl("audit_entries", "sqlite"):
            conn.execute(text(ddl))


def test_change_log_badge_fails_after_tampering(logged_in: LoggedIn, tampered_entry: tuple[AccountView, int]) -> None:
    account, entry_id = tampered_entry
    at = open_account(logged_in, Role.COMPLIANCE, account.id)
    assert any("Kette gebrochen" in m for m in markdown_texts(at))
    assert any(f"Eintrag {entry_id}" in e.value and "verändert" in e.value for e in at.error)
    assert not any("Kette geprüft" in m for m in markdown_texts(at))


def test_contact_page_has_addresses_and_change_log(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.SALES_REP)
    at.session_state["kontakt_detail__id"] = app_data.contact.id
    at.switch_page(CONTACT_PAGE).run()
    assert_clean(at)
    assert [tab.label for tab in at.tabs] == ["Übersicht", "Adressen", "Verkaufschancen", "Einwilligungen", "Änderungsprotokoll"]
    assert at.selectbox(key="con_obj_addr_new__f__type").value == "post", "Postanschrift is the contact's main type"
    assert "Vorname" in set(frame_with(at, "Objekt")["Feld"])


@pytest.fixture
def registered_slot() -> Iterator[None]:
    tab = object_tabs.register_object_tab(
        ObjectTab("account", "test_pipeline", "page.events", lambda a: None, permission="events.read", order=25)
    )
    facet = object_tabs.register_header_facet(
        HeaderFacet("account", "test_pipeline", "page.events", lambda a: f"Pipeline von {a.name}")
    )
    yield
    object_tabs.OBJECT_TABS.remove(tab)
    object_tabs.HEADER_FACETS.remove(facet)


def test_registered_tabs_and_facets_join_the_page(
    logged_in: LoggedIn, app_data: AppData, registered_slot: None
) -> None:
    at = open_account(logged_in, Role.ADMIN, app_data.account.id)
    assert [tab.label for tab in at.tabs] == [
        "Übersicht", "Adressen", "Ereignisse", "Kontakte", "Verkaufschancen", "Änderungsprotokoll"
    ]
    assert any("Pipeline von Müller Maschinenbau" in m for m in markdown_texts(at))
    at = open_account(logged_in, Role.VIEWER, app_data.account.id)
    assert "Ereignisse" not in [tab.label for tab in at.tabs], "a tab needs its permission"


def test_registry_rejects_incomplete_slots() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        object_tabs.register_object_tab(ObjectTab("account", "x", "page.events", lambda a: None, permission="nope"))
    with pytest.raises(ValueError, match="missing in the catalogue"):
        object_tabs.register_header_facet(HeaderFacet("contact", "x", "no.such.key", lambda c: None))
    with pytest.raises(ValueError, match="unknown entity"):
        object_tabs.register_object_tab(ObjectTab("opportunity", "x", "page.events", lambda a: None))  # type: ignore[arg-type]
