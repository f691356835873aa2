"""Typed addresses of accounts and contacts, with one primary address per type and a validity period.

An account or a contact holds any number of addresses of the types Rechnungsadresse, Lieferadresse,
Besuchsadresse and Postanschrift. Per owner and type at most one current address is primary; marking
another one primary clears the previous one in the same transaction (both changes audited).
Retiring sets `valid_until` (the day from which the address no longer applies) and clears the flag.

Hauptanschrift: accounts and contacts keep their flat street/postcode/city/country fields, which
lists and searches show. They mirror the primary address of the owner's main type (account:
Besuchsadresse, contact: Postanschrift): whenever such an address becomes primary, or changes while
primary, the owner's flat fields are updated through `core.records.update_record` in the same unit
of work (audited, `crm.account.updated` / `crm.contact.updated`). Retiring the main address leaves
the flat fields as they are until another address of the main type becomes primary.

Audit entity "address". Contact addresses are the contact's personal data: their audit values are
encrypted with the contact's key (subject ("contact", id)), so a GDPR erasure shreds them too.
Permission: writing an address needs the owner record's write permission (a sales rep only for
records they own); reading needs its read permission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from typing import Any, Literal, NamedTuple

import pandas as pd
from pydantic import Field, field_validator, model_validator
from sqlalchemy import case, select

from core import audit
from core.errors import NotFound, ValidationFailed
from core.events import change_payload
from core.formatting import DISPLAY_TZ
from core.ledger import Verification
from core.records import update_record, values_of
from core.subject_keys import Subject
from core.uow import UnitOfWork
from core.validation import InputModel, check_country, check_postcode, field_error, parse
from db.models import Account, Address, Contact

ENTITY = "address"
OwnerKind = Literal["account", "contact"]
ADDRESS_TYPES: dict[str, str] = {
    "besuch": "Besuchsadresse",
    "rechnung": "Rechnungsadresse",
    "liefer": "Lieferadresse",
    "post": "Postanschrift",
}
# The address type whose primary address is the owner's Hauptanschrift (its flat fields).
MAIN_TYPE: dict[str, str] = {"account": "besuch", "contact": "post"}
_OWNER_MODELS: dict[str, type[Account] | type[Contact]] = {"account": Account, "contact": Contact}
_PERMISSION_PREFIX = {"account": "accounts", "contact": "contacts"}
_OWNER_LABEL = {"account": "Firma", "contact": "Kontakt"}


class Owner(NamedTuple):
    """The record an address belongs to: ("account", 7) or ("contact", 42)."""

    kind: OwnerKind
    id: int


class AddressInput(InputModel):
    type: Literal["besuch", "rechnung", "liefer", "post"]
    street: str = Field(min_length=2, max_length=150)
    house_number: str | None = Field(default=None, max_length=20)
    address_line2: str | None = Field(default=None, max_length=200)
    postcode: str = Field(min_length=3, max_length=10)
    city: str = Field(min_length=2, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    country: str = "DE"
    is_primary: bool = False
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    _country = field_validator("country")(check_country)

    @field_validator("street", "postcode", "city", mode="before")
    @classmethod
    def _required(cls, value: object) -> object:
        if value is None:
            raise ValueError("Pflichtfeld")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AddressInput:
        check_postcode(self.postcode, self.country)
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise field_error("valid_until", "liegt vor dem Beginn der Gültigkeit („Gültig ab“)")
        return self


EDITABLE = tuple(AddressInput.model_fields)


@dataclass(frozen=True)
class AddressView:
    id: int
    account_id: int | None
    contact_id: int | None
    type: str
    street: str | None
    house_number: str | None
    address_line2: str | None
    postcode: str | None
    city: str | None
    state: str | None
    country: str
    is_primary: bool
    valid_from: dt.date | None
    valid_until: dt.date | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def type_label(self) -> str:
        return ADDRESS_TYPES.get(self.type, self.type)

    @property
    def owner(self) -> Owner:
        return Owner("account", self.account_id) if self.account_id else Owner("contact", int(self.contact_id or 0))

    def retired_on(self, today: dt.date) -> bool:
        return is_retired(self.valid_until, today)

    def one_line(self) -> str:
        street = " ".join(p for p in (self.street, self.house_number) if p)
        place = " ".join(p for p in (self.postcode, self.city) if p)
        country = "" if self.country == "DE" else f", {self.country}"
        return ", ".join(p for p in (street, self.address_line2, place) if p) + country

    def form_values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in EDITABLE}


def is_retired(valid_until: dt.date | None, today: dt.date) -> bool:
    """`valid_until` is the day from which the address no longer applies."""
    return valid_until is not None and valid_until <= today


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar day in the suite's time zone (a retirement "as of today" means the German day)."""
    return moment.astimezone(DISPLAY_TZ).date()


