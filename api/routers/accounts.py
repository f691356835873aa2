"""Accounts (companies) over REST: /api/v1/accounts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from api.crud import Resource, resource_router
from core import accounts


class Account(BaseModel):
    id: int
    external_id: str | None
    name: str
    legal_form: str | None
    industry: str | None
    revenue_class: str | None
    employees: int | None
    website: str | None
    phone: str | None
    email: str | None
    street: str | None
    postcode: str | None
    city: str | None
    country: str
    owner_id: int | None
    owner_name: str | None
    notes: str | None
    contact_count: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AccountRow(BaseModel):
    id: int
    name: str
    legal_form: str | None
    industry: str | None
    postcode: str | None
    city: str | None
    owner_name: str | None
    contacts: int
    updated_at: dt.datetime
    version: int


async def account_filters(
    industry: Annotated[list[str] | None, Query(description="Branche (mehrfach möglich)")] = None,
    city: Annotated[list[str] | None, Query(description="Ort (mehrfach möglich)")] = None,
    legal_form: Annotated[list[str] | None, Query(description="Rechtsform (mehrfach möglich)")] = None,
    owner_id: Annotated[list[int] | None, Query(description="Betreuer-ID (mehrfach möglich)")] = None,
) -> dict[str, Any]:
    given = {"industry": industry, "city": city, "legal_form": legal_form, "owner_id": owner_id}
    return {name: values for name, values in given.items() if values}


router = resource_router(
    Resource(
        key="accounts",
        singular="Firma",
        plural="Firmen",
        item=Account,
        list_item=AccountRow,
        input_model=accounts.AccountInput,
        get=accounts.get_account,
        create=accounts.create_account,
        update=accounts.update_account,
        delete=accounts.delete_account,
        list=accounts.list_accounts,
        filters=account_filters,
        sort_keys=("id", "name", "city", "industry", "postcode", "updated_at"),
    )
)
