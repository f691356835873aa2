"""The product catalogue: net list prices per unit with their VAT rate, read by everyone, kept by admins.

Products are never deleted (quotes and orders refer to them); a product that is no longer sold is
deactivated and disappears from the quote pickers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import Field, field_validator
from sqlalchemy import func, or_, select

from core.errors import NotFound, ValidationFailed
from core.listing import ListQuery, Page, equality_filters, fetch_page
from core.records import create_record, update_record
from core.sales.pricing import money_input, vat_rate
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import Product

ENTITY = "product"
UNITS = ("Stück", "Stunde", "Tag", "Monat", "Jahr", "Pauschal", "Lizenz", "Paket", "kg", "m")


class ProductInput(InputModel):
    sku: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=2, max_length=200)
    description: str | None = None
    unit: str = Field(default="Stück", min_length=1, max_length=20)
    unit_price: Decimal = Field(ge=0)
    vat_rate: Decimal = Decimal(19)
    is_active: bool = True

    _price = field_validator("unit_price", mode="before")(money_input)

    @field_validator("vat_rate", mode="before")
    @classmethod
    def _vat(cls, value: Any) -> Decimal:
        return vat_rate(value)


EDITABLE = tuple(ProductInput.model_fields)


@dataclass(frozen=True)
class ProductView:
    id: int
    sku: str
    name: str
    description: str | None
    unit: str
    unit_price: Decimal
    vat_rate: Decimal
    is_active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    def form_values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in EDITABLE}


def _view(product: Product) -> ProductView:
    return ProductView(
        **{f: getattr(product, f) for f in EDITABLE if f != "vat_rate"},
        vat_rate=Decimal(product.vat_rate).quantize(Decimal("0.01")),
        id=product.id,
        version=product.version,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def load_product(uow: UnitOfWork, product_id: int) -> Product:
    """The ORM row inside an open unit of work (quotes copy its values into a line)."""
    product = uow.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Produkt {product_id} gibt es nicht.")
    return product


def _check_sku(uow: UnitOfWork, sku: str, product_id: int | None = None) -> None:
    clash = uow.session.scalar(
        select(Product.id).where(func.lower(Product.sku) == sku.lower(), Product.id != (product_id or 0))
    )
    if clash:
        raise ValidationFailed({"sku": f"Artikelnummer „{sku}“ ist schon vergeben (Produkt {clash})"})


def get_product(uow: UnitOfWork, product_id: int) -> ProductView:
    with uow:
        uow.authorize("opportunities.read")
        return _view(load_product(uow, product_id))


def create_product(uow: UnitOfWork, values: Mapping[str, Any], *, reason: str | None = None) -> ProductView:
    data = parse(ProductInput, values)
    with uow:
        uow.authorize("sales.configure")
        _check_sku(uow, data.sku)
        product = create_record(
            uow, Product(**data.model_dump(), version=1), entity=ENTITY, fields=EDITABLE, reason=reason
        )
        view = _view(product)
        uow.commit()
        return view


def update_product(
    uow: UnitOfWork,
    product_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str | None = None,
) -> ProductView:
    """Change a product; quotes already written keep the values they copied."""
    with uow:
        uow.authorize("sales.configure")
        product = load_product(uow, product_id)
        data = parse(ProductInput, {f: getattr(product, f) for f in EDITABLE} | dict(values))
        if data.sku != product.sku:
            _check_sku(uow, data.sku, product_id)
        update_record(uow, product, data.model_dump(), entity=ENTITY, expected_version=expected_version, reason=reason)
        view = _view(product)
        uow.commit()
        return view


def deactivate_product(
    uow: UnitOfWork, product_id: int, *, expected_version: int | None, reason: str | None = None
) -> ProductView:
    """No longer offered: hidden from the quote pickers, kept for the quotes and orders that name it."""
    return update_product(uow, product_id, {"is_active": False}, expected_version=expected_version, reason=reason)


LIST_COLUMNS = ("id", "sku", "name", "unit", "unit_price", "vat_rate", "is_active", "updated_at")


def list_products(uow: UnitOfWork, query: ListQuery) -> Page:
    """Filters: is_active, vat_rate, unit; search over SKU and name."""
    with uow:
        uow.authorize("opportunities.read")
        stmt = select(*(getattr(Product, c) for c in LIST_COLUMNS), Product.version)
        conditions = equality_filters(Product, query.filters, ("is_active", "vat_rate", "unit"))
        if query.search:
            term = f"%{query.search.strip().lower()}%"
            conditions.append(or_(func.lower(Product.sku).like(term), func.lower(Product.name).like(term)))
        sortable = {c: getattr(Product, c) for c in ("id", "sku", "name", "unit_price", "updated_at")}
        return fetch_page(uow.session, stmt.where(*conditions), query, sortable=sortable, default_sort=Product.id)


def product_options(uow: UnitOfWork, *, search: str = "", ids: Sequence[int] = (), limit: int = 50) -> pd.DataFrame:
    """Active products for the quote line picker (id, sku, name, unit, unit_price, vat_rate), searched in SQL.

    With `ids`, exactly those products (active or not).
    """
    with uow:
        uow.authorize("opportunities.read")
        columns = (Product.id, Product.sku, Product.name, Product.unit, Product.unit_price, Product.vat_rate)
        stmt = select(*columns).order_by(Product.name, Product.id).limit(limit)
        if ids:
            stmt = stmt.where(Product.id.in_(list(ids)))
        else:
            stmt = stmt.where(Product.is_active.is_(True))
            if search:
                term = f"%{search.strip().lower()}%"
                stmt = stmt.where(or_(func.lower(Product.sku).like(term), func.lower(Product.name).like(term)))
        return pd.DataFrame(
            uow.session.execute(stmt).mappings().all(), columns=["id", "sku", "name", "unit", "unit_price", "vat_rate"]
        )