def local_today(uow: UnitOfWork) -> dt.date:
    return local_date(uow.now)


def _view(address: Address) -> AddressView:
    return AddressView(**{f.name: getattr(address, f.name) for f in dc_fields(AddressView)})


def _subject(owner: Owner) -> Subject | None:
    return Subject("contact", str(owner.id)) if owner.kind == "contact" else None


def _owner_of(address: Address) -> Owner:
    if address.account_id is not None:
        return Owner("account", address.account_id)
    return Owner("contact", int(address.contact_id or 0))


def as_owner(value: Owner | tuple[str, int]) -> Owner:
    kind, record_id = value
    if kind not in _OWNER_MODELS:
        raise ValidationFailed({"owner": f"Adressen gibt es nur für Firmen und Kontakte, nicht für „{kind}“"})
    return Owner(kind, int(record_id))  # type: ignore[arg-type]


def _load_owner(uow: UnitOfWork, owner: Owner) -> Account | Contact:
    record = uow.session.get(_OWNER_MODELS[owner.kind], owner.id)
    if record is None:
        raise NotFound(f"{_OWNER_LABEL[owner.kind]} {owner.id} gibt es nicht.")
    return record


def _authorize_write(uow: UnitOfWork, owner: Owner, record: Account | Contact) -> None:
    uow.authorize(f"{_PERMISSION_PREFIX[owner.kind]}.write", owner_id=record.owner_id, check_owner=True)


def _load(uow: UnitOfWork, address_id: int) -> tuple[Address, Owner, Account | Contact]:
    address = uow.session.get(Address, address_id)
    if address is None:
        raise NotFound(f"Adresse {address_id} gibt es nicht.")
    owner = _owner_of(address)
    return address, owner, _load_owner(uow, owner)


def _check_primary_allowed(data: AddressInput, today: dt.date) -> None:
    if data.is_primary and is_retired(data.valid_until, today):
        raise ValidationFailed({"is_primary": "eine ausgelaufene Adresse kann nicht Hauptadresse sein"})


def _record_change(
    uow: UnitOfWork,
    address: Address,
    owner: Owner,
    changes: Sequence[audit.FieldChange],
    *,
    action: Literal["updated", "retired"],
    reason: str | None,
) -> None:
    address.updated_at = uow.now
    uow.session.flush()
    uow.audit(
        entity=ENTITY, entity_id=address.id, action=action, changes=changes, reason=reason, subject=_subject(owner)
    )
    uow.emit(
        f"crm.address.{action}",
        entity=ENTITY,
        entity_id=address.id,
        payload=change_payload({c.field: c.old for c in changes}, {c.field: c.new for c in changes})
        | {"version": address.version, "owner": {"type": owner.kind, "id": owner.id}},
    )


def _clear_other_primaries(uow: UnitOfWork, address: Address, owner: Owner) -> None:
    """The previous primary address of this owner and type stops being primary (audited)."""
    owner_column = Address.account_id if owner.kind == "account" else Address.contact_id
    others = uow.session.scalars(
        select(Address).where(
            owner_column == owner.id,
            Address.type == address.type,
            Address.is_primary.is_(True),
            Address.id != address.id,
        )
    ).all()
    for other in others:
        changes = audit.apply_changes(other, {"is_primary": False})
        reason = f"{ADDRESS_TYPES[address.type]}: Hauptadresse ist jetzt Adresse {address.id}"
        _record_change(uow, other, owner, changes, action="updated", reason=reason)


