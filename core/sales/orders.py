"""Orders (Aufträge): accepting a sent quote places the order in the same transaction.

- The order copies the quote's lines (as JSON) and totals, so it never changes with the quote.
- The accepted quote becomes the deal's primary quote (the deal's amount is the order's net).
- With the app setting `sales.win_on_order` (default on) placing the order also wins the deal,
  moving it to its pipeline's won stage through `core.sales.opportunities.apply_stage_change`.
- A deal has at most one valid order: accepting another quote while an order stands is a Conflict;
  after a cancellation another quote of the deal may be accepted.
- Orders are commercial documents under retention duty (§ 147 AO, § 257 HGB): cancelled, never deleted.
  Cancelling leaves the deal as it is (reopen it explicitly if the business is lost).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core import audit
from core.app_settings import store_setting
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import change_payload
from core.listing import ListQuery, Page, equality_filters, fetch_page
from core.records import values_of
from core.sales.opportunities import apply_stage_change, local_today
from core.sales.pipelines import load_pipeline
from core.sales.quotes import LINE_FIELDS, authorize_quote, load_quote, make_primary, next_number, set_status
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import Account, AppSetting, Opportunity, Quote, QuoteLine, SalesOrder

ENTITY = "sales_order"
STATUS_LABELS = {"aufgegeben": "Aufgegeben", "storniert": "Storniert"}
WIN_ON_ORDER_KEY = "sales.win_on_order"
RECORD_FIELDS = (
    "number",
    "quote_id",
    "opportunity_id",
    "account_id",
    "contact_id",
    "status",
    "order_date",
    "currency",
    "net_total",
    "vat_total",
    "gross_total",
)


@dataclass(frozen=True)
class OrderLine:
    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    vat_rate: Decimal
    net_amount: Decimal


@dataclass(frozen=True)
class OrderView:
    id: int
    number: str
    quote_id: int
    quote_number: str
    opportunity_id: int
    account_id: int
    account_name: str
    contact_id: int | None
    status: str
    order_date: dt.date
    currency: str
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    lines: tuple[OrderLine, ...]
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    version: int
    created_at: dt.datetime

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def _line_json(line: QuoteLine) -> dict[str, Any]:
    """A quote line as JSON: numbers as exact decimal strings."""
    values = values_of(line, LINE_FIELDS) | {"position": line.position, "net_amount": line.net_amount}
    return {k: format(v, "f") if isinstance(v, Decimal) else v for k, v in values.items()}


def _order_line(data: dict[str, Any]) -> OrderLine:
    decimals = ("quantity", "unit_price", "discount_percent", "vat_rate", "net_amount")
    return OrderLine(**{k: Decimal(data[k]) if k in decimals else data.get(k) for k in OrderLine.__dataclass_fields__})


def _view(uow: UnitOfWork, order: SalesOrder) -> OrderView:
    session = uow.session
    return OrderView(
        **{f: getattr(order, f) for f in RECORD_FIELDS},
        id=order.id,
        quote_number=session.scalar(select(Quote.number).where(Quote.id == order.quote_id)) or "",
        account_name=session.scalar(select(Account.name).where(Account.id == order.account_id)) or "",
        lines=tuple(_order_line(line) for line in order.lines),
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
        version=order.version,
        created_at=order.created_at,
    )


def _load(uow: UnitOfWork, order_id: int) -> SalesOrder:
    order = uow.session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"Auftrag {order_id} gibt es nicht.")
    return order


# The setting "placing an order wins the deal" ------------------------------------------------------


def stored_win_on_order(uow: UnitOfWork) -> bool:
    setting = uow.session.get(AppSetting, WIN_ON_ORDER_KEY)
    return bool(setting.value) if setting is not None else True


def get_win_on_order(uow: UnitOfWork) -> bool:
    with uow:
        uow.authorize("opportunities.read")
        return stored_win_on_order(uow)


class _Flag(InputModel):
    value: bool


def set_win_on_order(uow: UnitOfWork, value: Any) -> bool:
    """Admins decide whether an order placed wins its deal automatically (audited)."""
    flag = parse(_Flag, {"value": value}).value
    with uow:
        uow.authorize("sales.configure")
        old = stored_win_on_order(uow)
        store_setting(
            uow,
            WIN_ON_ORDER_KEY,
            flag,
            description="Ein angenommenes Angebot (Auftrag) setzt die Verkaufschance auf Gewonnen",
        )
        if old != flag:
            uow.audit(
                entity="app_setting",
                entity_id=WIN_ON_ORDER_KEY,
                action="updated",
                changes=[audit.FieldChange("value", old, flag)],
            )
        uow.commit()
        return flag


# Accepting a quote, cancelling an order ------------------------------------------------------------


def _standing_order(uow: UnitOfWork, opportunity_id: int) -> SalesOrder | None:
    return uow.session.scalar(
        select(SalesOrder).where(SalesOrder.opportunity_id == opportunity_id, SalesOrder.status == "aufgegeben")
    )


def _win(uow: UnitOfWork, opp: Opportunity, order: SalesOrder) -> None:
    won = load_pipeline(uow, opp.pipeline_id).closing_stage("won")
    if opp.stage_id != won.id:
        apply_stage_change(uow, opp, won, closed_date=order.order_date, note=f"Auftrag {order.number}")


def accept_quote(uow: UnitOfWork, quote_id: int, *, expected_version: int | None) -> OrderView:
    """Versendet → Angenommen: places the order (AU-<year>-<seq>), makes the quote primary and, with
    `sales.win_on_order`, wins the deal — all in one transaction."""
    with uow:
        quote = load_quote(uow, quote_id)
        opp = authorize_quote(uow, quote)
        if quote.status != "versendet":
            raise Conflict(
                f"Angebot {quote.number} ist nicht versendet und kann nicht angenommen werden "
                "(nur versendete Angebote)."
            )
        uow.check_version(quote.version, expected_version)
        standing = _standing_order(uow, opp.id)
        if standing is not None:
            raise Conflict(
                f"Zu „{opp.name}“ gibt es schon den Auftrag {standing.number}. Eine Verkaufschance hat höchstens "
                "einen gültigen Auftrag; stornieren Sie ihn zuerst, wenn ein anderes Angebot gilt."
            )
        set_status(uow, quote, {"status": "angenommen", "decided_at": uow.now}, action="accepted")
        if not quote.is_primary:
            make_primary(uow, quote, opp)
        lines = uow.session.scalars(
            select(QuoteLine).where(QuoteLine.quote_id == quote.id).order_by(QuoteLine.position)
        )
        order = SalesOrder(
            number=next_number(uow, SalesOrder.number, "AU"),
            quote_id=quote.id,
            opportunity_id=opp.id,
            account_id=quote.account_id,
            contact_id=quote.contact_id,
            status="aufgegeben",
            order_date=local_today(uow.now),
            currency=quote.currency,
            net_total=quote.net_total,
            vat_total=quote.vat_total,
            gross_total=quote.gross_total,
            lines=[_line_json(line) for line in lines],
            version=1,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(order)
        uow.session.flush()
        uow.audit(
            entity=ENTITY,
            entity_id=order.id,
            action="placed",
            changes=audit.snapshot_changes(order, RECORD_FIELDS),
            reason=f"Angebot {quote.number} angenommen",
        )
        uow.emit(
            "crm.order.placed",
            entity=ENTITY,
            entity_id=order.id,
            payload=change_payload(None, values_of(order, RECORD_FIELDS)) | {"quote_number": quote.number},
        )
        if stored_win_on_order(uow):
            _win(uow, opp, order)
        view = _view(uow, order)
        uow.commit()
        return view


def cancel_order(uow: UnitOfWork, order_id: int, *, reason: str, expected_version: int | None) -> OrderView:
    """Aufgegeben → Storniert with a reason; the order itself is kept (retention duty)."""
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed({"cancel_reason": "Bitte den Grund der Stornierung angeben."})
    if len(text) > 500:
        raise ValidationFailed({"cancel_reason": "höchstens 500 Zeichen"})
    with uow:
        order = _load(uow, order_id)
        authorize_quote(uow, load_quote(uow, order.quote_id))
        if order.status != "aufgegeben":
            raise Conflict(f"Auftrag {order.number} ist bereits storniert.")
        uow.check_version(order.version, expected_version)
        fields = ("status", "cancelled_at", "cancel_reason")
        before = values_of(order, fields)
        changes = audit.apply_changes(order, {"status": "storniert", "cancelled_at": uow.now, "cancel_reason": text})
        order.updated_at = uow.now
        uow.session.flush()
        uow.audit(entity=ENTITY, entity_id=order.id, action="cancelled", changes=changes, reason=text)
        uow.emit(
            "crm.order.cancelled",
            entity=ENTITY,
            entity_id=order.id,
            payload=change_payload(before, values_of(order, fields))
            | {"number": order.number, "version": order.version},
        )
        view = _view(uow, order)
        uow.commit()
        return view


# Reading -----------------------------------------------------------------------------------------


def get_order(uow: UnitOfWork, order_id: int) -> OrderView:
    with uow:
        uow.authorize("opportunities.read")
        return _view(uow, _load(uow, order_id))


def list_orders(uow: UnitOfWork, query: ListQuery) -> Page:
    """One page of orders. Filters: opportunity_id, account_id, status; search over order and quote number."""
    with uow:
        uow.authorize("opportunities.read")
        stmt = (
            select(
                SalesOrder.id,
                SalesOrder.number,
                Quote.number.label("quote_number"),
                SalesOrder.order_date,
                Account.name.label("account_name"),
                SalesOrder.status,
                SalesOrder.currency,
                SalesOrder.net_total,
                SalesOrder.gross_total,
                SalesOrder.cancel_reason,
                SalesOrder.opportunity_id,
                SalesOrder.account_id,
                SalesOrder.version,
            )
            .join(Quote, Quote.id == SalesOrder.quote_id)
            .join(Account, Account.id == SalesOrder.account_id)
        )
        conditions = equality_filters(SalesOrder, query.filters, ("opportunity_id", "account_id", "status"))
        if query.search:
            term = f"%{query.search.strip().upper()}%"
            conditions.append(SalesOrder.number.like(term) | Quote.number.like(term))
        sortable = {
            "number": SalesOrder.number,
            "order_date": SalesOrder.order_date,
            "gross_total": SalesOrder.gross_total,
            "id": SalesOrder.id,
        }
        return fetch_page(uow.session, stmt.where(*conditions), query, sortable=sortable, default_sort=SalesOrder.id)
