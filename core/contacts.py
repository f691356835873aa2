"""Contacts (people): list, read, create, update, delete — permission-checked and audited.

Contact fields are personal data: their audit values are encrypted with the contact's key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select

from core.search import contains
from sqlalchemy.orm import aliased

from core.dedupe.keys import match_keys_for_contact, set_match_keys
from core.errors import Conflict, NotFound, ValidationFailed
from core.listing import ListQuery, Page, equality_filters, fetch_page
from core.merge import surviving_id
from core.records import create_record, delete_record, update_record
from core.uow import UnitOfWork
from core.validation import InputModel, check_country, check_email, check_phone, check_postcode, parse
from db.models import Account, Contact, ProcessingRestriction, User

ENTITY = "contact"
SALUTATIONS = ("Herr", "Frau", "Divers")


class ContactInput(InputModel):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    salutation: Literal[SALUTATIONS] | None = None  # type: ignore[valid-type]
    title: str | None = Field(default=None, max_length=40)
    account_id: int | None = None
    external_id: str | None = Field(default=None, max_length=64)
    job_title: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    mobile: str | None = Field(default=None, max_length=40)
    birth_date: dt.date | None = None
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=100)
    country: str = "DE"
    owner_id: int | None = None

    _email = field_validator("email")(check_email)
    _phone = field_validator("phone", "mobile")(check_phone)
    _country = field_validator("country")(check_country)

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value > dt.date.today():
            raise ValueError("liegt in der Zukunft")
        return value

    @model_validator(mode="after")
    def _postcode_matches_country(self) -> ContactInput:
        check_postcode(self.postcode, self.country)
        return self


EDITABLE = tuple(ContactInput.model_fields)


@dataclass(frozen=True)
class ContactView:
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

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)

    def form_values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in EDITABLE}


def _view(uow: UnitOfWork, contact: Contact) -> ContactView:
    session = uow.session
    owner = session.get(User, contact.owner_id) if contact.owner_id else None
    account = session.get(Account, contact.account_id) if contact.account_id else None
    values = {f.name: getattr(contact, f.name, None) for f in dc_fields(ContactView)}
    values.update(owner_name=owner.display_name if owner else None, account_name=account.name if account else None)
    return ContactView(**values)


def _load(uow: UnitOfWork, contact_id: int) -> Contact:
    contact = uow.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"Kontakt {contact_id} gibt es nicht.")
    return contact


def _refuse_if_restricted(uow: UnitOfWork, contact_id: int) -> None:
    """Art. 18: a restricted person's data is only stored — no edits until the restriction is lifted."""
    since = uow.session.scalar(
        select(ProcessingRestriction.started_at).where(
            ProcessingRestriction.contact_id == contact_id,
            ProcessingRestriction.kind == "restriction",
            ProcessingRestriction.lifted_at.is_(None),
        )
    )
    if since is not None:
        raise Conflict(
            f"Die Verarbeitung dieses Kontakts ist seit {since:%d.%m.%Y} eingeschränkt (Art. 18 DSGVO): Änderungen sind "
            "erst nach Aufhebung der Einschränkung möglich (Seite Einwilligungen)."
        )


def _check_references(uow: UnitOfWork, data: ContactInput, contact_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    if data.owner_id is not None and uow.session.get(User, data.owner_id) is None:
        errors["owner_id"] = f"Benutzer {data.owner_id} gibt es nicht"
    if data.account_id is not None and uow.session.get(Account, data.account_id) is None:
        errors["account_id"] = f"Firma {data.account_id} gibt es nicht"
    if data.external_id:
        clash = uow.session.scalar(
            select(Contact.id).where(Contact.external_id == data.external_id, Contact.id != (contact_id or 0))
        )
        if clash:
            errors["external_id"] = f"schon vergeben (Kontakt {clash})"
    if errors:
        raise ValidationFailed(errors)


def get_contact(uow: UnitOfWork, contact_id: int) -> ContactView:
    with uow:
        uow.authorize("contacts.read")
        return _view(uow, _load(uow, surviving_id(uow.session, ENTITY, contact_id)))


def create_contact(uow: UnitOfWork, values: Mapping[str, Any], *, reason: str | None = None) -> ContactView:
    data = parse(ContactInput, values)
    with uow:
        owner_id = data.owner_id if data.owner_id is not None else uow.actor.user_id
        data = data.model_copy(update={"owner_id": owner_id})
        uow.authorize("contacts.write", owner_id=owner_id, check_owner=True)
        _check_references(uow, data)
        contact = create_record(
            uow,
            Contact(**data.model_dump(), **match_keys_for_contact(data.model_dump()), version=1),
            entity=ENTITY,
            fields=EDITABLE,
            subject_type=ENTITY,
            reason=reason,
        )
        view = _view(uow, contact)
        uow.commit()
        return view


def update_contact(
    uow: UnitOfWork,
    contact_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str | None = None,
) -> ContactView:
    with uow:
        contact = _load(uow, contact_id)
        uow.authorize("contacts.write", owner_id=contact.owner_id, check_owner=True)
        _refuse_if_restricted(uow, contact_id)
        data = parse(ContactInput, {f: getattr(contact, f) for f in EDITABLE} | dict(values))
        if data.owner_id != contact.owner_id:
            uow.authorize("contacts.write", owner_id=data.owner_id, check_owner=True)
        _check_references(uow, data, contact_id)
        set_match_keys(contact, match_keys_for_contact(data.model_dump()))
        update_record(
            uow,
            contact,
            data.model_dump(),
            entity=ENTITY,
            expected_version=expected_version,
            subject_type=ENTITY,
            reason=reason,
        )
        view = _view(uow, contact)
        uow.commit()
        return view


def delete_contact(uow: UnitOfWork, contact_id: int, *, expected_version: int | None, reason: str | None = None) -> None:
    with uow:
        contact = _load(uow, contact_id)
        uow.authorize("contacts.delete")
        _refuse_if_restricted(uow, contact_id)
        delete_record(
            uow,
            contact,
            entity=ENTITY,
            fields=EDITABLE,
            expected_version=expected_version,
            subject_type=ENTITY,
            reason=reason,
        )
        uow.commit()


def list_contacts(uow: UnitOfWork, query: ListQuery) -> Page:
    """Filters: account_id, owner_id, city; search over name, e-mail and company."""
    with uow:
        uow.authorize("contacts.read")
        owner = aliased(User)
        stmt = (
            select(
                Contact.id,
                Contact.first_name,
                Contact.last_name,
                Contact.job_title,
                Contact.email,
                Contact.phone,
                Account.name.label("account_name"),
                Contact.city,
                owner.display_name.label("owner_name"),
                Contact.updated_at,
                Contact.account_id,
                Contact.version,
            )
            .outerjoin(Account, Account.id == Contact.account_id)
            .outerjoin(owner, owner.id == Contact.owner_id)
        )
        conditions = equality_filters(Contact, query.filters, ("account_id", "owner_id", "city"))
        if query.search and query.search.strip():
            conditions.append(contains(uow.session, Contact, query.search, via=[(Contact.account_id, Account)]))
        stmt = stmt.where(*conditions)
        sortable = {
            "last_name": Contact.last_name,
            "first_name": Contact.first_name,
            "email": Contact.email,
            "account_name": Account.name,
            "city": Contact.city,
            "updated_at": Contact.updated_at,
            "id": Contact.id,
        }
        return fetch_page(
            uow.session, stmt, query, sortable=sortable, default_sort=Contact.id, count_stmt=select(Contact.id).where(*conditions)
        )
