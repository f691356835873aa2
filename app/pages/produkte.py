"""Produkte: the product catalogue (search, filter by status, VAT rate and unit, export). Admins create and
edit products below the list; everyone else sees the same form read-only."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import streamlit as st

from app.components import context, queries
from app.components.fields import FormField
from app.components.i18n import current_lang, t
from app.components.list_report import Column, ListFilter, ListReport
from app.components.object_page import EditForm, Versioned
from core.formatting import fmt_number
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.sales.pricing import VAT_RATES
from core.sales.products import UNITS, ProductView, create_product, get_product, list_products, update_product
from core.settings import get_settings
from core.uow import UnitOfWork

SELECTED_KEY = "produkte__selected"  # a product id, "new", or None
NEW = "new"
actor = context.current_actor()
can_edit = actor.can("sales.configure")
lang = current_lang()


def _cache_key() -> tuple[str, Actor, str, int]:
    """Database, user, this browser session and its data generation (every write bumps it)."""
    token = st.session_state.setdefault("produkte__session", uuid.uuid4().hex)
    return context.database_url(), context.current_actor(), token, queries.data_generation()


def _uow(url: str, reader: Actor) -> UnitOfWork:
    return UnitOfWork(context.factory_for(url), actor=reader)


@st.cache_data(ttl=60, max_entries=200, show_spinner=False)
def _products_page(url: str, reader: Actor, token: str, generation: int, query: ListQuery) -> Page:
    return list_products(_uow(url, reader), query)


@st.cache_data(ttl=60, max_entries=200, show_spinner=False)
def _product(url: str, reader: Actor, token: str, generation: int, product_id: int) -> ProductView:
    return get_product(_uow(url, reader), product_id)


def percent(rate: Any) -> str:
    value = Decimal(str(rate))
    return f"{fmt_number(value, lang, 0 if value == value.to_integral() else 2)} %"


def fetch(query: ListQuery) -> Page:
    page = _products_page(*_cache_key(), query)
    rows = page.rows.copy()
    rows["currency"] = get_settings().currency
    rows["is_active"] = [t("products.active_yes") if v else t("products.active_no") for v in rows["is_active"]]
    return Page(rows, page.total, page.page, page.page_size)


def open_product(product_id: int | str | None) -> None:
    st.session_state[SELECTED_KEY] = product_id


def editable_price(value: Decimal) -> str:
    text = format(Decimal(value).quantize(Decimal("0.01")), "f")
    return text.replace(".", ",") if lang == "de" else text


def fields(current: ProductView | None) -> list[FormField]:
    units = UNITS if current is None or current.unit in UNITS else (*UNITS, current.unit)
    return [
        FormField("sku", t("products.field.sku"), required=True, placeholder="FM-500"),
        FormField("name", t("products.field.name"), required=True),
        FormField("unit", t("products.field.unit"), "select", units, required=True),
        FormField(
            "unit_price", t("products.field.unit_price"), required=True, help=t("products.field.unit_price_help")
        ),
        FormField("vat_rate", t("products.field.vat_rate"), "select", VAT_RATES, format_func=percent, required=True),
        FormField("is_active", t("products.field.is_active"), "bool"),
        FormField("description", t("products.field.description"), "textarea"),
    ]


def form_values(product: ProductView | None) -> dict[str, Any]:
    if product is None:
        return {"unit": "Stück", "vat_rate": VAT_RATES[0], "is_active": True}
    return product.form_values() | {
        "unit_price": editable_price(product.unit_price),
        "vat_rate": Decimal(product.vat_rate),
    }


def save(product_id: int | None) -> Any:
    def run(values: dict[str, Any], expected_version: int | None, reason: str | None) -> Versioned:
        if product_id is None:
            return create_product(context.uow(), values, reason=reason)
        return update_product(context.uow(), product_id, values, expected_version=expected_version, reason=reason)

    return run


def product_form(selected: int | str) -> None:
    product = None if selected == NEW else _product(*_cache_key(), int(selected))
    heading = (
        t("products.new") if product is None else t("products.edit" if can_edit else "products.show", sku=product.sku)
    )
    head, close = st.columns([4, 1], vertical_alignment="bottom")
    head.subheader(heading)
    if close.button(t("products.close"), key="prod_obj__close", icon=":material/close:", width="stretch"):
        open_product(None)
        st.rerun()
    EditForm(
        ns="prod_new" if product is None else "prod_obj",
        fields=fields(product),
        save=save(None if product is None else product.id),
        submit_label=t("products.create") if product is None else t("common.save"),
        on_saved=lambda saved: open_product(saved.id),
        with_reason=product is not None,
    ).render(
        record_id=None if product is None else product.id,
        version=None if product is None else product.version,
        values=form_values(product),
        disabled=not can_edit,
    )


title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title(f":material/inventory_2: {t('page.products')}")
if can_edit and new_col.button(
    t("products.new"), key="prod_list__new", type="primary", icon=":material/add:", width="stretch"
):
    open_product(NEW)
if not can_edit:
    st.caption(t("products.read_only"))

ListReport(
    ns="prod_list",
    noun=t("products.plural"),
    columns=[
        Column("id", t("list.id"), "int", sortable=True),
        Column("sku", t("products.field.sku"), sortable=True),
        Column("name", t("products.field.name"), sortable=True),
        Column("unit", t("products.field.unit")),
        Column("unit_price", t("products.field.unit_price"), "money", sortable=True),
        Column("vat_rate", t("products.field.vat_rate"), "whole_percent"),
        Column("is_active", t("products.active")),
        Column("updated_at", t("common.updated_at"), "datetime", sortable=True, visible=False),
    ],
    fetch=fetch,
    row_label=lambda row: f"{row['sku']} · {row['name']}",
    open_record=open_product,
    filters=[
        ListFilter(
            "is_active",
            t("products.active"),
            [True, False],
            format_func=lambda v: t("products.active_yes") if v else t("products.active_no"),
        ),
        ListFilter("vat_rate", t("products.field.vat_rate"), list(VAT_RATES), format_func=percent),
        ListFilter("unit", t("products.field.unit"), UNITS),
    ],
    export_name="produkte",
    search_placeholder=t("products.search_placeholder"),
    empty_hint=t("products.empty"),
    default_sort="name",
).render()

selected = st.session_state.get(SELECTED_KEY)
if selected is not None:
    product_form(selected)
