"""Restriction of processing (Art. 18) and objection to direct marketing (Art. 21) per contact.

While a restriction is active the gate refuses every channel and purpose, and no consent is recorded;
an objection refuses every marketing purpose on every channel at once. Both are lifted only with a
reason (a restriction when its ground ends; an objection only when the person asks for it), audited.
The GDPR request workflow (issue #6) sets them through these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from core.consent.vocabulary import RESTRICTION_KINDS
from core.errors import Conflict, NotFound, ValidationFailed
from core.uow import UnitOfWork
from db.models import Contact, ProcessingRestriction


@dataclass(frozen=True)
class RestrictionView:
    id: int
    contact_id: int
    kind: str
    reason: str | None
    started_at: dt.datetime
    lifted_at: dt.datetime | None
    lifted_reason: str | None
    created_by: str

    @property
    def active(self) -> bool:
        return self.lifted_at is None


def _view(r: ProcessingRestriction) -> RestrictionView:
    return RestrictionView(r.id, r.contact_id, r.kind, r.reason, r.started_at, r.lifted_at, r.lifted_reason, r.created_by)


def add_restriction(uow: UnitOfWork, *, contact_id: int, kind: str, reason: str) -> RestrictionView:
    if kind not in RESTRICTION_KINDS:
        raise ValidationFailed({"kind": f"erlaubt: {', '.join(RESTRICTION_KINDS)}"})
    if not reason.strip():
        raise ValidationFailed({"reason": "Begründung angeben (z. B. Anfrage vom …)"})
    with uow:
        uow.authorize("consent.write")
        if uow.session.get(Contact, contact_id) is None:
            raise NotFound(f"Kontakt {contact_id} gibt es nicht.")
        active = uow.session.scalar(
            select(ProcessingRestriction.id).where(
                ProcessingRestriction.contact_id == contact_id,
                ProcessingRestriction.kind == kind,
                ProcessingRestriction.lifted_at.is_(None),
            )
        )
        if active is not None:
            raise Conflict("Für diesen Kontakt ist das bereits vermerkt.")
        row = ProcessingRestriction(
            contact_id=contact_id, kind=kind, reason=reason.strip(), started_at=uow.now, created_by=uow.actor.name
        )
        uow.session.add(row)
        uow.session.flush()
        uow.audit(entity="contact", entity_id=contact_id, action=kind, reason=reason.strip())
        view = _view(row)
        uow.commit()
    return view


def lift_restriction(uow: UnitOfWork, restriction_id: int, *, reason: str) -> RestrictionView:
    if not reason.strip():
        raise ValidationFailed({"reason": "Begründung angeben"})
    with uow:
        uow.authorize("consent.configure")
        row = uow.session.get(ProcessingRestriction, restriction_id)
        if row is None:
            raise NotFound(f"Eintrag {restriction_id} gibt es nicht.")
        if row.lifted_at is not None:
            raise Conflict("Bereits aufgehoben.")
        row.lifted_at = uow.now
        row.lifted_reason = reason.strip()
        uow.audit(entity="contact", entity_id=row.contact_id, action=f"{row.kind}_lifted", reason=reason.strip())
        view = _view(row)
        uow.commit()
    return view


def restrictions_of(uow: UnitOfWork, contact_id: int) -> list[RestrictionView]:
    with uow:
        uow.authorize("consent.read")
        rows = uow.session.scalars(
            select(ProcessingRestriction)
            .where(ProcessingRestriction.contact_id == contact_id)
            .order_by(ProcessingRestriction.id.desc())
        )
        return [_view(r) for r in rows]
