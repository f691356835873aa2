"""Art. 18 restriction and Art. 21 objection requests: set through the consent module's restrictions, so the
consent gate, the segment engine and edits all honour them at once (core/consent/restrictions.py)."""

from __future__ import annotations

from sqlalchemy import select

from core.consent.suppression import suppress_digests
from core.errors import Conflict, ValidationFailed
from core.gdpr.discovery import subject_ref
from core.gdpr.requests import (
    RequestView,
    close_request,
    load_request,
    request_view,
    require_identity,
    require_open,
    require_subject,
)
from core.uow import UnitOfWork
from db.models import GdprRequest, ProcessingRestriction


def _active(uow: UnitOfWork, contact_id: int, kind: str) -> bool:
    return (
        uow.session.scalar(
            select(ProcessingRestriction.id).where(
                ProcessingRestriction.contact_id == contact_id,
                ProcessingRestriction.kind == kind,
                ProcessingRestriction.lifted_at.is_(None),
            )
        )
        is not None
    )


def _restrict_contacts(uow: UnitOfWork, row: GdprRequest, kind: str, reason: str) -> int:
    added = 0
    for contact_id in row.subject_ids.get("contacts", []):
        if _active(uow, contact_id, kind):
            continue
        uow.session.add(
            ProcessingRestriction(
                contact_id=contact_id,
                kind=kind,
                reason=reason,
                started_at=uow.now,
                created_by=uow.actor.name,
            )
        )
        uow.audit(entity="contact", entity_id=contact_id, action=kind, reason=f"DSGVO-Anfrage {row.id}")
        added += 1
    uow.session.flush()
    return added


def _checked_request(uow: UnitOfWork, request_id: int, expected_type: str) -> GdprRequest:
    row = load_request(uow, request_id)
    require_open(row)
    if row.type != expected_type:
        raise Conflict(f"Anfrage {row.id} ist vom Typ „{row.type}“, nicht „{expected_type}“.")
    require_identity(row)
    require_subject(row)
    return row


def apply_restriction(uow: UnitOfWork, request_id: int, *, reason: str) -> RequestView:
    """Art. 18: the person's data stays stored but is excluded from campaigns, journeys, segments and edits
    until the restriction is lifted (with a reason) on the consent page."""
    if not reason.strip():
        raise ValidationFailed({"reason": "Grund der Einschränkung angeben (Art. 18 Abs. 1 lit. a–d)"})
    with uow:
        uow.authorize("gdpr.manage")
        row = _checked_request(uow, request_id, "restriction")
        added = _restrict_contacts(uow, row, "restriction", reason.strip())
        uow.emit(
            "crm.gdpr.restricted",
            entity="gdpr_request",
            entity_id=row.id,
            payload={"contacts": row.subject_ids.get("contacts", []), "added": added},
        )
        close_request(
            uow, row, outcome=f"Verarbeitung eingeschränkt für {len(row.subject_ids.get('contacts', []))} Kontakt(e)"
        )
        view = request_view(uow.session, row)
        uow.commit()
    return view


def apply_objection(uow: UnitOfWork, request_id: int) -> RequestView:
    """Art. 21(2)/(3): an objection to direct marketing stops every marketing channel at once and for good —
    the objection on the contact, and the addresses on the suppression list so a re-import cannot undo it."""
    with uow:
        uow.authorize("gdpr.manage")
        row = _checked_request(uow, request_id, "objection")
        added = _restrict_contacts(uow, row, "objection", f"Werbewiderspruch, DSGVO-Anfrage {row.id}")
        subject = subject_ref(uow.session, row.subject_ids.get("contacts", []), row.subject_ids.get("accounts", []))
        digests = [("email", d) for d in subject.email_digests] + [("phone", d) for d in subject.phone_digests]
        blocked = (
            suppress_digests(
                uow.session,
                digests,
                reason="objection",
                note=f"DSGVO-Anfrage {row.id}",
                now=uow.now,
                actor_name=uow.actor.name,
            ).added
            if digests
            else 0
        )
        uow.emit(
            "crm.gdpr.objected",
            entity="gdpr_request",
            entity_id=row.id,
            payload={"contacts": row.subject_ids.get("contacts", []), "added": added, "suppressed": blocked},
        )
        close_request(
            uow, row, outcome=f"Werbewiderspruch umgesetzt: alle Werbekanäle gesperrt, {blocked} Adresse(n) gesperrt"
        )
        view = request_view(uow.session, row)
        uow.commit()
    return view
