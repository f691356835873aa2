"""Products, quotes with line items, the primary quote driving the deal amount, the quote status machine,
orders placed on acceptance (winning the deal), cancellation, permissions and atomicity — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.events import recent_events
from core.listing import ListQuery
from core.permissions import Actor, Role
from core.sales import orders as orders_module
from core.sales.contact_roles import add_contact_role
from core.sales.history import stage_history
from core.sales.opportunities import get_opportunity, lose_opportunity
from core.sales.orders import (
    accept_quote,
    cancel_order,
    get_order,
    get_win_on_order,
    list_orders,
    set_win_on_order,
)
from core.sales.pipelines import list_reasons
from core.sales.products import (
    create_product,
    deactivate_product,
    get_product,
    list_products,
    product_options,
    update_product,
)
from core.sales.quotes import (
    DEMO_LETTERHEAD,
    QuoteView,
    add_line,
    company_letterhead,
    copy_quote,
    create_quote,
    decline_quote,
    delete_quote,
    get_quote,
    list_quotes,
    mark_primary,
    primary_quote,
    quote_document,
    remove_line,
    send_quote,
    set_company_letterhead,
    set_quote_discount,
    update_line,
    update_quote,
)
from core.uow import UnitOfWork
from db.models import AppSetting, Quote, QuoteLine, SalesOrder
from exports.pdf.quote import quote_pdf
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity
from tests.unit.test_quote_pdf import pdf_text

D = Decimal


@dataclass(frozen=True)
class World:
    factory: sessionmaker[Session]
    clock: FrozenClock
    admin: Actor
    manager: Actor
    rep: Actor
    other_rep: Actor
    viewer: Actor
    opportunity_id: int
    contact_id: int
    machine_id: int
    service_id: int

    def uow(self, actor: Actor | None = None) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=actor or self.rep, clock=self.clock)


def colleague(role: Role, user_id: int) -> Actor:
    """A user who acts but owns nothing here (no row needed; saves the argon2 hashing of make_user)."""
    return Actor(user_id=user_id, name=f"{role.value} {user_id}", role=role)


@pytest.fixture
def world(factory: sessionmaker[Session], clock: FrozenClock) -> World:
    admin = colleague(Role.ADMIN, 90_001)
    rep = make_user(factory, Role.SALES_REP, clock=clock, email="erika.vertrieb@example.de").actor()
    account = make_account(factory, rep, clock=clock, street="Hohe Straße 12")
    contact = make_contact(factory, rep, clock=clock, account_id=account.id, salutation="Herr", title="Dr.")
    opp = make_opportunity(factory, rep, account_id=account.id, clock=clock, amount="48000")
    add_contact_role(
        UnitOfWork(factory, actor=rep, clock=clock), opp.id, contact_id=contact.id, role="Entscheider", is_primary=True
    )
    machine = create_product(
        UnitOfWork(factory, actor=admin, clock=clock),
        {
            "sku": "FM-500",
            "name": "Fräsmaschine FM 500",
            "description": "5-Achs-Fräszentrum",
            "unit_price": "12.500,00",
        },
    )
    service = create_product(
        UnitOfWork(factory, actor=admin, clock=clock),
        {"sku": "SV-STD", "name": "Servicetechniker", "unit": "Stunde", "unit_price": "95", "vat_rate": 19},
    )
    return World(
        factory=factory,
        clock=clock,
        admin=admin,
        manager=colleague(Role.SALES_MANAGER, 90_002),
        rep=rep,
        other_rep=colleague(Role.SALES_REP, 90_003),
        viewer=colleague(Role.VIEWER, 90_004),
        opportunity_id=opp.id,
        contact_id=contact.id,
        machine_id=machine.id,
        service_id=service.id,
    )


def events(w: World, prefix: str) -> list[tuple[str, str]]:
    with w.factory() as session:
        rows = recent_events(session, limit=500, name_prefix=prefix)
    return list(reversed(list(zip(rows["name"], rows["entity_id"]))))


def trail(w: World, entity: str, entity_id: int | str) -> list[tuple[str, str | None, str | None, str | None]]:
    """(action, field, new value, reason) oldest first."""
    with w.factory() as session:
        rows = audit.trail(session, entity=entity, entity_id=entity_id)
    rows = rows.astype(object).where(rows.notna(), None)
    return list(reversed(list(zip(rows["action"], rows["field"], rows["new_value"], rows["reason"]))))


def count(w: World, model: type) -> int:
    with w.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def quote_with_lines(w: World, actor: Actor | None = None) -> QuoteView:
    """A draft with a machine (2 × 12.500 €, 5 % off) and 8 service hours at 7 % VAT (a free line)."""
    quote = create_quote(w.uow(actor), opportunity_id=w.opportunity_id)
    quote = add_line(
        w.uow(actor),
        quote.id,
        {"product_id": w.machine_id, "quantity": 2, "discount_percent": "5"},
        expected_version=quote.version,
    )
    return add_line(
        w.uow(actor),
        quote.id,
        {"description": "Schulung vor Ort", "quantity": "8", "unit": "Stunde", "unit_price": "110,50", "vat_rate": "7"},
        expected_version=quote.version,
    )


def sent_quote(w: World) -> QuoteView:
    quote = quote_with_lines(w)
    return send_quote(w.uow(), quote.id, expected_version=quote.version)


# Products ------------------------------------------------------------------------------------------


def test_product_catalogue_is_kept_by_admins_and_read_by_everyone(world: World) -> None:
    w = world
    machine = get_product(w.uow(w.viewer), w.machine_id)
    assert (machine.unit, machine.unit_price, machine.vat_rate, machine.is_active) == (
        "Stück",
        D("12500.00"),
        D("19.00"),
        True,
    )
    with pytest.raises(ValidationFailed) as taken:
        create_product(w.uow(w.admin), {"sku": "fm-500", "name": "Doppelt", "unit_price": "1"})
    assert "schon vergeben" in taken.value.fields["sku"]
    with pytest.raises(ValidationFailed) as bad:
        create_product(w.uow(w.admin), {"sku": "X-1", "name": "Buch", "unit_price": "12,345", "vat_rate": "16"})
    assert bad.value.fields == {
        "unit_price": "höchstens 2 Nachkommastellen",
        "vat_rate": "Umsatzsteuersatz muss 19, 7 oder 0 % sein",
    }
    for actor in (w.rep, w.manager, w.viewer):
        with pytest.raises(PermissionDenied):
            create_product(w.uow(actor), {"sku": "X-2", "name": "Fachbuch", "unit_price": "49,90", "vat_rate": 7})

    w.clock.advance(days=1)
    changed = update_product(
        w.uow(w.admin),
        machine.id,
        {"unit_price": "13.100,00"},
        expected_version=machine.version,
        reason="Preisliste 2027",
    )
    assert changed.unit_price == D("13100.00")
    with pytest.raises(Conflict):
        update_product(w.uow(w.admin), machine.id, {"name": "Alt"}, expected_version=machine.version)
    deactivate_product(w.uow(w.admin), machine.id, expected_version=changed.version)

    page = list_products(w.uow(w.viewer), ListQuery(search="fräs"))
    assert page.rows["sku"].tolist() == ["FM-500"] and not page.rows["is_active"][0]
    assert list_products(w.uow(w.viewer), ListQuery(filters={"is_active": True})).rows["sku"].tolist() == ["SV-STD"]
    assert product_options(w.uow(w.rep))["sku"].tolist() == ["SV-STD"], "inactive products are not offered"
    assert product_options(w.uow(w.rep), ids=[machine.id])["sku"].tolist() == ["FM-500"]
    assert [(a, f) for a, f, *_ in trail(w, "product", machine.id) if a != "created"] == [
        ("updated", "unit_price"),
        ("updated", "is_active"),
    ]
    assert ("updated", "unit_price", "13100.00", "Preisliste 2027") in trail(w, "product", machine.id)
    assert [n for n, i in events(w, "crm.product.") if i == str(machine.id)] == [
        "crm.product.created",
        "crm.product.updated",
        "crm.product.updated",
    ]


# Quotes: numbering, defaults, lines, totals ----------------------------------------------------------


def test_quote_defaults_and_yearly_numbering(world: World) -> None:
    w = world
    first = create_quote(w.uow(), opportunity_id=w.opportunity_id)
    second = create_quote(w.uow(), opportunity_id=w.opportunity_id, values={"valid_until": dt.date(2026, 12, 10)})
    assert (first.number, second.number) == ("AN-2026-00001", "AN-2026-00002")
    assert (first.status, first.is_primary, first.currency, first.net_total) == ("entwurf", False, "EUR", D("0.00"))
    assert (first.quote_date, first.valid_until) == (dt.date(2026, 11, 25), dt.date(2026, 12, 25))
    assert second.valid_until == dt.date(2026, 12, 10)
    assert first.contact_id == w.contact_id and first.contact_name == "Dr. Jürgen Weiß", "the deal's primary contact"
    with pytest.raises(ValidationFailed) as early:
        create_quote(w.uow(), opportunity_id=w.opportunity_id, values={"valid_until": dt.date(2026, 11, 1)})
    assert early.value.fields == {"valid_until": "darf nicht vor dem Angebotsdatum liegen"}
    w.clock.current = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone.utc)  # 00:30 on 1 Jan in Berlin
    assert create_quote(w.uow(), opportunity_id=w.opportunity_id).number == "AN-2027-00001"
    assert [q.number for q in list_quotes(w.uow(w.viewer), w.opportunity_id)] == [
        "AN-2026-00001",
        "AN-2026-00002",
        "AN-2027-00001",
    ]
    assert events(w, "crm.quote.") == [
        ("crm.quote.created", str(first.id)),
        ("crm.quote.created", str(second.id)),
        ("crm.quote.created", str(second.id + 1)),
    ]


def test_numbers_grow_past_five_digits(world: World) -> None:
    w = world
    with w.factory() as session:
        now = w.clock()
        setting = AppSetting(key="sales.number.AN-2026", value=99_999, description="Test", version=1)
        session.add(setting)
        setting.created_at = setting.updated_at = now
        session.commit()
    assert create_quote(w.uow(), opportunity_id=w.opportunity_id).number == "AN-2026-100000"
    with w.factory() as session:
        session.delete(session.get(AppSetting, "sales.number.AN-2026"))
        session.commit()
    # Without the counter the highest stored number counts: "AN-2026-100000" sorts after "AN-2026-99999".
    assert create_quote(w.uow(), opportunity_id=w.opportunity_id).number == "AN-2026-100001"


def test_lines_totals_and_line_audit(world: World) -> None:
    w = world
    quote = quote_with_lines(w)
    machine, training = quote.lines
    assert (
        machine.position,
        machine.product_id,
        machine.description,
        machine.unit,
        machine.unit_price,
        machine.vat_rate,
    ) == (
        1,
        w.machine_id,
        "Fräsmaschine FM 500\n5-Achs-Fräszentrum",
        "Stück",
        D("12500.00"),
        D("19.00"),
    ), "copied from the product"
    assert machine.net_amount == D("23750.00"), "2 × 12.500 × 0,95"
    assert (training.product_id, training.net_amount, training.vat_rate) == (None, D("884.00"), D("7.00"))
    # 19 %: 23.750,00 → 4.512,50; 7 %: 884,00 → 61,88
    assert (quote.net_total, quote.vat_total, quote.gross_total) == (D("24634.00"), D("4574.38"), D("29208.38"))
    assert quote.version == 3, "every line change moves the quote's version on"

    quote = set_quote_discount(w.uow(), quote.id, "10", expected_version=quote.version)
    # 24.634,00 × 0,9 = 22.170,60; discount 2.463,40 split 2.375,00 / 88,40 → VAT 4.061,25 + 55,69
    assert [(r.rate, r.net, r.vat) for r in quote.totals.per_rate] == [
        (D("19.00"), D("21375.00"), D("4061.25")),
        (D("7.00"), D("795.60"), D("55.69")),
    ]
    assert (quote.net_total, quote.vat_total, quote.gross_total) == (D("22170.60"), D("4116.94"), D("26287.54"))

    quote = update_line(w.uow(), training.id, {"quantity": "10"}, expected_version=quote.version)
    assert quote.lines[1].net_amount == D("1105.00") and quote.net_total == D("22369.50")
    with pytest.raises(Conflict):
        add_line(w.uow(), quote.id, {"product_id": w.service_id}, expected_version=quote.version - 1)
    quote = update_line(
        w.uow(), machine.id, {"product_id": w.service_id, "quantity": 4}, expected_version=quote.version
    )
    assert (quote.lines[0].description, quote.lines[0].unit, quote.lines[0].net_amount) == (
        "Servicetechniker",
        "Stunde",
        D("361.00"),
    ), "the line keeps its discount"
    quote = remove_line(w.uow(), machine.id, expected_version=quote.version)
    assert [(line.position, line.description) for line in quote.lines] == [(1, "Schulung vor Ort")], "renumbered"
    assert quote.net_total == D("994.50") and quote.gross_total == D("1064.12")
    stored = get_quote(w.uow(w.viewer), quote.id)
    assert (stored.net_total, stored.vat_total, stored.gross_total) == (
        quote.totals.net,
        quote.totals.vat_total,
        quote.totals.gross,
    )

    with pytest.raises(ValidationFailed) as bad:
        add_line(
            w.uow(), quote.id, {"description": "", "unit_price": "-1", "quantity": "0"}, expected_version=quote.version
        )
    assert set(bad.value.fields) == {"description", "unit_price", "quantity"}
    with pytest.raises(ValidationFailed) as unknown:
        add_line(w.uow(), quote.id, {"product_id": 999_999}, expected_version=quote.version)
    assert "gibt es nicht" in unknown.value.fields["product_id"]

    entries = trail(w, "quote", quote.id)
    assert [a for a, f, *_ in entries if f and f.startswith("pos")][:1] == ["line_added"]
    assert ("line_added", "pos2.description", "Schulung vor Ort", None) in entries
    assert ("line_updated", "pos2.quantity", "10.000", None) in entries
    assert ("line_removed", "pos1.description", None, None) in entries
    assert ("updated", "discount_percent", "10.00", None) in entries
    assert ("line_removed", "net_total", "994.50", None) in entries
    assert [n for n, _ in events(w, "crm.quote.")].count("crm.quote.updated") == 6


# Primary quote → deal amount --------------------------------------------------------------------------


def test_primary_quote_drives_the_deal_amount(world: World) -> None:
    w = world
    quote = quote_with_lines(w)
    other = create_quote(w.uow(), opportunity_id=w.opportunity_id)
    assert get_opportunity(w.uow(), w.opportunity_id).amount == D("48000.00"), "no primary quote yet"

    w.clock.advance(hours=1)
    quote = mark_primary(w.uow(), quote.id, expected_version=quote.version)
    opp = get_opportunity(w.uow(), w.opportunity_id)
    assert quote.is_primary and opp.amount == D("24634.00")
    assert primary_quote(w.uow(w.viewer), w.opportunity_id).id == quote.id  # type: ignore[union-attr]
    assert ("updated", "amount", "24634.00", "Hauptangebot AN-2026-00001") in trail(w, "opportunity", w.opportunity_id)
    updated = [e for e in events(w, "crm.opportunity.") if e[0] == "crm.opportunity.updated"]
    assert updated == [("crm.opportunity.updated", str(w.opportunity_id))]
    history = stage_history(w.uow(), w.opportunity_id)
    assert history["kind"].tolist() == ["created", "revised"]
    assert history["amount"].tolist() == [D("48000.00"), D("24634.00")]

    w.clock.advance(hours=1)
    quote = add_line(w.uow(), quote.id, {"product_id": w.service_id, "quantity": 2}, expected_version=quote.version)
    assert get_opportunity(w.uow(), w.opportunity_id).amount == D("24824.00"), "a line change on the primary follows"
    other = add_line(w.uow(), other.id, {"product_id": w.service_id, "quantity": 1}, expected_version=other.version)
    assert get_opportunity(w.uow(), w.opportunity_id).amount == D("24824.00"), "other quotes do not"

    other = mark_primary(w.uow(), other.id, expected_version=other.version)
    assert get_opportunity(w.uow(), w.opportunity_id).amount == D("95.00")
    assert [q.is_primary for q in list_quotes(w.uow(), w.opportunity_id)] == [False, True], "one primary per deal"
    assert ("updated", "is_primary", "nein", "AN-2026-00002 ist jetzt das Hauptangebot") in trail(w, "quote", quote.id)
    assert stage_history(w.uow(), w.opportunity_id)["kind"].tolist() == ["created", "revised", "revised", "revised"]


# Status machine ---------------------------------------------------------------------------------------


def test_status_machine_freezes_sent_quotes_and_refuses_wrong_steps(world: World) -> None:
    w = world
    empty = create_quote(w.uow(), opportunity_id=w.opportunity_id)
    with pytest.raises(Conflict, match="keine Positionen"):
        send_quote(w.uow(), empty.id, expected_version=empty.version)
    with pytest.raises(Conflict, match="nicht versendet"):
        accept_quote(w.uow(), empty.id, expected_version=empty.version)
    delete_quote(w.uow(), empty.id, expected_version=empty.version)
    assert count(w, Quote) == 0

    quote = sent_quote(w)
    assert quote.number == "AN-2026-00002", "a deleted draft's number is not handed out again"
    assert (quote.status, quote.sent_at) == ("versendet", w.clock())
    line = quote.lines[0]
    for refused in (
        lambda: add_line(w.uow(), quote.id, {"product_id": w.service_id}, expected_version=quote.version),
        lambda: update_line(w.uow(), line.id, {"quantity": 1}, expected_version=quote.version),
        lambda: remove_line(w.uow(), line.id, expected_version=quote.version),
        lambda: update_quote(w.uow(), quote.id, {"terms": "neu"}, expected_version=quote.version),
        lambda: set_quote_discount(w.uow(), quote.id, 5, expected_version=quote.version),
    ):
        with pytest.raises(Conflict, match="Nur Entwürfe sind änderbar"):
            refused()
    with pytest.raises(Conflict, match="nur Entwürfe lassen sich löschen"):
        delete_quote(w.uow(), quote.id, expected_version=quote.version)
    with pytest.raises(Conflict, match="nur im Status „Entwurf“"):
        send_quote(w.uow(), quote.id, expected_version=quote.version)
    with pytest.raises(ValidationFailed) as no_reason:
        decline_quote(w.uow(), quote.id, reason="  ", expected_version=quote.version)
    assert no_reason.value.fields == {"decline_reason": "Bitte den Grund der Ablehnung angeben."}

    quote = mark_primary(w.uow(), quote.id, expected_version=quote.version)
    declined = decline_quote(w.uow(), quote.id, reason="Budget gestrichen", expected_version=quote.version)
    assert (declined.status, declined.decline_reason, declined.is_primary) == ("abgelehnt", "Budget gestrichen", False)
    with pytest.raises(Conflict, match="nicht versendet"):
        accept_quote(w.uow(), quote.id, expected_version=declined.version)
    with pytest.raises(Conflict, match="abgelehnt"):
        mark_primary(w.uow(), quote.id, expected_version=declined.version)
    with pytest.raises(Conflict):
        decline_quote(w.uow(), quote.id, reason="nochmal", expected_version=declined.version)

    revised = copy_quote(w.uow(), quote.id)
    assert (revised.number, revised.status, revised.is_primary) == ("AN-2026-00003", "entwurf", False)
    assert [(l.description, l.net_amount) for l in revised.lines] == [
        (l.description, l.net_amount) for l in quote.lines
    ]
    assert revised.net_total == quote.net_total
    assert ("declined", "status", "abgelehnt", "Budget gestrichen") in trail(w, "quote", quote.id)
    assert ("sent", "status", "versendet", None) in trail(w, "quote", quote.id)
    assert [n for n, i in events(w, "crm.quote.") if i == str(quote.id)] == [
        "crm.quote.created",
        "crm.quote.updated",
        "crm.quote.updated",
        "crm.quote.sent",
        "crm.quote.updated",
        "crm.quote.declined",
    ], "created, two lines, sent, marked primary, declined"
    assert ("crm.quote.deleted", str(empty.id)) in events(w, "crm.quote.")


# Orders -----------------------------------------------------------------------------------------------


def test_accepting_places_the_order_and_wins_the_deal(world: World) -> None:
    w = world
    assert get_win_on_order(w.uow(w.viewer)) is True, "default"
    quote = sent_quote(w)
    rival = sent_quote(w)
    w.clock.advance(days=2)
    order = accept_quote(w.uow(), quote.id, expected_version=quote.version)
    assert (order.number, order.status, order.order_date, order.quote_number) == (
        "AU-2026-00001",
        "aufgegeben",
        dt.date(2026, 11, 27),
        "AN-2026-00001",
    )
    assert (order.net_total, order.vat_total, order.gross_total) == (D("24634.00"), D("4574.38"), D("29208.38"))
    assert [(l.position, l.description.split("\n")[0], l.quantity, l.net_amount) for l in order.lines] == [
        (1, "Fräsmaschine FM 500", D("2.000"), D("23750.00")),
        (2, "Schulung vor Ort", D("8.000"), D("884.00")),
    ]
    accepted = get_quote(w.uow(), quote.id)
    assert (accepted.status, accepted.is_primary, accepted.decided_at) == ("angenommen", True, w.clock())
    opp = get_opportunity(w.uow(), w.opportunity_id)
    assert (opp.status, opp.stage_name, opp.amount, opp.closed_date) == (
        "won",
        "Gewonnen",
        D("24634.00"),
        dt.date(2026, 11, 27),
    )
    assert stage_history(w.uow(), w.opportunity_id)["kind"].tolist()[-2:] == ["revised", "won"]
    assert ("crm.order.placed", str(order.id)) in events(w, "crm.order.")
    assert ("crm.quote.accepted", str(quote.id)) in events(w, "crm.quote.")
    assert "crm.opportunity.won" in [n for n, _ in events(w, "crm.opportunity.")]
    assert ("placed", "number", "AU-2026-00001", "Angebot AN-2026-00001 angenommen") in trail(
        w, "sales_order", order.id
    )

    with pytest.raises(Conflict, match="schon den Auftrag AU-2026-00001"):
        accept_quote(w.uow(), rival.id, expected_version=rival.version)
    with pytest.raises(ValidationFailed):
        cancel_order(w.uow(), order.id, reason="", expected_version=order.version)
    cancelled = cancel_order(w.uow(), order.id, reason="Kunde insolvent", expected_version=order.version)
    assert (cancelled.status, cancelled.cancel_reason, cancelled.cancelled_at) == (
        "storniert",
        "Kunde insolvent",
        w.clock(),
    )
    with pytest.raises(Conflict, match="bereits storniert"):
        cancel_order(w.uow(), order.id, reason="nochmal", expected_version=cancelled.version)
    assert get_opportunity(w.uow(), w.opportunity_id).status == "won", "cancelling leaves the deal as it is"

    second = accept_quote(w.uow(), rival.id, expected_version=rival.version)
    assert second.number == "AU-2026-00002", "after a cancellation another quote may be accepted"
    assert [q.is_primary for q in list_quotes(w.uow(), w.opportunity_id)] == [False, True]
    page = list_orders(w.uow(w.viewer), ListQuery(filters={"opportunity_id": w.opportunity_id}, sort="number"))
    assert page.rows[["number", "status", "quote_number"]].values.tolist() == [
        ["AU-2026-00001", "storniert", "AN-2026-00001"],
        ["AU-2026-00002", "aufgegeben", "AN-2026-00002"],
    ]
    assert get_order(w.uow(w.viewer), order.id).cancel_reason == "Kunde insolvent"
    assert events(w, "crm.order.") == [
        ("crm.order.placed", str(order.id)),
        ("crm.order.cancelled", str(order.id)),
        ("crm.order.placed", str(second.id)),
    ]


def test_with_win_on_order_off_the_deal_stays_open(world: World) -> None:
    w = world
    with pytest.raises(PermissionDenied):
        set_win_on_order(w.uow(w.manager), False)
    assert set_win_on_order(w.uow(w.admin), False) is False
    assert ("updated", "value", "nein", None) in trail(w, "app_setting", "sales.win_on_order")
    quote = sent_quote(w)
    accept_quote(w.uow(), quote.id, expected_version=quote.version)
    opp = get_opportunity(w.uow(), w.opportunity_id)
    assert (opp.status, opp.stage_name, opp.amount) == ("open", "Qualifizierung", D("24634.00"))


def test_an_order_on_a_lost_deal_wins_it_and_lost_deals_get_no_new_quotes(world: World) -> None:
    w = world
    quote = sent_quote(w)
    reason = next(r.id for r in list_reasons(w.uow(), "lost") if not r.needs_text)
    opp = get_opportunity(w.uow(), w.opportunity_id)
    lose_opportunity(w.uow(), w.opportunity_id, expected_version=opp.version, reason_id=reason)
    with pytest.raises(Conflict, match="verloren"):
        create_quote(w.uow(), opportunity_id=w.opportunity_id)
    accept_quote(w.uow(), quote.id, expected_version=quote.version)
    opp = get_opportunity(w.uow(), w.opportunity_id)
    assert (opp.status, opp.lost_reason_id) == ("won", None)


# Permissions and atomicity ------------------------------------------------------------------------


def test_sales_reps_only_work_on_quotes_of_their_own_deals(world: World) -> None:
    w = world
    quote = quote_with_lines(w)
    for actor in (w.other_rep, w.viewer):
        with pytest.raises(PermissionDenied):
            create_quote(w.uow(actor), opportunity_id=w.opportunity_id)
        with pytest.raises(PermissionDenied):
            add_line(w.uow(actor), quote.id, {"product_id": w.service_id}, expected_version=quote.version)
        with pytest.raises(PermissionDenied):
            send_quote(w.uow(actor), quote.id, expected_version=quote.version)
        with pytest.raises(PermissionDenied):
            mark_primary(w.uow(actor), quote.id, expected_version=quote.version)
        with pytest.raises(PermissionDenied):
            delete_quote(w.uow(actor), quote.id, expected_version=quote.version)
        assert get_quote(w.uow(actor), quote.id).number == quote.number, "reading is allowed"
    quote = add_line(w.uow(w.manager), quote.id, {"product_id": w.service_id}, expected_version=quote.version)
    quote = send_quote(w.uow(w.manager), quote.id, expected_version=quote.version)
    with pytest.raises(PermissionDenied):
        accept_quote(w.uow(w.other_rep), quote.id, expected_version=quote.version)
    order = accept_quote(w.uow(), quote.id, expected_version=quote.version)
    with pytest.raises(PermissionDenied):
        cancel_order(w.uow(w.viewer), order.id, reason="falsch", expected_version=order.version)
    assert get_order(w.uow(w.viewer), order.id).number == order.number


def test_nothing_is_half_written_when_a_step_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w = world
    quote = sent_quote(w)
    before_events = len(events(w, "crm."))

    def broken_win(*_args: object, **_kwargs: object) -> None:
        raise Conflict("Phase kann nicht gewechselt werden")

    monkeypatch.setattr(orders_module, "_win", broken_win)
    with pytest.raises(Conflict, match="Phase kann nicht"):
        accept_quote(w.uow(), quote.id, expected_version=quote.version)
    assert count(w, SalesOrder) == 0
    assert get_quote(w.uow(), quote.id).status == "versendet"
    assert get_opportunity(w.uow(), w.opportunity_id).amount == D("48000.00")
    assert len(events(w, "crm.")) == before_events

    draft = create_quote(w.uow(), opportunity_id=w.opportunity_id)
    lines_before = count(w, QuoteLine)
    with pytest.raises(ValidationFailed):
        add_line(w.uow(), draft.id, {"product_id": w.service_id, "vat_rate": "16"}, expected_version=draft.version)
    assert count(w, QuoteLine) == lines_before and get_quote(w.uow(), draft.id).version == draft.version


# The quote letter --------------------------------------------------------------------------------------


def test_quote_document_and_letterhead(world: World) -> None:
    w = world
    quote = quote_with_lines(w)
    assert company_letterhead(w.uow(w.viewer)) == DEMO_LETTERHEAD
    with pytest.raises(PermissionDenied):
        set_company_letterhead(w.uow(w.manager), {"name": "Andere GmbH"})
    with pytest.raises(ValidationFailed) as short:
        set_company_letterhead(w.uow(w.admin), {"iban": "DE12", "email": "kein-at-zeichen"})
    assert short.value.fields["email"] == "keine gültige E-Mail-Adresse" and "iban" in short.value.fields
    company = set_company_letterhead(w.uow(w.admin), {"name": "Beispiel Werkzeugbau GmbH", "vat_id": "DE987654321"})
    assert (company.name, company.vat_id, company.iban) == (
        "Beispiel Werkzeugbau GmbH",
        "DE987654321",
        DEMO_LETTERHEAD.iban,
    )
    assert company_letterhead(w.uow(w.rep)) == company
    assert ("updated", "name", "Beispiel Werkzeugbau GmbH", None) in trail(w, "app_setting", "sales.letterhead")

    document = quote_document(w.uow(w.viewer), quote.id)
    assert (document.number, document.recipient_name, document.recipient_contact, document.street) == (
        "AN-2026-00001",
        "Müller Maschinenbau",
        "Herr Dr. Jürgen Weiß",
        "Hohe Straße 12",
    )
    assert (document.postcode, document.city, document.salutation) == ("50667", "Köln", "Sehr geehrter Herr Dr. Weiß,")
    assert document.seller_email == "erika.vertrieb@example.de"
    assert [t.rate for t in document.taxes] == [D("19.00"), D("7.00")]
    assert (document.net, document.gross) == (D("24634.00"), D("29208.38"))
    letter = pdf_text(quote_pdf(document, company=company))
    for expected in (
        "Beispiel Werkzeugbau GmbH",
        "Sehr geehrter Herr Dr. Weiß,",
        "Hohe Straße 12",
        "29.208,38 €",
        "Seite 1 von 1",
    ):
        assert expected in letter, expected
