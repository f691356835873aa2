"""Quotes and orders of an opportunity: the detail page's "Angebote & Aufträge" and "Positionen" sections.

`render_quotes` lists the deal's quotes (newest first, the primary one starred) with their lines and
totals; drafts are edited in place (lines from the catalogue or free, quote discount and texts), and
the status buttons lead through Entwurf → Versendet → Angenommen | Abgelehnt. Accepting places the
order, listed below with its cancellation. `render_line_items` shows the primary quote's lines.
Every rule lives in core.sales.quotes/orders; this module only draws and calls them.

Reads are cached per session and data generation (`queries.data_generation`, bumped by every write).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.exporting import download_button
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from core.errors import DomainError
from core.formatting import fmt_date, fmt_datetime, fmt_money, fmt_number
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.sales import contact_roles, orders, products, quotes
from core.sales.opportunities import OpportunityView, get_opportunity
from core.sales.pricing import VAT_RATES
from core.sales.products import UNITS
from core.sales.quotes import QuoteLineView, QuoteView
from core.uow import UnitOfWork
from exports.pdf.quote import quote_pdf

TTL_SECONDS = 60
SESSION_TOKEN = "quotes__session"
PENDING_KEY = "quotes__pending"  # the step whose dialog is open (one dialog at a time)
STATUS_ICONS = {
    "entwurf": ":material/edit_note:",
    "versendet": ":material/send:",
    "angenommen": ":material/task_alt:",
    "abgelehnt": ":material/block:",
}


# Cached reads ------------------------------------------------------------------------------------------


def _uow(url: str, actor: Actor) -> UnitOfWork:
    return UnitOfWork(context.factory_for(url), actor=actor)


def _cache_key() -> tuple[str, Actor, str, int]:
    """Database, user, this browser session and its data generation: a write shows at once in this session."""
    token = st.session_state.setdefault(SESSION_TOKEN, uuid.uuid4().hex)
    return context.database_url(), context.current_actor(), token, queries.data_generation()


@st.cache_data(ttl=TTL_SECONDS, max_entries=200, show_spinner=False)
def _deal(url: str, actor: Actor, token: str, generation: int, opportunity_id: int) -> OpportunityView:
    return get_opportunity(_uow(url, actor), opportunity_id)


@st.cache_data(ttl=TTL_SECONDS, max_entries=200, show_spinner=False)
def _quotes(url: str, actor: Actor, token: str, generation: int, opportunity_id: int) -> list[QuoteView]:
    return quotes.list_quotes(_uow(url, actor), opportunity_id)


@st.cache_data(ttl=TTL_SECONDS, max_entries=200, show_spinner=False)
def _orders(url: str, actor: Actor, token: str, generation: int, opportunity_id: int) -> Page:
    query = ListQuery(filters={"opportunity_id": opportunity_id}, sort="id", page_size=100)
    return orders.list_orders(_uow(url, actor), query)


@st.cache_data(ttl=TTL_SECONDS, max_entries=200, show_spinner=False)
def _products(url: str, actor: Actor, token: str, generation: int, search: str) -> pd.DataFrame:
    return products.product_options(_uow(url, actor), search=search)


@st.cache_data(ttl=TTL_SECONDS, max_entries=200, show_spinner=False)
def _contacts(url: str, actor: Actor, token: str, generation: int, opportunity_id: int) -> dict[int, str]:
    return {
        r.contact_id: f"{r.contact_name} ({r.role})"
        for r in contact_roles.contact_roles(_uow(url, actor), opportunity_id)
    }


@st.cache_data(ttl=TTL_SECONDS, max_entries=50, show_spinner=False)
def _win_on_order(url: str, actor: Actor, token: str, generation: int) -> bool:
    return orders.get_win_on_order(_uow(url, actor))


# Formatting ------------------------------------------------------------------------------------------------


def _money(value: Decimal, currency: str) -> str:
    return fmt_money(value, current_lang(), currency)


def _places(value: Decimal) -> int:
    return max(0, -int(value.normalize().as_tuple().exponent))


def _decimal(value: Decimal) -> str:
    """1.234,5 — as many decimals as the value has."""
    return fmt_number(value, current_lang(), _places(value))


def _percent(value: Decimal) -> str:
    return f"{_decimal(value)} %"


def _editable(value: Decimal) -> str:
    """A number as the user types it back (no thousands separator): 12500,5 / 12500.5."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if current_lang() == "de" else text


