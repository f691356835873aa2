"""Contacts in a deal with their role (Entscheider, Einkauf, ...), one of them primary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from core.audit import FieldChange
from core.errors import NotFound, ValidationFailed
from core.records import create_record, delete_record
from core.sales.opportunities import load_opportunity
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import Contact, OpportunityContact

ENTITY = "opportunity_contact"
ROLES = ("Entscheider", "Einkauf", "Fachbereich", "Technik", "Anwender", "Beeinflusser", "Sonstige")
FIELDS = ("opportunity_id", "contact_id", "role", "is_primary")


class ContactRoleInput(InputModel):
    contact_id: int
    role: Literal[ROLES]  # type: ignore[valid-type]
    is_primary: bool = False


@dataclass(frozen=True)
class ContactRoleView:
    id: int
    contact_id: int
    contact_name: str
    email: str | None
    role: str
    is_primary: bool


def contact_roles(uow: UnitOfWork, opportunity_id: int) -> list[ContactRoleView]:
    with uow:
        uow.authorize("opportunities.read")
        return _roles(uow, opportunity_id)


def _roles(uow: UnitOfWork, opportunity_id: int) -> list[ContactRoleView]:
    stmt = (
        select(OpportunityContact, Contact.first_name, Contact.last_name, Contact.email)
        .join(Contact, Contact.id == OpportunityContact.contact_id)
        .where(OpportunityContact.opportunity_id == opportunity_id)
        .order_by(OpportunityContact.is_primary.desc(), Contact.last_name, OpportunityContact.id)
    )
    return [
        ContactRoleView(role.id, role.contact_id, f"{first} {last}", email, role.role, role.is_primary)
        for role, first, last, email in uow.session.execute(stmt)
    ]


def add_contact_role(
    uow: UnitOfWork, opportunity_id: int, *, contact_id: int, role: str, is_primary: bool = False
) -> list[ContactRoleView]:
    """Add a contact with a role; a new primary contact replaces the previous one (audited)."""
    data = parse(ContactRoleInput, {"contact_id": contact_id, "role": role, "is_primary": is_primary})
    with uow:
        opp = load_opportunity(uow, opportunity_id)
        uow.authorize("opportunities.write", owner_id=opp.owner_id, check_owner=True)
        if uow.session.get(Contact, data.contact_id) is None:
            raise ValidationFailed({"contact_id": f"Kontakt {data.contact_id} gibt es nicht"})
        taken = uow.session.scalar(
            select(OpportunityContact.id).where(
                OpportunityContact.opportunity_id == opp.id, OpportunityContact.contact_id == data.contact_id
            )
        )
        if taken:
            raise ValidationFailed({"contact_id": "Dieser Kontakt ist schon an der Verkaufschance beteiligt"})
        if data.is_primary:
            _clear_primary(uow, opp.id)
        create_record(
            uow,
            OpportunityContact(opportunity_id=opp.id, **data.model_dump(), version=1),
            entity=ENTITY,
            fields=FIELDS,
        )
        roles = _roles(uow, opp.id)
        uow.commit()
        return roles


def _clear_primary(uow: UnitOfWork, opportunity_id: int) -> None:
    current = uow.session.scalars(
        select(OpportunityContact).where(
            OpportunityContact.opportunity_id == opportunity_id, OpportunityContact.is_primary.is_(True)
        )
    ).all()
    for row in current:
        row.is_primary = False
        row.updated_at = uow.now
        uow.audit(
            entity=ENTITY,
            entity_id=row.id,
            action="updated",
            changes=[FieldChange("is_primary", True, False)],
        )
        uow.emit(
            "crm.opportunity_contact.updated",
            entity=ENTITY,
            entity_id=row.id,
            payload={"before": {"is_primary": True}, "after": {"is_primary": False}},
        )


def remove_contact_role(uow: UnitOfWork, role_id: int) -> list[ContactRoleView]:
    with uow:
        row = uow.session.get(OpportunityContact, role_id)
        if row is None:
            raise NotFound(f"Kontaktrolle {role_id} gibt es nicht.")
        opp = load_opportunity(uow, row.opportunity_id)
        uow.authorize("opportunities.write", owner_id=opp.owner_id, check_owner=True)
        delete_record(uow, row, entity=ENTITY, fields=FIELDS, expected_version=None)
        roles = _roles(uow, opp.id)
        uow.commit()
        return roles

