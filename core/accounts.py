"""Accounts (companies): list, read, create, update, delete — permission-checked and audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator
from sqlalchemy import func, select

from core.search import contains
from sqlalchemy.orm import aliased

from core.dedupe.keys import match_keys_for_account, set_match_keys
from core.errors import Conflict, NotFound, ValidationFailed
from core.listing import ListQuery, Page, equality_filters, fetch_page
from core.merge import surviving_id
from core.records import create_record, delete_record, update_record
from core.uow import UnitOfWork
from core.validation import InputModel, check_country, check_email, check_phone, check_postcode, parse
from db.models import Account, Contact, User

ENTITY = "account"
LEGAL_FORMS = (
    "GmbH",
    "AG",
    "KG",
    "GmbH & Co. KG",
    "OHG",
    "UG (haftungsbeschränkt)",
    "e.K.",
    "GbR",
    "SE",
    "e.V.",
    "Einzelunternehmen",
)
REVENUE_CLASSES = ("< 1 Mio. €", "1–10 Mio. €", "10–50 Mio. €", "50–250 Mio. €", "> 250 Mio. €")
INDUSTRIES = (
    "Maschinenbau",
    "Automobilzulieferer",
    "Chemie",
    "Elektrotechnik",
    "Handel",
    "IT-Dienstleistungen",
    "Logistik",
    "Lebensmittel",
    "Medizintechnik",
    "Bauwesen",
    "Energie",
    "Finanzdienstleistungen",
)


class AccountInput(InputModel):
    name: str = Field(min_length=2, max_length=200)
    external_id: str | None = Field(default=None, max_length=64)
    legal_form: Literal[LEGAL_FORMS] | None = None  # type: ignore[valid-type]
    industry: str | None = Field(default=None, max_length=100)
    revenue_class: Literal[REVENUE_CLASSES] | None = None  # type: ignore[valid-type]
    employees: int | None = Field(default=None, ge=0)
    website: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=100)
    country: str = "DE"
    owner_id: int | None = None
    notes: str | None = None

    _email = field_validator("email")(check_email)
    _phone = field_validator("phone")(check_phone)
    _country = field_validator("country")(check_country)

    @model_validator(mode="after")
    def _postcode_matches_country(self) -> AccountInput:
        check_postcode(self.postcode, self.country)
        return self


EDITABLE = tuple(AccountInput.model_fields)


@dataclass(frozen=True)
class AccountView:
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

    def form_values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in EDITABLE}


def _view(uow: UnitOfWork, account: Account) -> AccountView:
    session = uow.session
    owner = session.get(User, account.owner_id) if account.owner_id else None
    contacts = session.scalar(select(func.count()).where(Contact.account_id == account.id)) or 0
    values = {f.name: getattr(account, f.name, None) for f in dc_fields(AccountView)}
    values.update(owner_name=owner.display_name if owner else None, contact_count=contacts)
    return AccountView(**values)


def _load(uow: UnitOfWork, account_id: int) -> Account:
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Firma {account_id} gibt es nicht.")
    return account


def _check_references(uow: UnitOfWork, data: AccountInput, account_id: int | None = None) -> None:
    if data.owner_id is not None and uow.session.get(User, data.owner_id) is None:
        raise ValidationFailed({"owner_id": f"Benutzer {data.owner_id} gibt es nicht"})
    if data.external_id:
        clash = uow.session.scalar(
            select(Account.id).where(Account.external_id == data.external_id, Account.id != (account_id or 0))
        )
        if clash:
            raise ValidationFailed({"external_id": f"schon vergeben (Firma {clash})"})


def get_account(uow: UnitOfWork, account_id: int) -> AccountView:
    with uow:
        uow.authorize("accounts.read")
        return _view(uow, _load(uow, surviving_id(uow.session, ENTITY, account_id)))


def create_account(uow: UnitOfWork, values: Mapping[str, Any], *, reason: str | None = None) -> AccountView:
    data = parse(AccountInput, values)
    with uow:
        owner_id = data.owner_id if data.owner_id is not None else uow.actor.user_id
        data = data.model_copy(update={"owner_id": owner_id})
        uow.authorize("accounts.write", owner_id=owner_id, check_owner=True)
        _check_references(uow, data)
        keys = match_keys_for_account(data.model_dump())
        account = create_record(
            uow, Account(**data.model_dump(), **keys, version=1), entity=ENTITY, fields=EDITABLE, reason=reason
        )
        view = _view(uow, account)
        uow.commit()
        return view


def update_account(
    uow: UnitOfWork,
    account_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str | None = None,
) -> AccountView:
    with uow:
        account = _load(uow, account_id)
        uow.authorize("accounts.write", owner_id=account.owner_id, check_owner=True)
        merged = {f: getattr(account, f) for f in EDITABLE} | dict(values)
        data = parse(AccountInput, merged)
        if data.owner_id != account.owner_id:
            uow.authorize("accounts.write", owner_id=data.owner_id, check_owner=True)
        _check_references(uow, data, account_id)
        set_match_keys(account, match_keys_for_account(data.model_dump()))
        update_record(
            uow, account, data.model_dump(), entity=ENTITY, expected_version=expected_version, reason=reason
        )
        view = _view(uow, account)
        uow.commit()
        return view


def delete_account(uow: UnitOfWork, account_id: int, *, expected_version: int | None, reason: str | None = None) -> None:
    with uow:
        account = _load(uow, account_id)
        uow.authorize("accounts.delete")
        contacts = uow.session.scalar(select(func.count()).where(Contact.account_id == account_id)) or 0
        if contacts:
            raise Conflict(
                f"Firma „{account.name}“ hat noch {contacts} Kontakt(e). Bitte zuerst die Kontakte löschen oder umhängen."
            )
        delete_record(uow, account, entity=ENTITY, fields=EDITABLE, expected_version=expected_version, reason=reason)
        uow.commit()


LIST_COLUMNS = ("id", "name", "legal_form", "industry", "postcode", "city", "owner_name", "contacts", "updated_at")


def list_accounts(uow: UnitOfWork, query: ListQuery) -> Page:
    """Filters: industry, city, owner_id, legal_form; search over name, city, postcode."""
    with uow:
        uow.authorize("accounts.read")
        owner = aliased(User)
        contacts = (
            select(func.count()).where(Contact.account_id == Account.id).correlate(Account).scalar_subquery()
        )
        stmt = select(
            Account.id,
            Account.name,
            Account.legal_form,
            Account.industry,
            Account.postcode,
            Account.city,
            owner.display_name.label("owner_name"),
            contacts.label("contacts"),
            Account.updated_at,
            Account.version,
        ).outerjoin(owner, owner.id == Account.owner_id)
        conditions = equality_filters(Account, query.filters, ("industry", "city", "legal_form", "owner_id"))
        if query.search and query.search.strip():
            conditions.append(contains(uow.session, Account, query.search))
        stmt = stmt.where(*conditions)
        sortable = {
            "name": Account.name,
            "city": Account.city,
            "industry": Account.industry,
            "postcode": Account.postcode,
            "updated_at": Account.updated_at,
            "id": Account.id,
        }
        return fetch_page(
            uow.session,
            stmt,
            query,
            sortable=sortable,
            default_sort=Account.id,
            count_stmt=select(Account.id).where(*conditions),
        )


def account_options(
    uow: UnitOfWork, *, search: str = "", ids: Sequence[int] = (), limit: int = 50
) -> pd.DataFrame:
    """id/name/city for pickers, searched in SQL (a million accounts never reach the browser).

    With `ids`, exactly those accounts (e.g. the one a form currently points to).
    """
    with uow:
        uow.authorize("accounts.read")
        stmt = select(Account.id, Account.name, Account.city).order_by(Account.name, Account.id).limit(limit)
        if ids:
            stmt = stmt.where(Account.id.in_(list(ids)))
        elif search and search.strip():
            stmt = stmt.where(contains(uow.session, Account, search))
        return pd.DataFrame(uow.session.execute(stmt).mappings().all(), columns=["id", "name", "city"])