def status_label(status: str) -> str:
    return t(f"quotes.status.{status}")


def lines_table(quote: QuoteView) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("quotes.col.position"): [line.position for line in quote.lines],
            t("quotes.col.description"): [line.description.replace("\n", " – ") for line in quote.lines],
            t("quotes.col.quantity"): [_decimal(line.quantity) for line in quote.lines],
            t("quotes.col.unit"): [line.unit for line in quote.lines],
            t("quotes.col.unit_price"): [_money(line.unit_price, quote.currency) for line in quote.lines],
            t("quotes.col.discount"): [
                _percent(line.discount_percent) if line.discount_percent else "" for line in quote.lines
            ],
            t("quotes.col.vat"): [_percent(line.vat_rate) for line in quote.lines],
            t("quotes.col.net"): [_money(line.net_amount, quote.currency) for line in quote.lines],
        }
    )


def totals_rows(quote: QuoteView) -> list[tuple[str, str]]:
    """Label and amount of each totals line, as on the quote letter."""
    totals, currency = quote.totals, quote.currency
    rows: list[tuple[str, str]] = []
    if totals.discount:
        rows.append((t("quotes.lines_net"), _money(totals.lines_net, currency)))
        rows.append(
            (
                t("quotes.discount_line", percent=_percent(totals.discount_percent)),
                "-" + _money(totals.discount, currency),
            )
        )
    rows.append((t("quotes.net"), _money(totals.net, currency)))
    for rate in totals.per_rate:
        rows.append(
            (
                t("quotes.vat_line", rate=_percent(rate.rate), base=_money(rate.net, currency)),
                _money(rate.vat, currency),
            )
        )
    rows.append((f"**{t('quotes.gross')}**", f"**{_money(totals.gross, currency)}**"))
    return rows


def _show_lines(quote: QuoteView) -> None:
    if not quote.lines:
        st.caption(t("quotes.no_lines"))
        return
    st.dataframe(lines_table(quote), hide_index=True, width="stretch")
    _, right = st.columns([3, 2])
    right.markdown("| | |\n|:--|--:|\n" + "\n".join(f"| {label} | {value} |" for label, value in totals_rows(quote)))


# Writing ---------------------------------------------------------------------------------------------------


def field_labels() -> dict[str, str]:
    """Field names in the services' messages as the user sees them in this section."""
    return {
        "product_id": t("quotes.product"),
        "description": t("quotes.description"),
        "quantity": t("quotes.quantity"),
        "unit": t("quotes.unit"),
        "unit_price": t("quotes.unit_price"),
        "vat_rate": t("quotes.vat_rate"),
        "discount_percent": t("quotes.discount"),
        "valid_until": t("quotes.valid_until"),
        "contact_id": t("quotes.contact"),
        "introduction": t("quotes.introduction"),
        "terms": t("quotes.terms"),
        "decline_reason": t("quotes.decline_reason"),
        "cancel_reason": t("orders.cancel_reason"),
    }


def _run(action: Callable[[], Any], message: Callable[[Any], str]) -> None:
    """Call a service; on success refresh the reads, queue the toast and rerun, else show the error here."""
    try:
        result = action()
    except DomainError as exc:
        show_error(exc, labels=field_labels())
        return
    queries.clear_reads()
    flash(message(result))
    st.rerun()


@dataclass(frozen=True)
class Step:
    """A status step that asks first: `on_confirm(reason)` calls the service and returns the success message."""

    name: str
    title: str
    message: str
    confirm_label: str
    on_confirm: Callable[[str], str]
    reason_label: str | None = None


def _step_button(ns: str, step: Step, *, label: str, icon: str, cell: Any, primary: bool = False) -> None:
    """The button of a step and, while the step is pending, its dialog (so the answer survives a full rerun)."""
    step_id = f"{ns}__{step.name}"
    if cell.button(label, key=step_id, icon=icon, type="primary" if primary else "secondary", width="stretch"):
        st.session_state[PENDING_KEY] = step_id
    if st.session_state.get(PENDING_KEY) == step_id:
        _ask(step_id, step)