def _set_primary_flags(uow: UnitOfWork, owner: Owner, ids: Sequence[int], primary: bool, reason: str) -> None:
    rows = uow.session.scalars(
        select(Address).where(Address.id.in_(list(ids))).execution_options(populate_existing=True)
    ).all()
    for address in rows:
        changes = audit.apply_changes(address, {"is_primary": primary})
        if changes:
            _record_change(uow, address, owner, changes, action="updated", reason=reason)


def demote_moved_primaries(uow: UnitOfWork, owner: Owner, moved_ids: Sequence[int], reason: str) -> list[int]:
    """After a merge moved addresses to `owner`, keep one primary per type: the owner's own.

    Returns the ids that stopped being primary, so undoing the merge can restore them.
    """
    owner_column = Address.account_id if owner.kind == "account" else Address.contact_id
    primaries = uow.session.scalars(
        select(Address)
        .where(owner_column == owner.id, Address.is_primary.is_(True))
        .execution_options(populate_existing=True)
    ).all()
    moved = set(moved_ids)
    own_types = {a.type for a in primaries if a.id not in moved}
    demoted = [a.id for a in primaries if a.id in moved and a.type in own_types]
    _set_primary_flags(uow, owner, demoted, False, reason)
    return demoted


def restore_primaries(uow: UnitOfWork, owner: Owner, ids: Sequence[int], reason: str) -> None:
    """Undo of `demote_moved_primaries` once the addresses are back with their first owner."""
    _set_primary_flags(uow, owner, ids, True, reason)


def _sync_main_address(
    uow: UnitOfWork, address: Address, owner: Owner, record: Account | Contact, reason: str | None
) -> None:
    """Copy the primary address of the main type into the owner's flat Hauptanschrift fields."""
    if address.type != MAIN_TYPE[owner.kind] or not address.is_primary:
        return
    values: dict[str, Any] = {"postcode": address.postcode, "city": address.city, "country": address.country}
    if owner.kind == "account":
        values["street"] = " ".join(p for p in (address.street, address.house_number) if p) or None
    update_record(
        uow,
        record,
        values,
        entity=owner.kind,
        expected_version=None,
        subject_type="contact" if owner.kind == "contact" else None,
        reason=reason or f"Hauptanschrift aus {ADDRESS_TYPES[address.type]} (Adresse {address.id}) übernommen",
    )


def list_addresses(
    uow: UnitOfWork, *, owner: Owner | tuple[str, int], include_retired: bool = False
) -> list[AddressView]:
    """The owner's addresses: main type first, primary before others; retired ones only on request."""
    owner = as_owner(owner)
    with uow:
        uow.authorize(f"{_PERMISSION_PREFIX[owner.kind]}.read")
        _load_owner(uow, owner)
        owner_column = Address.account_id if owner.kind == "account" else Address.contact_id
        type_order = case(
            {code: i for i, code in enumerate(ADDRESS_TYPES)}, value=Address.type, else_=len(ADDRESS_TYPES)
        )
        stmt = (
            select(Address).where(owner_column == owner.id).order_by(type_order, Address.is_primary.desc(), Address.id)
        )
        today = local_today(uow)
        views = [_view(a) for a in uow.session.scalars(stmt)]
        return [v for v in views if include_retired or not v.retired_on(today)]


def get_address(uow: UnitOfWork, address_id: int) -> AddressView:
    with uow:
        address, owner, _record = _load(uow, address_id)
        uow.authorize(f"{_PERMISSION_PREFIX[owner.kind]}.read")
        return _view(address)


def add_address(
    uow: UnitOfWork, *, owner: Owner | tuple[str, int], values: Mapping[str, Any], reason: str | None = None
) -> AddressView:
    owner = as_owner(owner)
    data = parse(AddressInput, values)
    with uow:
        record = _load_owner(uow, owner)
        _authorize_write(uow, owner, record)
        _check_primary_allowed(data, local_today(uow))
        owner_ids = {"account_id": owner.id} if owner.kind == "account" else {"contact_id": owner.id}
        address = Address(**data.model_dump(), **owner_ids, version=1, created_at=uow.now, updated_at=uow.now)
        uow.session.add(address)
        uow.session.flush()
        if address.is_primary:
            _clear_other_primaries(uow, address, owner)
        owner_field = next(iter(owner_ids))
        uow.audit(
            entity=ENTITY,
            entity_id=address.id,
            action="created",
            changes=audit.snapshot_changes(address, (owner_field, *EDITABLE)),
            reason=reason,
            subject=_subject(owner),
        )
        uow.emit(
            "crm.address.created",
            entity=ENTITY,
            entity_id=address.id,
            payload=change_payload(None, values_of(address, EDITABLE))
            | {"owner": {"type": owner.kind, "id": owner.id}},
        )
        _sync_main_address(uow, address, owner, record, reason)
        view = _view(address)
        uow.commit()
        return view


