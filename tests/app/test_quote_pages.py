"""The product catalogue page and the quote/order section of a deal, driven through AppTest."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.database import session_factory
from core.listing import ListQuery
from core.permissions import Role
from core.sales.opportunities import OpportunityView, create_opportunity, get_opportunity
from core.sales.orders import list_orders
from core.sales.products import ProductView, create_product, list_products
from core.sales.quotes import add_line, create_quote, list_quotes, send_quote
from core.uow import UnitOfWork
from tests.app.conftest import TIMEOUT, AppData, LoggedIn
from tests.conftest import FrozenClock

SECTION = str(Path(__file__).with_name("quote_section_app.py"))
PRODUCTS = "pages/produkte.py"
Q = "t_quotes"
_seq = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, role: Role) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor())


def product(app_data: AppData, **values: object) -> ProductView:
    """A product of its own for one test (the app database is shared by all tests)."""
    n = next(_seq)
    data = {"sku": f"TQ-{n:03d}", "name": f"Spannsystem Typ {n}", "unit_price": "1.250,00"} | values
    return create_product(uow(app_data, Role.ADMIN), data)


def deal(app_data: AppData, role: Role = Role.SALES_REP) -> OpportunityView:
    data = {"name": f"Angebotsdeal {next(_seq)}", "account_id": app_data.account.id, "amount": "10000"}
    return create_opportunity(uow(app_data, role), data)


def section(app_data: AppData, app_clock: FrozenClock, role: Role, opportunity_id: int) -> AppTest:
    at = AppTest.from_file(SECTION, default_timeout=TIMEOUT)
    at.session_state["app__clock"] = app_clock
    at.session_state["auth__user"] = app_data.users[role]
    at.session_state["ui__lang"] = "de"
    at.session_state["test__opportunity_id"] = opportunity_id
    at.run()
    assert_clean(at)
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander])


def frame_with(at: AppTest, column: str) -> list[dict[str, object]]:
    return next(df.value for df in at.dataframe if column in df.value.columns).to_dict("records")


# Produkte ------------------------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_product(logged_in: LoggedIn, app_data: AppData) -> None:
    at = logged_in(Role.ADMIN)
    at.switch_page(PRODUCTS).run()
    assert_clean(at)
    assert "Produkte" in at.title[0].value
    at.button(key="prod_list__new").click().run()
    ns = "prod_new__f__"
    at.text_input(key=f"{ns}sku").input("TQ-NEU-1")
    at.text_input(key=f"{ns}name").input("Messtaster MT 20")
    at.text_input(key=f"{ns}unit_price").input("12,345")
    at.button(key="FormSubmitter:prod_new__form-Produkt anlegen").click().run()
    assert_clean(at)
    assert any("höchstens 2 Nachkommastellen" in m.value for m in at.markdown), "German message at the field"
    at.text_input(key=f"{ns}unit_price").input("1.899,90")
    at.selectbox(key=f"{ns}vat_rate").set_value(Decimal(7))
    at.button(key="FormSubmitter:prod_new__form-Produkt anlegen").click().run()
    assert_clean(at)
    created = list_products(uow(app_data, Role.VIEWER), ListQuery(search="TQ-NEU-1")).rows
    assert created[["name", "unit_price", "vat_rate"]].values.tolist() == [
        ["Messtaster MT 20", Decimal("1899.90"), Decimal("7.00")]
    ]
    assert at.text_input(key="prod_obj__f__sku").value == "TQ-NEU-1", "the saved product stays open for editing"

    at.toggle(key="prod_obj__f__is_active").set_value(False)
    at.text_input(key="prod_obj__reason").input("Auslaufmodell")
    at.button(key="FormSubmitter:prod_obj__form-Speichern").click().run()
    assert_clean(at)
    rows = list_products(uow(app_data, Role.VIEWER), ListQuery(search="TQ-NEU-1")).rows
    assert not rows["is_active"][0]

    at.text_input(key="prod_list__search").input("TQ-NEU-1").run()
    pick = next(m for m in at.multiselect if m.key and m.key.startswith("prod_list__pick_"))
    assert pick.options == ["TQ-NEU-1 · Messtaster MT 20"]


def test_others_read_the_catalogue_only(logged_in: LoggedIn, app_data: AppData) -> None:
    item = product(app_data, name="Nullpunktspanner NS 1")
    for role in (Role.SALES_REP, Role.VIEWER):
        at = logged_in(role)
        at.switch_page(PRODUCTS).run()
        assert_clean(at)
        assert "prod_list__new" not in {b.key for b in at.button}
        assert any("pflegt die Administration" in c.value for c in at.caption)
        at.text_input(key="prod_list__search").input(item.sku).run()
        pick = next(m for m in at.multiselect if m.key and m.key.startswith("prod_list__pick_"))
        pick.select(item.id).run()
        at.button(key="prod_list__open").click().run()
        assert_clean(at)
        assert at.text_input(key="prod_obj__f__name").value == "Nullpunktspanner NS 1"
        assert at.text_input(key="prod_obj__f__name").disabled, "read-only form"


# Angebote & Aufträge ---------------------------------------------------------------------------------------


def test_quote_from_first_click_to_order(app_data: AppData, app_clock: FrozenClock) -> None:
    item = product(app_data, name="Rundtisch RT 400")
    opp = deal(app_data)
    at = section(app_data, app_clock, Role.SALES_REP, opp.id)
    assert any("Noch kein Hauptangebot" in i.value for i in at.info)
    assert any("noch kein Angebot" in i.value for i in at.info)

    at.button(key=f"{Q}__new").click().run()
    assert_clean(at)
    quote = list_quotes(uow(app_data, Role.SALES_REP), opp.id)[0]
    ns = f"{Q}__q{quote.id}"
    assert any(quote.number in e.label and "Entwurf" in e.label for e in at.expander)

    at.text_input(key=f"{ns}__product_q").input(item.sku).run()
    at.selectbox(key=f"{ns}__v{quote.version}__product").set_value(item.id)
    at.text_input(key=f"{ns}__v{quote.version}__quantity").input("2")
    at.button(key=f"{ns}__add").click().run()
    assert_clean(at)
    version = quote.version + 1
    at.button(key=f"{ns}__add").click().run()
    assert any("**Bezeichnung**: Pflichtfeld" in e.value for e in at.error), "a free line needs a description"
    at.text_input(key=f"{ns}__v{version}__description").input("Inbetriebnahme")
    at.text_input(key=f"{ns}__v{version}__unit_price").input("880")
    at.selectbox(key=f"{ns}__v{version}__vat").set_value(Decimal(7))
    at.button(key=f"{ns}__add").click().run()
    assert_clean(at)
    lines = frame_with(at, "Bezeichnung")
    assert [(r["Pos."], r["Bezeichnung"], r["Menge"], r["Gesamt netto"]) for r in lines] == [
        (1, "Rundtisch RT 400", "2", "2.500,00\xa0€"),
        (2, "Inbetriebnahme", "1", "880,00\xa0€"),
    ]
    shown = texts(at)
    assert "USt 19 % auf 2.500,00\xa0€ | 475,00\xa0€" in shown and "USt 7 % auf 880,00\xa0€ | 61,60\xa0€" in shown
    assert "**3.916,60\xa0€**" in shown, "gross total"

    at.button(key=f"{ns}__primary").click().run()
    assert_clean(at)
    assert get_opportunity(uow(app_data, Role.SALES_REP), opp.id).amount == Decimal("3380.00")
    assert any("Positionen aus dem Hauptangebot" in c.value for c in at.caption), "the Positionen section"
    assert any(e.label.startswith("★ ") for e in at.expander)

    at.button(key=f"{ns}__send").click().run()
    assert_clean(at)
    at.button(key=f"{ns}__accept").click().run()
    assert any("auf „Gewonnen“ gesetzt" in m.value for m in at.markdown), "the dialog says what happens"
    at.button(key=f"{ns}__accept__yes").click().run()
    assert_clean(at)
    orders = frame_with(at, "Auftrag")
    assert [(r["Angebot"], r["Brutto"], r["Status"]) for r in orders] == [(quote.number, "3.916,60\xa0€", "Aufgegeben")]
    assert get_opportunity(uow(app_data, Role.SALES_REP), opp.id).status == "won"
    order_id = int(list_orders(uow(app_data, Role.VIEWER), ListQuery(filters={"opportunity_id": opp.id})).rows["id"][0])

    at.button(key=f"{Q}__orders__cancel_{order_id}").click().run()
    at.button(key=f"{Q}__orders__cancel_{order_id}__yes").click().run()
    assert any("Grund der Stornierung" in e.value for e in at.error), "a reason is required (shown in the dialog)"
    at.text_area(key=f"{Q}__orders__cancel_{order_id}__reason").input("Kunde hat storniert")
    at.button(key=f"{Q}__orders__cancel_{order_id}__yes").click().run()
    assert_clean(at)
    assert [r["Status"] for r in frame_with(at, "Auftrag")] == ["Storniert"]


def test_decline_copy_and_delete(app_data: AppData, app_clock: FrozenClock) -> None:
    item = product(app_data)
    opp = deal(app_data)
    rep = uow(app_data, Role.SALES_REP)
    quote = create_quote(rep, opportunity_id=opp.id)
    quote = add_line(uow(app_data, Role.SALES_REP), quote.id, {"product_id": item.id}, expected_version=quote.version)
    quote = send_quote(uow(app_data, Role.SALES_REP), quote.id, expected_version=quote.version)
    at = section(app_data, app_clock, Role.SALES_REP, opp.id)
    ns = f"{Q}__q{quote.id}"
    assert f"{ns}__add" not in {b.key for b in at.button}, "a sent quote is not edited"

    at.button(key=f"{ns}__decline").click().run()
    at.text_area(key=f"{ns}__decline__reason").input("Zu teuer")
    at.button(key=f"{ns}__decline__yes").click().run()
    assert_clean(at)
    assert any("Abgelehnt: Zu teuer" in w.value for w in at.warning)

    at.button(key=f"{ns}__copy").click().run()
    assert_clean(at)
    copy = list_quotes(uow(app_data, Role.SALES_REP), opp.id)[-1]
    assert (copy.status, len(copy.lines)) == ("entwurf", 1)
    copy_ns = f"{Q}__q{copy.id}"
    at.button(key=f"{copy_ns}__delete").click().run()
    assert any("wirklich löschen" in m.value for m in at.markdown)
    at.button(key=f"{copy_ns}__delete__yes").click().run()
    assert_clean(at)
    assert [q.number for q in list_quotes(uow(app_data, Role.SALES_REP), opp.id)] == [quote.number]


def test_viewer_and_foreign_rep_only_read(app_data: AppData, app_clock: FrozenClock) -> None:
    opp = deal(app_data, Role.SALES_MANAGER)
    quote = create_quote(uow(app_data, Role.SALES_MANAGER), opportunity_id=opp.id)
    for role in (Role.VIEWER, Role.SALES_REP):
        at = section(app_data, app_clock, role, opp.id)
        keys = {b.key for b in at.button}
        assert f"{Q}__new" not in keys and f"{Q}__q{quote.id}__send" not in keys
        assert any("nicht bearbeiten" in c.value for c in at.caption)
        assert any(quote.number in e.label for e in at.expander)


def test_edit_a_line_the_quote_discount_and_remove_a_line(app_data: AppData, app_clock: FrozenClock) -> None:
    item = product(app_data, unit_price="100")
    opp = deal(app_data)
    quote = create_quote(uow(app_data, Role.SALES_REP), opportunity_id=opp.id)
    quote = add_line(uow(app_data, Role.SALES_REP), quote.id, {"product_id": item.id}, expected_version=quote.version)
    quote = add_line(
        uow(app_data, Role.SALES_REP),
        quote.id,
        {"description": "Versand", "unit_price": "20"},
        expected_version=quote.version,
    )
    first, second = quote.lines
    at = section(app_data, app_clock, Role.SALES_REP, opp.id)
    ns = f"{Q}__q{quote.id}"
    line_ns = f"{ns}__l{first.id}_v{quote.version}"
    assert at.text_input(key=f"{line_ns}__unit_price").value == "100"
    at.text_input(key=f"{line_ns}__quantity").input("3")
    at.text_input(key=f"{line_ns}__discount").input("10")
    at.button(key=f"{ns}__save_line").click().run()
    assert_clean(at)
    quote = list_quotes(uow(app_data, Role.SALES_REP), opp.id)[0]
    assert [line.net_amount for line in quote.lines] == [Decimal("270.00"), Decimal("20.00")]

    header = f"{ns}__header_v{quote.version}"
    at.text_input(key=f"{header}__discount").input("5")
    at.text_area(key=f"{header}__terms").input("Lieferung in 4 Wochen.")
    at.button(key=f"FormSubmitter:{header}-Angebotsdaten speichern").click().run()
    assert_clean(at)
    quote = list_quotes(uow(app_data, Role.SALES_REP), opp.id)[0]
    assert (quote.discount_percent, quote.net_total, quote.terms) == (
        Decimal("5.00"),
        Decimal("275.50"),
        "Lieferung in 4 Wochen.",
    )
    assert "Rabatt 5 %" in texts(at)

    at.selectbox(key=f"{ns}__pick").set_value(second.id).run()
    at.button(key=f"{ns}__remove_line").click().run()
    assert_clean(at)
    quote = list_quotes(uow(app_data, Role.SALES_REP), opp.id)[0]
    assert [line.description.splitlines()[0] for line in quote.lines] == [item.name]
    assert at.selectbox(key=f"{ns}__pick").value == first.id, "the picker falls back to a line that still exists"