def _ask(step_id: str, step: Step) -> None:
    """The step's dialog: its message, a reason field when needed, confirm and cancel. Errors stay in the dialog."""

    @st.dialog(step.title, width="small", on_dismiss=lambda: st.session_state.pop(PENDING_KEY, None))
    def _dialog() -> None:
        st.markdown(step.message)
        reason = st.text_area(step.reason_label, key=f"{step_id}__reason", max_chars=500) if step.reason_label else ""
        yes, no = st.columns(2)
        if yes.button(step.confirm_label, key=f"{step_id}__yes", type="primary", width="stretch"):
            try:
                done = step.on_confirm(reason or "")
            except DomainError as exc:
                show_error(exc, labels=field_labels())
                return
            st.session_state.pop(PENDING_KEY, None)
            queries.clear_reads()
            flash(done)
            st.rerun()
        if no.button(t("common.cancel"), key=f"{step_id}__no", width="stretch"):
            st.session_state.pop(PENDING_KEY, None)
            st.rerun()

    _dialog()


def _product_picker(ns: str, version: int) -> int | None:
    term = st.text_input(
        t("quotes.product_search"), key=f"{ns}__product_q", placeholder=t("quotes.product_search_placeholder")
    )
    found = _products(*_cache_key(), term.strip())
    lang = current_lang()
    labels = {
        int(r.id): f"{r.sku} · {r.name} · {fmt_money(Decimal(r.unit_price), lang)} / {r.unit}"
        for r in found.itertuples()
    }
    return st.selectbox(
        t("quotes.product"),
        [None, *labels],
        format_func=lambda i: t("quotes.free_line") if i is None else labels[i],
        key=f"{ns}__v{version}__product",
    )


def _vat_choice(label: str, key: str, current: Decimal | None, *, optional: bool) -> Decimal | None:
    options: list[Decimal | None] = [*([None] if optional else []), *VAT_RATES]
    index = options.index(Decimal(current)) if current is not None and Decimal(current) in options else 0
    return st.selectbox(label, options, index=index, key=key, format_func=lambda r: "–" if r is None else _percent(r))


def _unit_choice(label: str, key: str, current: str | None, *, optional: bool) -> str | None:
    units = list(UNITS) if current is None or current in UNITS else [*UNITS, current]
    options: list[str | None] = [*([None] if optional else []), *units]
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, key=key, format_func=lambda u: "–" if u is None else u)


def _add_line(quote: QuoteView, ns: str) -> None:
    st.markdown(f"**{t('quotes.add_line')}**")
    v = f"{ns}__v{quote.version}"
    product_id = _product_picker(ns, quote.version)
    description = st.text_input(t("quotes.description"), key=f"{v}__description", help=t("quotes.description_help"))
    qty, unit, price, discount, vat = st.columns(5)
    quantity = qty.text_input(t("quotes.quantity"), value="1", key=f"{v}__quantity")
    with unit:
        unit_value = _unit_choice(t("quotes.unit"), f"{v}__unit", None, optional=True)
    unit_price = price.text_input(t("quotes.unit_price"), key=f"{v}__unit_price", help=t("quotes.unit_price_help"))
    line_discount = discount.text_input(t("quotes.discount"), value="0", key=f"{v}__discount")
    with vat:
        rate = _vat_choice(t("quotes.vat_rate"), f"{v}__vat", None, optional=True)
    if st.button(t("quotes.add"), key=f"{ns}__add", icon=":material/playlist_add:"):
        values = {
            "product_id": product_id,
            "description": description,
            "quantity": quantity,
            "unit": unit_value,
            "unit_price": unit_price,
            "discount_percent": line_discount,
            "vat_rate": rate,
        }
        _run(
            lambda: quotes.add_line(context.uow(), quote.id, values, expected_version=quote.version),
            lambda _: t("quotes.line_added"),
        )


