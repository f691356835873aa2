"""Contacts (people) over REST: /api/v1/contacts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from api.crud import Resource, resource_router
from core import contacts


class Contact(BaseModel):
    id: int
    external_id: str | None
    account_id: int | None
    account_name: str | None
    salutation: str | None
    title: str | None
    first_name: str
    last_name: str
    job_title: str | None
    email: str | None
    phone: str | None
    mobile: str | None
    birth_date: dt.date | None
    postcode: str | None
    city: str | None
    country: str
    owner_id: int | None
    owner_name: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactRow(BaseModel):
    id: int
    first_name: str
    last_name: str
    job_title: str | None
    email: str | None
    phone: str | None
    account_id: int | None
    account_name: str | None
    city: str | None
    owner_name: str | None
    updated_at: dt.datetime
    version: int


async def contact_filters(
    account_id: Annotated[list[int] | None, Query(description="Firmen-ID (mehrfach möglich)")] = None,
    owner_id: Annotated[list[int] | None, Query(description="Betreuer-ID (mehrfach möglich)")] = None,
    city: Annotated[list[str] | None, Query(description="Ort (mehrfach möglich)")] = None,
) -> dict[str, Any]:
    given = {"account_id": account_id, "owner_id": owner_id, "city": city}
    return {name: values for name, values in given.items() if values}


router = resource_router(
    Resource(
        key="contacts",
        singular="Kontakt",
        plural="Kontakte",
        item=Contact,
        list_item=ContactRow,
        input_model=contacts.ContactInput,
        get=contacts.get_contact,
        create=contacts.create_contact,
        update=contacts.update_contact,
        delete=contacts.delete_contact,
        list=contacts.list_contacts,
        filters=contact_filters,
        sort_keys=("id", "last_name", "first_name", "email", "account_name", "city", "updated_at"),
    )
)