def update_address(
    uow: UnitOfWork,
    address_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    reason: str | None = None,
) -> AddressView:
    """Change fields of an address; with `is_primary` (or a type change of a primary address) the
    previous primary address of that type is cleared."""
    with uow:
        address, owner, record = _load(uow, address_id)
        _authorize_write(uow, owner, record)
        uow.check_version(address.version, expected_version)
        data = parse(AddressInput, {f: getattr(address, f) for f in EDITABLE} | dict(values))
        _check_primary_allowed(data, local_today(uow))
        changes = audit.apply_changes(address, data.model_dump())
        if changes:
            if address.is_primary:
                _clear_other_primaries(uow, address, owner)
            _record_change(uow, address, owner, changes, action="updated", reason=reason)
            _sync_main_address(uow, address, owner, record, reason)
        view = _view(address)
        uow.commit()
        return view


def mark_primary(
    uow: UnitOfWork, address_id: int, *, expected_version: int | None, reason: str | None = None
) -> AddressView:
    """Make this address the primary one of its type; the previous primary is cleared in the same transaction."""
    return update_address(uow, address_id, {"is_primary": True}, expected_version=expected_version, reason=reason)


def retire_address(
    uow: UnitOfWork,
    address_id: int,
    *,
    expected_version: int | None,
    valid_until: dt.date | None = None,
    reason: str | None = None,
) -> AddressView:
    """The address no longer applies from `valid_until` (default: today); it stops being primary."""
    with uow:
        address, owner, record = _load(uow, address_id)
        _authorize_write(uow, owner, record)
        uow.check_version(address.version, expected_version)
        today = local_today(uow)
        until = valid_until or today
        if is_retired(address.valid_until, today):
            raise ValidationFailed({"valid_until": "die Adresse ist bereits ausgelaufen"})
        if until > today:
            raise ValidationFailed(
                {"valid_until": "liegt in der Zukunft; ein künftiges Ende bitte beim Bearbeiten eintragen"}
            )
        if address.valid_from and until < address.valid_from:
            raise ValidationFailed({"valid_until": "liegt vor dem Beginn der Gültigkeit („Gültig ab“)"})
        changes = audit.apply_changes(address, {"valid_until": until, "is_primary": False})
        _record_change(uow, address, owner, changes, action="retired", reason=reason)
        view = _view(address)
        uow.commit()
        return view


# ------------------------------------------------------------------------------------- change log


@dataclass(frozen=True)
class ChangeLog:
    """The entries shown for an owner record and the verification of exactly those entries."""

    entries: pd.DataFrame
    verification: Verification


def change_log(
    uow: UnitOfWork,
    *,
    owner: Owner | tuple[str, int],
    field: str | None = None,
    actor_name: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1_000,
) -> ChangeLog:
    """Änderungsprotokoll of an account or contact including its addresses, newest first.

    Filters by field, user and time [since, until); the entries returned are re-hashed and their
    links to the neighbouring chain entries checked (`audit.verify_entries_shown`).
    """
    owner = as_owner(owner)
    with uow:
        uow.authorize(f"{_PERMISSION_PREFIX[owner.kind]}.read")
        owner_column = Address.account_id if owner.kind == "account" else Address.contact_id
        address_ids = list(uow.session.scalars(select(Address.id).where(owner_column == owner.id)))
        entries = audit.trail(
            uow.session,
            records={owner.kind: [owner.id], ENTITY: address_ids},
            field=field or None,
            actor_name=actor_name or None,
            since=since,
            until=until,
            limit=limit,
        )
        verification = audit.verify_entries_shown(uow.session, [int(i) for i in entries["id"]])
        return ChangeLog(entries, verification)