def _edit_line(quote: QuoteView, ns: str) -> None:
    st.markdown(f"**{t('quotes.edit_line')}**")
    by_id: dict[int, QuoteLineView] = {line.id: line for line in quote.lines}
    pick = f"{ns}__pick"
    if st.session_state.get(pick) not in by_id:  # the line picked before was removed
        st.session_state.pop(pick, None)
    line_id = st.selectbox(
        t("quotes.pick_line"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].position}. {by_id[i].description.splitlines()[0]}",
        key=pick,
    )
    line = by_id[line_id]
    k = f"{ns}__l{line.id}_v{quote.version}"
    description = st.text_area(t("quotes.description"), value=line.description, key=f"{k}__description", height=68)
    qty, unit, price, discount, vat = st.columns(5)
    quantity = qty.text_input(t("quotes.quantity"), value=_editable(line.quantity), key=f"{k}__quantity")
    with unit:
        unit_value = _unit_choice(t("quotes.unit"), f"{k}__unit", line.unit, optional=False)
    unit_price = price.text_input(t("quotes.unit_price"), value=_editable(line.unit_price), key=f"{k}__unit_price")
    line_discount = discount.text_input(
        t("quotes.discount"), value=_editable(line.discount_percent), key=f"{k}__discount"
    )
    with vat:
        rate = _vat_choice(t("quotes.vat_rate"), f"{k}__vat", line.vat_rate, optional=False)
    save, remove, _ = st.columns([1, 1, 2])
    if save.button(t("quotes.save_line"), key=f"{ns}__save_line", icon=":material/save:", width="stretch"):
        values = {
            "description": description,
            "quantity": quantity,
            "unit": unit_value,
            "unit_price": unit_price,
            "discount_percent": line_discount,
            "vat_rate": rate,
        }
        _run(
            lambda: quotes.update_line(context.uow(), line.id, values, expected_version=quote.version),
            lambda _: t("quotes.line_saved"),
        )
    if remove.button(
        t("quotes.remove_line"), key=f"{ns}__remove_line", icon=":material/playlist_remove:", width="stretch"
    ):
        _run(
            lambda: quotes.remove_line(context.uow(), line.id, expected_version=quote.version),
            lambda _: t("quotes.line_removed"),
        )


def _header_form(quote: QuoteView, ns: str, contacts: Mapping[int, str]) -> None:
    k = f"{ns}__header_v{quote.version}"
    with st.form(k, border=True):
        st.markdown(f"**{t('quotes.header')}**")
        left, middle, right = st.columns(3)
        discount = left.text_input(
            t("quotes.quote_discount"), value=_editable(quote.discount_percent), key=f"{k}__discount"
        )
        valid_until = middle.date_input(
            t("quotes.valid_until"), value=quote.valid_until, format="DD.MM.YYYY", key=f"{k}__valid"
        )
        choices = dict(contacts)
        if quote.contact_id is not None and quote.contact_id not in choices:
            choices[quote.contact_id] = quote.contact_name or str(quote.contact_id)
        options: list[int | None] = [None, *choices]
        contact_id = right.selectbox(
            t("quotes.contact"),
            options,
            index=options.index(quote.contact_id),
            format_func=lambda i: t("common.not_set") if i is None else choices[i],
            key=f"{k}__contact",
        )
        introduction = st.text_area(
            t("quotes.introduction"), value=quote.introduction or "", height=80, key=f"{k}__intro"
        )
        terms = st.text_area(t("quotes.terms"), value=quote.terms or "", height=80, key=f"{k}__terms")
        submitted = st.form_submit_button(t("quotes.save_header"), icon=":material/save:")
    if submitted:
        values = {
            "discount_percent": discount,
            "valid_until": valid_until,
            "contact_id": contact_id,
            "introduction": introduction,
            "terms": terms,
        }
        _run(
            lambda: quotes.update_quote(context.uow(), quote.id, values, expected_version=quote.version),
            lambda _: t("quotes.header_saved"),
        )


def _accept(quote: QuoteView) -> str:
    order = orders.accept_quote(context.uow(), quote.id, expected_version=quote.version)
    return t("quotes.accepted", number=quote.number, order=order.number)


