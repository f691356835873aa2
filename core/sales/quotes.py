"""Quotes (Angebote) of a deal: header, line items, totals, primary quote, status Entwurf → Versendet →
Angenommen | Abgelehnt, and the data of the quote letter (PDF).

- Only drafts are edited or deleted; a sent quote is a document the customer holds (copy it instead).
- Totals are computed by `core.sales.pricing` and stored on the quote on every line or discount change.
- One primary quote per deal; the deal's amount follows its primary quote's net total through
  `core.sales.opportunities.set_amount` in the same transaction (audited, evented, a `revised` history row).
- Line changes are audited on the quote (fields `pos<n>.<field>`) and emitted as `crm.quote.updated`.
- Accepting a quote places the order: `core.sales.orders.accept_quote`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator, model_validator
from sqlalchemy import func, select, text
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.attributes import flag_modified

from core import audit
from core.app_settings import store_setting
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import change_payload
from core.records import create_record, delete_record, update_record, values_of
from core.sales.opportunities import load_opportunity, local_today, set_amount
from core.sales.pricing import (
    PricedLine,
    QuoteTotals,
    line_net,
    money_input,
    percent_input,
    quantity_input,
    quote_totals,
    vat_rate,
)
from core.sales.products import load_product
from core.uow import UnitOfWork
from core.validation import InputModel, check_email, check_phone, field_error, parse
from db.models import Account, AppSetting, Contact, Opportunity, OpportunityContact, Quote, QuoteLine, User
from exports.pdf.quote import CompanyLetterhead, QuoteDocument, QuoteDocumentLine, TaxLine

ENTITY = "quote"
STATUS_LABELS = {"entwurf": "Entwurf", "versendet": "Versendet", "angenommen": "Angenommen", "abgelehnt": "Abgelehnt"}
VALIDITY_DAYS = 30
DEFAULT_INTRODUCTION = (
    "vielen Dank für Ihre Anfrage und das freundliche Gespräch. Gerne unterbreiten wir Ihnen das folgende Angebot:"
)
DEFAULT_TERMS = (
    "Alle Preise verstehen sich netto zuzüglich der gesetzlichen Umsatzsteuer. Zahlbar innerhalb von 14 Tagen "
    "nach Rechnungsstellung ohne Abzug. Es gelten unsere Allgemeinen Geschäftsbedingungen."
)
HEADER_FIELDS = ("contact_id", "quote_date", "valid_until", "discount_percent", "introduction", "terms")
RECORD_FIELDS = (
    "number",
    "opportunity_id",
    "account_id",
    "status",
    "is_primary",
    "currency",
    *HEADER_FIELDS,
    "net_total",
    "vat_total",
    "gross_total",
)
TOTAL_FIELDS = ("net_total", "vat_total", "gross_total")
LINE_FIELDS = ("product_id", "description", "quantity", "unit", "unit_price", "discount_percent", "vat_rate")


class QuoteInput(InputModel):
    contact_id: int | None = None
    quote_date: dt.date
    valid_until: dt.date
    discount_percent: Decimal = Decimal(0)
    introduction: str | None = Field(default=None, max_length=5000)
    terms: str | None = Field(default=None, max_length=5000)

    _discount = field_validator("discount_percent", mode="before")(percent_input)

    @model_validator(mode="after")
    def _valid_after_date(self) -> QuoteInput:
        if self.valid_until < self.quote_date:
            raise field_error("valid_until", "darf nicht vor dem Angebotsdatum liegen")
        return self


class LineInput(InputModel):
    product_id: int | None = None
    description: str = Field(min_length=1, max_length=500)
    quantity: Decimal = Decimal(1)
    unit: str = Field(default="Stück", min_length=1, max_length=20)
    unit_price: Decimal = Field(ge=0)
    discount_percent: Decimal = Decimal(0)
    vat_rate: Decimal = Decimal(19)

    _quantity = field_validator("quantity", mode="before")(quantity_input)
    _price = field_validator("unit_price", mode="before")(money_input)
    _discount = field_validator("discount_percent", mode="before")(percent_input)

    @field_validator("vat_rate", mode="before")
    @classmethod
    def _vat(cls, value: Any) -> Decimal:
        return vat_rate(value)


@dataclass(frozen=True)
class QuoteLineView:
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    vat_rate: Decimal
    net_amount: Decimal

    def priced(self) -> PricedLine:
        return PricedLine(self.quantity, self.unit_price, self.vat_rate, self.discount_percent)


@dataclass(frozen=True)
class QuoteView:
    id: int
    number: str
    opportunity_id: int
    opportunity_name: str
    owner_id: int | None
    account_id: int
    account_name: str
    contact_id: int | None
    contact_name: str | None
    status: str
    is_primary: bool
    quote_date: dt.date
    valid_until: dt.date
    currency: str
    discount_percent: Decimal
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    introduction: str | None
    terms: str | None
    sent_at: dt.datetime | None
    decided_at: dt.datetime | None
    decline_reason: str | None
    lines: tuple[QuoteLineView, ...]
    totals: QuoteTotals
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_draft(self) -> bool:
        return self.status == "entwurf"

    def form_values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in HEADER_FIELDS}


def _line_view(line: QuoteLine) -> QuoteLineView:
    return QuoteLineView(
        id=line.id,
        position=line.position,
        product_id=line.product_id,
        description=line.description,
        quantity=Decimal(line.quantity),
        unit=line.unit,
        unit_price=Decimal(line.unit_price),
        discount_percent=Decimal(line.discount_percent),
        vat_rate=Decimal(line.vat_rate),
        net_amount=Decimal(line.net_amount),
    )


def _lines(uow: UnitOfWork, quote_id: int) -> list[QuoteLine]:
    return list(
        uow.session.scalars(select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.position))
    )


def _contact_name(contact: Contact) -> str:
    return " ".join(p for p in (contact.title, contact.first_name, contact.last_name) if p)


def _view(uow: UnitOfWork, quote: Quote, opp: Opportunity | None = None) -> QuoteView:
    session = uow.session
    opp = opp or load_opportunity(uow, quote.opportunity_id)
    lines = tuple(_line_view(line) for line in _lines(uow, quote.id))
    contact = session.get(Contact, quote.contact_id) if quote.contact_id else None
    return QuoteView(
        **{f: getattr(quote, f) for f in RECORD_FIELDS if f != "discount_percent"},
        discount_percent=Decimal(quote.discount_percent),
        id=quote.id,
        opportunity_name=opp.name,
        owner_id=opp.owner_id,
        account_name=session.scalar(select(Account.name).where(Account.id == quote.account_id)) or "",
        contact_name=_contact_name(contact) if contact else None,
        sent_at=quote.sent_at,
        decided_at=quote.decided_at,
        decline_reason=quote.decline_reason,
        lines=lines,
        totals=quote_totals([line.priced() for line in lines], Decimal(quote.discount_percent)),
        version=quote.version,
        created_at=quote.created_at,
        updated_at=quote.updated_at,
    )


# Loading, permission and state checks (inside an open unit of work) ------------------------------


def load_quote(uow: UnitOfWork, quote_id: int) -> Quote:
    quote = uow.session.get(Quote, quote_id)
    if quote is None:
        raise NotFound(f"Angebot {quote_id} gibt es nicht.")
    return quote


def authorize_quote(uow: UnitOfWork, quote: Quote) -> Opportunity:
    """Changing a quote is changing its deal: `opportunities.write`, sales reps only for their own deals."""
    opp = load_opportunity(uow, quote.opportunity_id)
    uow.authorize("opportunities.write", owner_id=opp.owner_id, check_owner=True)
    return opp


def _require_status(quote: Quote, allowed: str, action: str) -> None:
    if quote.status != allowed:
        raise Conflict(
            f"Angebot {quote.number} ist „{STATUS_LABELS[quote.status]}“ und kann nicht {action} werden "
            f"(nur im Status „{STATUS_LABELS[allowed]}“)."
        )


def _require_draft(quote: Quote) -> None:
    if quote.status != "entwurf":
        raise Conflict(
            f"Angebot {quote.number} ist „{STATUS_LABELS[quote.status]}“ und kann nicht mehr geändert werden. "
            "Nur Entwürfe sind änderbar; legen Sie bei Bedarf eine Kopie als neuen Entwurf an."
        )


def next_number(uow: UnitOfWork, column: InstrumentedAttribute[str], prefix: str) -> str:
    """The next document number "<prefix>-<year>-<at least 5 digits>" (per calendar year in Europe/Berlin).

    Numbers are never reused, not even those of deleted drafts: the last one handed out is kept in
    `app_settings` ("sales.number.AN-2026"), locked for the transaction (plus an advisory lock on
    PostgreSQL for the year's first number); rows written without it (imports) are respected too.
    """
    stem = f"{prefix}-{local_today(uow.now).year}-"
    key = f"sales.number.{stem.removesuffix('-')}"
    session = uow.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": key})
    counter = session.get(AppSetting, key, with_for_update=True)
    # Longest first, then highest: "AN-2026-100000" comes after "AN-2026-99999".
    highest = session.scalar(
        select(column).where(column.like(f"{stem}%")).order_by(func.length(column).desc(), column.desc()).limit(1)
    )
    sequence = 1 + max(int(counter.value) if counter else 0, int(highest.removeprefix(stem)) if highest else 0)
    if counter is None:
        session.add(
            AppSetting(
                key=key,
                value=sequence,
                description=f"Zuletzt vergebene Nummer {stem}…",
                version=1,
                created_at=uow.now,
                updated_at=uow.now,
            )
        )
    else:
        counter.value, counter.updated_at = sequence, uow.now
    session.flush()
    return f"{stem}{sequence:05d}"


def _primary_contact_id(uow: UnitOfWork, opportunity_id: int) -> int | None:
    return uow.session.scalar(
        select(OpportunityContact.contact_id).where(
            OpportunityContact.opportunity_id == opportunity_id, OpportunityContact.is_primary.is_(True)
        )
    )


def _check_contact(uow: UnitOfWork, contact_id: int | None) -> None:
    if contact_id is not None and uow.session.get(Contact, contact_id) is None:
        raise ValidationFailed({"contact_id": f"Kontakt {contact_id} gibt es nicht"})


def _sync_amount(uow: UnitOfWork, quote: Quote, opp: Opportunity) -> None:
    """The deal's amount follows its primary quote's net total (no-op when already equal)."""
    set_amount(uow, opp, Decimal(quote.net_total), quote.currency, reason=f"Hauptangebot {quote.number}")


def _recompute(uow: UnitOfWork, quote: Quote) -> list[audit.FieldChange]:
    """Store the totals of the quote's current lines and discount; returns what changed."""
    lines = [_line_view(line).priced() for line in _lines(uow, quote.id)]
    totals = quote_totals(lines, Decimal(quote.discount_percent))
    return audit.apply_changes(
        quote, {"net_total": totals.net, "vat_total": totals.vat_total, "gross_total": totals.gross}
    )


def _touch(uow: UnitOfWork, quote: Quote) -> None:
    """Write the quote row even when only its lines changed, so its version (the lock for lines) moves on."""
    quote.updated_at = uow.now
    flag_modified(quote, "updated_at")
    uow.session.flush()


# Reading ---------------------------------------------------------------------------------------


def get_quote(uow: UnitOfWork, quote_id: int) -> QuoteView:
    with uow:
        uow.authorize("opportunities.read")
        return _view(uow, load_quote(uow, quote_id))


def list_quotes(uow: UnitOfWork, opportunity_id: int) -> list[QuoteView]:
    """The deal's quotes with their lines, oldest first."""
    with uow:
        uow.authorize("opportunities.read")
        opp = load_opportunity(uow, opportunity_id)
        quotes = uow.session.scalars(select(Quote).where(Quote.opportunity_id == opp.id).order_by(Quote.id))
        return [_view(uow, quote, opp) for quote in quotes]


def primary_quote(uow: UnitOfWork, opportunity_id: int) -> QuoteView | None:
    with uow:
        uow.authorize("opportunities.read")
        quote = uow.session.scalar(
            select(Quote).where(Quote.opportunity_id == opportunity_id, Quote.is_primary.is_(True))
        )
        return _view(uow, quote) if quote is not None else None


# Header ----------------------------------------------------------------------------------------


def _new_quote(uow: UnitOfWork, opp: Opportunity, values: Mapping[str, Any], *, reason: str | None) -> Quote:
    """Inside an open unit of work: a draft for `opp` with the defaults below, audited and evented."""
    if opp.status == "lost":
        raise Conflict(f"„{opp.name}“ ist verloren. Bitte die Verkaufschance zuerst wiedereröffnen.")
    quote_date = values.get("quote_date") or local_today(uow.now)
    defaults: dict[str, Any] = {
        "quote_date": quote_date,
        "contact_id": _primary_contact_id(uow, opp.id),
        "introduction": DEFAULT_INTRODUCTION,
        "terms": DEFAULT_TERMS,
    }
    if isinstance(quote_date, dt.date):
        defaults["valid_until"] = quote_date + dt.timedelta(days=VALIDITY_DAYS)
    data = parse(QuoteInput, defaults | {k: v for k, v in values.items() if v not in (None, "")})
    _check_contact(uow, data.contact_id)
    quote = Quote(
        **data.model_dump(),
        number=next_number(uow, Quote.number, "AN"),
        opportunity_id=opp.id,
        account_id=opp.account_id,
        currency=opp.currency,
        status="entwurf",
        is_primary=False,
        net_total=Decimal("0.00"),
        vat_total=Decimal("0.00"),
        gross_total=Decimal("0.00"),
        version=1,
    )
    return create_record(uow, quote, entity=ENTITY, fields=RECORD_FIELDS, reason=reason)


def create_quote(
    uow: UnitOfWork, *, opportunity_id: int, values: Mapping[str, Any] | None = None, reason: str | None = None
) -> QuoteView:
    """A new draft for the deal: number AN-<year>-<seq>, dated today, valid 30 days, addressed to the
    deal's primary contact, in the deal's currency (date, validity, contact, discount and texts can be
    given in `values`)."""
    with uow:
        opp = load_opportunity(uow, opportunity_id)
        uow.authorize("opportunities.write", owner_id=opp.owner_id, check_owner=True)
        quote = _new_quote(uow, opp, values or {}, reason=reason)
        view = _view(uow, quote, opp)
        uow.commit()
        return view


def update_quote(
    uow: UnitOfWork,
    quote_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str | None = None,
) -> QuoteView:
    """Change a draft's header: contact, dates, quote discount, introduction, terms (totals follow)."""
    with uow:
        quote = load_quote(uow, quote_id)
        opp = authorize_quote(uow, quote)
        _require_draft(quote)
        uow.check_version(quote.version, expected_version)
        current = {f: getattr(quote, f) for f in HEADER_FIELDS}
        data = parse(QuoteInput, current | {k: v for k, v in values.items() if k in HEADER_FIELDS})
        _check_contact(uow, data.contact_id)
        fields = (*HEADER_FIELDS, *TOTAL_FIELDS)
        before = values_of(quote, fields)
        changes = audit.apply_changes(quote, data.model_dump())
        if changes:
            changes += _recompute(uow, quote)
            quote.updated_at = uow.now
            uow.session.flush()
            uow.audit(entity=ENTITY, entity_id=quote.id, action="updated", changes=changes, reason=reason)
            uow.emit(
                "crm.quote.updated",
                entity=ENTITY,
                entity_id=quote.id,
                payload=change_payload(before, values_of(quote, fields)) | {"version": quote.version},
            )
            if quote.is_primary:
                _sync_amount(uow, quote, opp)
        view = _view(uow, quote, opp)
        uow.commit()
        return view


def set_quote_discount(
    uow: UnitOfWork, quote_id: int, discount_percent: Any, *, expected_version: int | None
) -> QuoteView:
    return update_quote(uow, quote_id, {"discount_percent": discount_percent}, expected_version=expected_version)


# Lines -----------------------------------------------------------------------------------------


def _product_defaults(uow: UnitOfWork, product_id: Any) -> dict[str, Any]:
    """Description, unit, price and VAT rate copied from a catalogue product."""
    try:
        product = load_product(uow, int(product_id))
    except (TypeError, ValueError):
        raise ValidationFailed({"product_id": f"Produkt {product_id!r} gibt es nicht"}) from None
    except NotFound as exc:
        raise ValidationFailed({"product_id": exc.message}) from None
    if not product.is_active:
        raise ValidationFailed({"product_id": f"„{product.name}“ wird nicht mehr angeboten"})
    description = f"{product.name}\n{product.description}" if product.description else product.name
    return {
        "product_id": product.id,
        "description": description[:500],
        "unit": product.unit,
        "unit_price": product.unit_price,
        "vat_rate": product.vat_rate,
    }


def _given(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in LINE_FIELDS and v not in (None, "")}


def _line_changes(
    position: int, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[audit.FieldChange]:
    """Audit entries of one line on its quote: field `pos<n>.<name>`."""
    changes = []
    for name in LINE_FIELDS:
        old = before.get(name) if before else None
        new = after.get(name) if after else None
        if old != new:
            changes.append(audit.FieldChange(f"pos{position}.{name}", old, new))
    return changes


def _lines_changed(
    uow: UnitOfWork,
    quote: Quote,
    opp: Opportunity,
    *,
    action: str,
    position: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> QuoteView:
    """After a line was added, changed or removed: totals, version, audit, event, deal amount."""
    totals_before = values_of(quote, TOTAL_FIELDS)
    changes = _line_changes(position, before, after)
    if not changes:
        return _view(uow, quote, opp)
    changes += _recompute(uow, quote)
    _touch(uow, quote)
    uow.audit(entity=ENTITY, entity_id=quote.id, action=action, changes=changes)
    uow.emit(
        "crm.quote.updated",
        entity=ENTITY,
        entity_id=quote.id,
        payload=change_payload(totals_before, values_of(quote, TOTAL_FIELDS))
        | {"action": action, "position": position, "line": change_payload(before, after), "version": quote.version},
    )
    if quote.is_primary:
        _sync_amount(uow, quote, opp)
    return _view(uow, quote, opp)


def add_line(uow: UnitOfWork, quote_id: int, values: Mapping[str, Any], *, expected_version: int | None) -> QuoteView:
    """Append a line: from a product (`product_id`: description, unit, price and VAT rate copied, each
    overridable) or a free line (description, unit price, VAT rate given)."""
    with uow:
        quote = load_quote(uow, quote_id)
        opp = authorize_quote(uow, quote)
        _require_draft(quote)
        uow.check_version(quote.version, expected_version)
        given = _given(values)
        base = _product_defaults(uow, given["product_id"]) if given.get("product_id") is not None else {}
        data = parse(LineInput, base | given)
        position = 1 + (
            uow.session.scalar(select(func.max(QuoteLine.position)).where(QuoteLine.quote_id == quote.id)) or 0
        )
        line = QuoteLine(
            quote_id=quote.id,
            position=position,
            **data.model_dump(),
            net_amount=line_net(data.quantity, data.unit_price, data.discount_percent),
        )
        uow.session.add(line)
        uow.session.flush()
        view = _lines_changed(
            uow, quote, opp, action="line_added", position=position, before=None, after=values_of(line, LINE_FIELDS)
        )
        uow.commit()
        return view


def _load_line(uow: UnitOfWork, line_id: int) -> QuoteLine:
    line = uow.session.get(QuoteLine, line_id)
    if line is None:
        raise NotFound(f"Angebotsposition {line_id} gibt es nicht.")
    return line


def update_line(uow: UnitOfWork, line_id: int, values: Mapping[str, Any], *, expected_version: int | None) -> QuoteView:
    """Change a line of a draft (`expected_version` is the quote's). A new `product_id` copies that product."""
    with uow:
        line = _load_line(uow, line_id)
        quote = load_quote(uow, line.quote_id)
        opp = authorize_quote(uow, quote)
        _require_draft(quote)
        uow.check_version(quote.version, expected_version)
        before = values_of(line, LINE_FIELDS)
        given = _given(values)
        new_product = given.get("product_id")
        base = _product_defaults(uow, new_product) if new_product not in (None, line.product_id) else {}
        data = parse(LineInput, before | base | given)
        audit.apply_changes(
            line, data.model_dump() | {"net_amount": line_net(data.quantity, data.unit_price, data.discount_percent)}
        )
        uow.session.flush()
        view = _lines_changed(
            uow,
            quote,
            opp,
            action="line_updated",
            position=line.position,
            before=before,
            after=values_of(line, LINE_FIELDS),
        )
        uow.commit()
        return view


def remove_line(uow: UnitOfWork, line_id: int, *, expected_version: int | None) -> QuoteView:
    """Remove a line of a draft; the lines below move up one position."""
    with uow:
        line = _load_line(uow, line_id)
        quote = load_quote(uow, line.quote_id)
        opp = authorize_quote(uow, quote)
        _require_draft(quote)
        uow.check_version(quote.version, expected_version)
        before, position = values_of(line, LINE_FIELDS), line.position
        uow.session.delete(line)
        uow.session.flush()
        for number, rest in enumerate(_lines(uow, quote.id), start=1):
            rest.position = number
        uow.session.flush()
        view = _lines_changed(uow, quote, opp, action="line_removed", position=position, before=before, after=None)
        uow.commit()
        return view


# Primary quote and status ----------------------------------------------------------------------


def make_primary(uow: UnitOfWork, quote: Quote, opp: Opportunity, *, expected_version: int | None = None) -> None:
    """Inside an open unit of work: `quote` becomes the deal's only primary quote and drives its amount."""
    others = uow.session.scalars(
        select(Quote).where(Quote.opportunity_id == opp.id, Quote.is_primary.is_(True), Quote.id != quote.id)
    ).all()
    reason = f"{quote.number} ist jetzt das Hauptangebot"
    for other in others:
        update_record(uow, other, {"is_primary": False}, entity=ENTITY, expected_version=None, reason=reason)
    update_record(uow, quote, {"is_primary": True}, entity=ENTITY, expected_version=expected_version)
    _sync_amount(uow, quote, opp)


def mark_primary(uow: UnitOfWork, quote_id: int, *, expected_version: int | None) -> QuoteView:
    """Make this the deal's primary quote (the previous one loses the mark); the deal amount follows its net."""
    with uow:
        quote = load_quote(uow, quote_id)
        opp = authorize_quote(uow, quote)
        if quote.status == "abgelehnt":
            raise Conflict(f"Angebot {quote.number} wurde abgelehnt und kann nicht Hauptangebot werden.")
        make_primary(uow, quote, opp, expected_version=expected_version)
        view = _view(uow, quote, opp)
        uow.commit()
        return view


def set_status(
    uow: UnitOfWork, quote: Quote, values: Mapping[str, Any], *, action: str, reason: str | None = None
) -> None:
    """Inside an open unit of work: a status step, audited with `action` and emitted as `crm.quote.<action>`."""
    before = values_of(quote, tuple(values))
    changes = audit.apply_changes(quote, values)
    quote.updated_at = uow.now
    uow.session.flush()
    uow.audit(entity=ENTITY, entity_id=quote.id, action=action, changes=changes, reason=reason)
    uow.emit(
        f"crm.quote.{action}",
        entity=ENTITY,
        entity_id=quote.id,
        payload=change_payload(before, values_of(quote, tuple(values)))
        | {"number": quote.number, "opportunity_id": quote.opportunity_id, "version": quote.version},
    )


def send_quote(uow: UnitOfWork, quote_id: int, *, expected_version: int | None) -> QuoteView:
    """Entwurf → Versendet (the content is frozen from now on)."""
    with uow:
        quote = load_quote(uow, quote_id)
        opp = authorize_quote(uow, quote)
        _require_status(quote, "entwurf", "versendet")
        uow.check_version(quote.version, expected_version)
        if not _lines(uow, quote.id):
            raise Conflict(f"Angebot {quote.number} hat keine Positionen und kann nicht versendet werden.")
        set_status(uow, quote, {"status": "versendet", "sent_at": uow.now}, action="sent")
        view = _view(uow, quote, opp)
        uow.commit()
        return view


def decline_quote(uow: UnitOfWork, quote_id: int, *, reason: str, expected_version: int | None) -> QuoteView:
    """Versendet → Abgelehnt with the customer's reason. A declined quote stops being the primary quote
    (the deal's amount stays until another quote becomes primary)."""
    text_reason = (reason or "").strip()
    if not text_reason:
        raise ValidationFailed({"decline_reason": "Bitte den Grund der Ablehnung angeben."})
    if len(text_reason) > 500:
        raise ValidationFailed({"decline_reason": "höchstens 500 Zeichen"})
    with uow:
        quote = load_quote(uow, quote_id)
        opp = authorize_quote(uow, quote)
        _require_status(quote, "versendet", "abgelehnt")
        uow.check_version(quote.version, expected_version)
        values = {"status": "abgelehnt", "decided_at": uow.now, "decline_reason": text_reason, "is_primary": False}
        set_status(uow, quote, values, action="declined", reason=text_reason)
        view = _view(uow, quote, opp)
        uow.commit()
        return view


def copy_quote(uow: UnitOfWork, quote_id: int) -> QuoteView:
    """A new draft with the same lines, discount, contact and texts (to revise a sent or declined quote)."""
    with uow:
        source = load_quote(uow, quote_id)
        opp = authorize_quote(uow, source)
        values = {f: getattr(source, f) for f in ("contact_id", "discount_percent", "introduction", "terms")}
        note = f"Kopie von {source.number}"
        quote = _new_quote(uow, opp, values, reason=note)
        for line in _lines(uow, source.id):
            uow.session.add(
                QuoteLine(
                    quote_id=quote.id,
                    position=line.position,
                    **values_of(line, LINE_FIELDS),
                    net_amount=line.net_amount,
                )
            )
        uow.session.flush()
        changes = _recompute(uow, quote)
        _touch(uow, quote)
        uow.audit(entity=ENTITY, entity_id=quote.id, action="lines_copied", changes=changes, reason=note)
        view = _view(uow, quote, opp)
        uow.commit()
        return view


def delete_quote(uow: UnitOfWork, quote_id: int, *, expected_version: int | None, reason: str | None = None) -> None:
    """Delete a draft (sent quotes are business documents and stay). The deal's amount is left as it is."""
    with uow:
        quote = load_quote(uow, quote_id)
        authorize_quote(uow, quote)
        if quote.status != "entwurf":
            raise Conflict(
                f"Angebot {quote.number} ist „{STATUS_LABELS[quote.status]}“ und kann nicht gelöscht werden; "
                "nur Entwürfe lassen sich löschen."
            )
        delete_record(uow, quote, entity=ENTITY, fields=RECORD_FIELDS, expected_version=expected_version, reason=reason)
        uow.commit()


# The quote letter ------------------------------------------------------------------------------

LETTERHEAD_KEY = "sales.letterhead"
# Demo defaults until an admin enters the company's own data (Vertrieb einrichten).
DEMO_LETTERHEAD = CompanyLetterhead(
    name="Musterfirma Vertriebs GmbH",
    street="Hansaring 12",
    postcode="50670",
    city="Köln",
    phone="+49 221 987650",
    email="vertrieb@musterfirma.example",
    website="www.musterfirma.example",
    managing_directors="Dr. Maria Beispiel, Thomas Muster",
    register_court="Amtsgericht Köln, HRB 123456",
    vat_id="DE123456789",
    bank_name="Sparkasse KölnBonn",
    iban="DE12 3705 0198 0001 2345 67",
    bic="COLSDE33XXX",
)


class LetterheadInput(InputModel):
    name: str = Field(min_length=2, max_length=200)
    street: str = Field(min_length=2, max_length=200)
    postcode: str = Field(min_length=4, max_length=10)
    city: str = Field(min_length=2, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    website: str | None = Field(default=None, max_length=200)
    managing_directors: str = Field(min_length=2, max_length=300)
    register_court: str = Field(min_length=2, max_length=200)
    vat_id: str = Field(min_length=4, max_length=20)
    bank_name: str = Field(min_length=2, max_length=100)
    iban: str = Field(min_length=15, max_length=42)
    bic: str | None = Field(default=None, max_length=11)

    _email = field_validator("email")(check_email)
    _phone = field_validator("phone")(check_phone)


def stored_letterhead(uow: UnitOfWork) -> CompanyLetterhead:
    """The company data printed on quotes, inside an open unit of work (demo defaults until set)."""
    setting = uow.session.get(AppSetting, LETTERHEAD_KEY)
    if setting is None:
        return DEMO_LETTERHEAD
    defaults = DEMO_LETTERHEAD.as_dict()
    return CompanyLetterhead(**defaults | {k: v for k, v in dict(setting.value).items() if k in defaults})


def company_letterhead(uow: UnitOfWork) -> CompanyLetterhead:
    with uow:
        uow.authorize("opportunities.read")
        return stored_letterhead(uow)


def set_company_letterhead(uow: UnitOfWork, values: Mapping[str, Any]) -> CompanyLetterhead:
    """Admins set the company data of the quote letter (app setting `sales.letterhead`, audited)."""
    with uow:
        uow.authorize("sales.configure")
        old = stored_letterhead(uow).as_dict()
        data = parse(LetterheadInput, old | dict(values)).model_dump()
        store_setting(uow, LETTERHEAD_KEY, data, description="Briefkopf und Fußzeile der Angebote")
        changes = [audit.FieldChange(k, old.get(k), v) for k, v in data.items() if old.get(k) != v]
        uow.audit(entity="app_setting", entity_id=LETTERHEAD_KEY, action="updated", changes=changes)
        uow.commit()
        return CompanyLetterhead(**data)


def _salutation(contact: Contact | None) -> str:
    if contact is None:
        return "Sehr geehrte Damen und Herren,"
    name = " ".join(p for p in (contact.title, contact.last_name) if p)
    if contact.salutation == "Herr":
        return f"Sehr geehrter Herr {name},"
    if contact.salutation == "Frau":
        return f"Sehr geehrte Frau {name},"
    return f"Guten Tag {_contact_name(contact)},"


def _recipient_contact(contact: Contact | None) -> str | None:
    if contact is None:
        return None
    salutation = contact.salutation if contact.salutation in ("Herr", "Frau") else None
    return " ".join(p for p in (salutation, _contact_name(contact)) if p)


def quote_document(uow: UnitOfWork, quote_id: int) -> QuoteDocument:
    """Everything the quote letter prints: recipient, seller, lines, totals per VAT rate, texts."""
    with uow:
        uow.authorize("opportunities.read")
        quote = load_quote(uow, quote_id)
        view = _view(uow, quote)
        account = uow.session.get(Account, quote.account_id)
        contact = uow.session.get(Contact, quote.contact_id) if quote.contact_id else None
        seller = uow.session.get(User, view.owner_id) if view.owner_id else None
        assert account is not None
        totals = view.totals
        return QuoteDocument(
            number=quote.number,
            status=quote.status,
            quote_date=quote.quote_date,
            valid_until=quote.valid_until,
            currency=quote.currency,
            recipient_name=account.name,
            recipient_contact=_recipient_contact(contact),
            street=account.street,
            postcode=account.postcode,
            city=account.city,
            country=account.country,
            salutation=_salutation(contact),
            seller_name=seller.display_name if seller else None,
            seller_email=seller.email if seller else None,
            introduction=quote.introduction,
            terms=quote.terms,
            lines=tuple(
                QuoteDocumentLine(
                    position=line.position,
                    description=line.description,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    vat_rate=line.vat_rate,
                    net_amount=line.net_amount,
                )
                for line in view.lines
            ),
            lines_net=totals.lines_net,
            discount_percent=totals.discount_percent,
            discount=totals.discount,
            net=totals.net,
            taxes=tuple(TaxLine(rate=r.rate, net=r.net, vat=r.vat) for r in totals.per_rate),
            gross=totals.gross,
        )