def _decline(quote: QuoteView, reason: str) -> str:
    quotes.decline_quote(context.uow(), quote.id, reason=reason, expected_version=quote.version)
    return t("quotes.declined", number=quote.number)


def _cancel(order_id: int, version: int, reason: str) -> str:
    order = orders.cancel_order(context.uow(), order_id, reason=reason, expected_version=version)
    return t("orders.cancelled", number=order.number)


def _pdf_bytes(quote_id: int) -> bytes:
    return quote_pdf(quotes.quote_document(context.uow(), quote_id), company=quotes.company_letterhead(context.uow()))


def _delete(quote: QuoteView) -> str:
    quotes.delete_quote(context.uow(), quote.id, expected_version=quote.version)
    return t("quotes.deleted", number=quote.number)


def _actions(quote: QuoteView, ns: str, writable: bool) -> None:
    cells = st.columns(6)
    download_button(
        cells[0],
        t("quotes.pdf"),
        partial(_pdf_bytes, quote.id),
        file_name=f"Angebot_{quote.number}.pdf",
        key=f"{ns}__pdf",
    )
    if not writable:
        return
    number = quote.number
    if quote.is_draft and cells[1].button(
        t("quotes.send"), key=f"{ns}__send", icon=":material/send:", type="primary", width="stretch"
    ):
        _run(
            lambda: quotes.send_quote(context.uow(), quote.id, expected_version=quote.version),
            lambda _: t("quotes.sent", number=number),
        )
    if quote.status == "versendet":
        win = t("quotes.accept_wins") if _win_on_order(*_cache_key()) else ""
        accept = Step(
            "accept",
            t("quotes.accept_title"),
            t("quotes.accept_text", number=number, gross=_money(quote.gross_total, quote.currency), win=win),
            t("quotes.accept"),
            lambda _reason: _accept(quote),
        )
        _step_button(ns, accept, label=t("quotes.accept"), icon=":material/task_alt:", cell=cells[1], primary=True)
        decline = Step(
            "decline",
            t("quotes.decline_title"),
            t("quotes.decline_text", number=number),
            t("quotes.decline"),
            lambda reason: _decline(quote, reason),
            reason_label=t("quotes.decline_reason"),
        )
        _step_button(ns, decline, label=t("quotes.decline"), icon=":material/block:", cell=cells[2])
    if (
        not quote.is_primary
        and quote.status != "abgelehnt"
        and cells[3].button(
            t("quotes.make_primary"),
            key=f"{ns}__primary",
            icon=":material/star:",
            help=t("quotes.primary_help"),
            width="stretch",
        )
    ):
        _run(
            lambda: quotes.mark_primary(context.uow(), quote.id, expected_version=quote.version),
            lambda _: t("quotes.primary_set", number=number),
        )
    if cells[4].button(t("quotes.copy"), key=f"{ns}__copy", icon=":material/content_copy:", width="stretch"):
        _run(lambda: quotes.copy_quote(context.uow(), quote.id), lambda copy: t("quotes.copied", number=copy.number))
    if quote.is_draft:
        delete = Step(
            "delete",
            t("quotes.delete_title"),
            t("quotes.delete_text", number=number),
            t("common.delete"),
            lambda _: _delete(quote),
        )
        _step_button(ns, delete, label=t("common.delete"), icon=":material/delete:", cell=cells[5])


def _quote_panel(quote: QuoteView, ns: str, *, writable: bool, expanded: bool, contacts: Mapping[int, str]) -> None:
    lang = current_lang()
    title = t(
        "quotes.summary",
        number=quote.number,
        status=status_label(quote.status),
        net=_money(quote.net_total, quote.currency),
        gross=_money(quote.gross_total, quote.currency),
    )
    if quote.is_primary:
        title = f"★ {title} · {t('quotes.primary')}"
    with st.expander(title, expanded=expanded, icon=STATUS_ICONS[quote.status]):
        meta = t(
            "quotes.meta",
            date=fmt_date(quote.quote_date, lang),
            valid=fmt_date(quote.valid_until, lang),
            contact=quote.contact_name or t("quotes.no_contact"),
        )
        notes = [meta]
        if quote.sent_at:
            notes.append(t("quotes.sent_at", when=fmt_datetime(quote.sent_at, lang)))
        if quote.decided_at:
            notes.append(t("quotes.decided_at", when=fmt_datetime(quote.decided_at, lang)))
        st.caption(" · ".join(notes))
        if quote.decline_reason:
            st.warning(t("quotes.declined_because", reason=quote.decline_reason), icon=":material/block:")
        _show_lines(quote)
        if writable and quote.is_draft:
            _add_line(quote, ns)
            if quote.lines:
                _edit_line(quote, ns)
            _header_form(quote, ns, contacts)
        _actions(quote, ns, writable)


def _order_section(opportunity_id: int, ns: str, *, writable: bool) -> None:
    st.subheader(t("orders.title"))
    rows = _orders(*_cache_key(), opportunity_id).rows
    if rows.empty:
        st.caption(t("orders.none"))
        return
    lang = current_lang()
    table = pd.DataFrame(
        {
            t("orders.col.number"): rows["number"],
            t("orders.col.quote"): rows["quote_number"],
            t("orders.col.date"): [fmt_date(d, lang) for d in rows["order_date"]],
            t("orders.col.net"): [fmt_money(v, lang, c) for v, c in zip(rows["net_total"], rows["currency"])],
            t("orders.col.gross"): [fmt_money(v, lang, c) for v, c in zip(rows["gross_total"], rows["currency"])],
            t("orders.col.status"): [t(f"orders.status.{s}") for s in rows["status"]],
            t("orders.col.reason"): rows["cancel_reason"].fillna(""),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    if not writable:
        return
    for row in rows[rows["status"] == "aufgegeben"].itertuples():
        order_id, version, number = int(row.id), int(row.version), str(row.number)
        cancel = Step(
            f"cancel_{order_id}",
            t("orders.cancel_title"),
            t("orders.cancel_text", number=number),
            t("orders.cancel_title"),
            lambda reason, order_id=order_id, version=version: _cancel(order_id, version, reason),
            reason_label=t("orders.cancel_reason"),
        )
        cell, _ = st.columns([1, 2])
        _step_button(ns, cancel, label=t("orders.cancel", number=number), icon=":material/cancel:", cell=cell)


def render_quotes(opportunity_id: int, *, key: str = "quotes") -> None:
    """The deal's quotes (newest first, the newest expanded) and its orders, with the actions the user may take."""
    cache_key = _cache_key()
    deal = _deal(*cache_key, opportunity_id)
    writable = context.may("opportunities.write", owner_id=deal.owner_id)
    found = _quotes(*cache_key, opportunity_id)
    head, new = st.columns([4, 1], vertical_alignment="bottom")
    head.subheader(t("quotes.title"))
    if (
        writable
        and deal.status != "lost"
        and new.button(t("quotes.new"), key=f"{key}__new", icon=":material/note_add:", type="primary", width="stretch")
    ):
        _run(
            lambda: quotes.create_quote(context.uow(), opportunity_id=opportunity_id),
            lambda created: t("quotes.created", number=created.number),
        )
    if not writable:
        st.caption(t("quotes.read_only"))
    if not found:
        st.info(t("quotes.none"), icon=":material/info:")
    contacts = _contacts(*cache_key, opportunity_id) if writable else {}
    for index, quote in enumerate(reversed(found)):
        _quote_panel(quote, f"{key}__q{quote.id}", writable=writable, expanded=index == 0, contacts=contacts)
    _order_section(opportunity_id, f"{key}__orders", writable=writable)


def render_line_items(opportunity_id: int, *, key: str = "lines") -> None:
    """The primary quote's line items with totals (read-only); a hint when the deal has no primary quote."""
    primary = next((q for q in _quotes(*_cache_key(), opportunity_id) if q.is_primary), None)
    if primary is None:
        st.info(t("quotes.no_primary"), icon=":material/info:")
        return
    st.caption(t("quotes.primary_lines_caption", number=primary.number, status=status_label(primary.status)))
    with st.container(key=f"{key}__table"):
        _show_lines(primary)
