"""Grant and withdraw consent, read a contact's consent state and the ledger history.

Every change is one ledger entry (core/consent/ledger.py) and one outbox event `crm.consent.*` in the
same transaction. Withdrawal always works (Art. 7(3): as easy as giving it), also for a restricted
contact; giving consent is refused while processing is restricted (Art. 18).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import events
from core.consent.gate import Decision, active_restrictions, check_channel, load_purpose, may_contact
from core.consent.ledger import EntryDraft, append
from core.consent.texts import current_text
from core.consent.vocabulary import CHANNELS, LEGAL_BASES, SOURCES
from core.errors import Conflict, NotFound, ValidationFailed
from core.listing import ListQuery, Page
from core.subject_keys import decrypt
from core.uow import UnitOfWork
from db.models import (
    ConsentEntry,
    ConsentPurpose,
    ConsentText,
    Contact,
    DoiRequest,
    PersonKey,
    ProcessingRestriction,
    SalesOrder,
)

# Sources a user or API key may name; the others are written only by the public links and the system.
RECORDED_SOURCES = frozenset({"webform", "import", "phone", "event", "sales", "api"})


@dataclass(frozen=True)
class EntryView:
    """One ledger entry with its personal proof decrypted ('[gelöscht]' after erasure)."""

    id: int
    occurred_at: dt.datetime
    contact_id: int
    channel: str
    purpose_id: int
    purpose_key: str
    action: str
    status: str
    legal_basis: str
    source: str
    text_id: int | None
    text_version: int | None
    text_sha256: str | None
    order_id: int | None
    doi_request_id: int | None
    doi_requested_at: dt.datetime | None
    doi_confirmed_at: dt.datetime | None
    valid_until: dt.datetime | None
    address: str | None
    ip: str | None
    user_agent: str | None
    evidence: str | None
    reason: str | None
    actor_name: str
    hash: str


def contact_address(contact: Contact, channel: str) -> str | None:
    """The address a consent for `channel` refers to (kept with the entry as proof)."""
    if channel == "email":
        return contact.email
    if channel == "sms":
        return contact.mobile
    if channel == "phone":
        return contact.phone or contact.mobile
    parts = [contact.postcode, contact.city]
    return " ".join(p for p in parts if p) or None


def load_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"Kontakt {contact_id} gibt es nicht (mehr).")
    return contact


def is_restricted(session: Session, contact_id: int, at: dt.datetime, kind: str = "restriction") -> bool:
    restricted = active_restrictions(kind, at).where(ProcessingRestriction.contact_id == contact_id)
    return bool(session.scalar(select(restricted.exists())))


def record_entry(uow: UnitOfWork, draft: EntryDraft, *, event: str, extra: Mapping[str, Any] | None = None) -> int:
    """Append `draft` to the ledger and emit `event` (inside the caller's transaction); returns the entry id."""
    entry = append(uow.session, draft, now=uow.now, actor=uow.actor)
    purpose_key = uow.session.scalar(select(ConsentPurpose.key).where(ConsentPurpose.id == draft.purpose_id))
    events.emit(
        uow.session,
        name=event,
        entity="contact",
        entity_id=draft.contact_id,
        payload={
            "entry_id": entry.id,
            "contact_id": draft.contact_id,
            "channel": draft.channel,
            "purpose": purpose_key,
            "status": entry.status,
            "legal_basis": draft.legal_basis,
            "source": draft.source,
            **(extra or {}),
        },
        now=uow.now,
        actor_id=uow.actor.user_id,
    )
    return entry.id


def grant_consent(
    uow: UnitOfWork,
    *,
    contact_id: int,
    channel: str,
    purpose: str | int,
    source: str,
    legal_basis: str = "consent",
    text_id: int | None = None,
    order_id: int | None = None,
    evidence: str | None = None,
    valid_until: dt.datetime | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> int:
    """Record a consent (or another legal basis) given outside the double opt-in; returns the entry id.

    Consent needs the text version agreed to (default: the newest German one) and the evidence (e.g. "Telefonat am 12.11., Gesprächsnotiz"), which
    § 7a UWG asks for phone advertising. E-mail and SMS advertising need consent or, for e-mail,
    existing-customer status under § 7(3) UWG with the order that justifies it.
    """
    _check_vocabulary(channel, legal_basis, source)
    if source not in RECORDED_SOURCES:
        raise ValidationFailed({"source": f"erlaubt: {', '.join(sorted(RECORDED_SOURCES))}"})
    evidence = (evidence or "").strip() or None
    with uow:
        uow.authorize("consent.write")
        session = uow.session
        contact = load_contact(session, contact_id)
        target = load_purpose(session, purpose)
        if not target.active:
            raise Conflict(f"Der Zweck „{target.name_de}“ ist deaktiviert; dafür wird keine Einwilligung erfasst.")
        if is_restricted(session, contact.id, uow.now):
            raise Conflict("Die Verarbeitung dieses Kontakts ist eingeschränkt (Art. 18 DSGVO); erst aufheben.")
        text = _basis_checks(session, contact, channel, target, legal_basis, source, text_id, order_id, evidence)
        if contact_address(contact, channel) is None:
            raise ValidationFailed({"channel": "Für diesen Kanal ist beim Kontakt keine Adresse hinterlegt."})
        if valid_until is not None and valid_until <= uow.now:
            raise ValidationFailed({"valid_until": "muss in der Zukunft liegen"})
        entry_id = record_entry(
            uow,
            EntryDraft(
                contact_id=contact.id,
                channel=channel,
                purpose_id=target.id,
                action="granted",
                legal_basis=legal_basis,
                source=source,
                text_id=text.id if text else None,
                text_sha256=text.sha256 if text else None,
                order_id=order_id,
                valid_until=valid_until,
                address=contact_address(contact, channel),
                ip=ip,
                user_agent=user_agent,
                evidence=evidence,
            ),
            event="crm.consent.granted",
        )
        uow.commit()
    return entry_id


def revoke_consent(
    uow: UnitOfWork,
    *,
    contact_id: int,
    channel: str,
    purpose: str | int,
    source: str,
    reason: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> int | None:
    """Withdraw consent for one channel × purpose; None when it was withdrawn already (nothing to record).

    A pending double opt-in for the same purpose is closed too, so its link no longer confirms.
    """
    check_channel(channel)
    _check_source(source)
    with uow:
        uow.authorize("consent.write")
        entry_id = revoke_in_transaction(
            uow, contact_id=contact_id, channel=channel, purpose=purpose, source=source, reason=reason,
            ip=ip, user_agent=user_agent,
        )
        uow.commit()
    return entry_id


def revoke_in_transaction(
    uow: UnitOfWork,
    *,
    contact_id: int,
    channel: str,
    purpose: str | int,
    source: str,
    reason: str | None,
    ip: str | None,
    user_agent: str | None,
) -> int | None:
    """`revoke_consent` inside a transaction the caller holds (unsubscribe link, preference centre)."""
    session = uow.session
    contact = load_contact(session, contact_id)
    target = load_purpose(session, purpose)
    latest = latest_entry(session, contact.id, channel, target.id)
    if latest is not None and latest.status == "revoked":
        return None
    for request in session.scalars(
        select(DoiRequest).where(
            DoiRequest.contact_id == contact.id,
            DoiRequest.purpose_id == target.id,
            DoiRequest.channel == channel,
            DoiRequest.status == "pending",
        )
    ):
        request.status = "withdrawn"
        request.closed_at = uow.now
    return record_entry(
        uow,
        EntryDraft(
            contact_id=contact.id,
            channel=channel,
            purpose_id=target.id,
            action="revoked",
            legal_basis=latest.legal_basis if latest is not None else "consent",
            source=source,
            address=contact_address(contact, channel),
            ip=ip,
            user_agent=user_agent,
            reason=(reason or "").strip() or None,
        ),
        event="crm.consent.revoked",
    )


def latest_entry(session: Session, contact_id: int, channel: str, purpose_id: int) -> ConsentEntry | None:
    return session.scalars(
        select(ConsentEntry)
        .where(
            ConsentEntry.contact_id == contact_id,
            ConsentEntry.channel == channel,
            ConsentEntry.purpose_id == purpose_id,
        )
        .order_by(ConsentEntry.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class CellView:
    """A contact's consent for one channel × purpose: the latest ledger entry (None: nothing recorded).

    `status` is what the gate reads at the time of the query: a grant past its `valid_until` is expired.
    """

    channel: str
    purpose_id: int
    purpose_key: str
    entry: EntryView | None
    status: str | None


def _effective_status(entry: EntryView | None, at: dt.datetime) -> str | None:
    if entry is None:
        return None
    if entry.status == "granted" and entry.valid_until is not None and entry.valid_until <= at:
        return "expired"
    return entry.status


def consent_matrix(uow: UnitOfWork, contact_id: int, *, include_inactive: bool = False) -> list[CellView]:
    """Channel × purpose state of one contact, derived from the ledger (latest entry per cell)."""
    with uow:
        uow.authorize("consent.read")
        session = uow.session
        load_contact(session, contact_id)
        stmt = select(ConsentPurpose).order_by(ConsentPurpose.position, ConsentPurpose.id)
        if not include_inactive:
            stmt = stmt.where(ConsentPurpose.active.is_(True))
        purposes = session.scalars(stmt).all()
        latest_ids = (
            select(func.max(ConsentEntry.id))
            .where(ConsentEntry.contact_id == contact_id)
            .group_by(ConsentEntry.channel, ConsentEntry.purpose_id)
        )
        latest = {(v.channel, v.purpose_id): v for v in load_entry_views(session, ConsentEntry.id.in_(latest_ids))}
        cells = []
        for p in purposes:
            for channel in CHANNELS:
                entry = latest.get((channel, p.id))
                cells.append(CellView(channel, p.id, p.key, entry, _effective_status(entry, uow.now)))
        return cells


HISTORY_FILTERS = ("contact_id", "channel", "purpose_id", "action", "source", "since", "until")


def consent_history(uow: UnitOfWork, query: ListQuery) -> Page:
    """Ledger entries newest first, personal proof decrypted. Filters: see HISTORY_FILTERS."""
    with uow:
        uow.authorize("consent.read")
        f = query.filters
        conditions: list[Any] = []
        for name in ("contact_id", "channel", "purpose_id", "action", "source"):
            if f.get(name) not in (None, "", []):
                conditions.append(getattr(ConsentEntry, name) == f[name])
        if f.get("since"):
            conditions.append(ConsentEntry.occurred_at >= f["since"])
        if f.get("until"):
            conditions.append(ConsentEntry.occurred_at < f["until"])
        session = uow.session
        total = session.scalar(select(func.count()).select_from(ConsentEntry).where(*conditions)) or 0
        page_size = max(1, min(query.page_size, 500))
        page = max(1, query.page)
        ids = session.scalars(
            select(ConsentEntry.id)
            .where(*conditions)
            .order_by(ConsentEntry.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        views = sorted(load_entry_views(session, ConsentEntry.id.in_(ids)), key=lambda v: -v.id) if ids else []
        frame = pd.DataFrame([v.__dict__ for v in views], columns=list(EntryView.__dataclass_fields__))
        return Page(frame, total, page, page_size)


def entries_after(
    uow: UnitOfWork, *, after_id: int | None, limit: int, contact_id: int | None = None
) -> tuple[list[EntryView], int | None]:
    """Ledger entries in id order after `after_id` (keyset paging: the ledger only grows, so pages never
    shift) and the id to continue after, None on the last page."""
    with uow:
        uow.authorize("consent.read")
        conditions: list[Any] = []
        if after_id is not None:
            conditions.append(ConsentEntry.id > after_id)
        if contact_id is not None:
            conditions.append(ConsentEntry.contact_id == contact_id)
        ids = uow.session.scalars(
            select(ConsentEntry.id).where(*conditions).order_by(ConsentEntry.id).limit(limit + 1)
        ).all()
        page = list(ids[:limit])
        views = sorted(load_entry_views(uow.session, ConsentEntry.id.in_(page)), key=lambda v: v.id) if page else []
        return views, (page[-1] if len(ids) > limit else None)


def contact_decision(
    uow: UnitOfWork, *, contact_id: int, channel: str, purpose: str | int, at: dt.datetime | None = None
) -> Decision:
    """The consent gate's answer for one contact as a read of its own (API, CLI): needs consent.read."""
    check_channel(channel)
    with uow:
        uow.authorize("consent.read")
        return may_contact(uow.session, contact_id, channel, purpose, at or uow.now)


def entry_views(uow: UnitOfWork, ids: Sequence[int]) -> list[EntryView]:
    with uow:
        uow.authorize("consent.read")
        return sorted(load_entry_views(uow.session, ConsentEntry.id.in_(list(ids))), key=lambda v: v.id)


def load_entry_views(session: Session, condition: Any) -> list[EntryView]:
    stmt = (
        select(ConsentEntry, ConsentPurpose.key, ConsentText.version, PersonKey.key)
        .join(ConsentPurpose, ConsentPurpose.id == ConsentEntry.purpose_id)
        .outerjoin(ConsentText, ConsentText.id == ConsentEntry.text_id)
        .outerjoin(PersonKey, PersonKey.id == ConsentEntry.subject_key_id)
        .where(condition)
    )
    views = []
    for e, purpose_key, text_version, key in session.execute(stmt):
        views.append(
            EntryView(
                id=e.id,
                occurred_at=e.occurred_at,
                contact_id=e.contact_id,
                channel=e.channel,
                purpose_id=e.purpose_id,
                purpose_key=purpose_key,
                action=e.action,
                status=e.status,
                legal_basis=e.legal_basis,
                source=e.source,
                text_id=e.text_id,
                text_version=text_version,
                text_sha256=e.text_sha256,
                order_id=e.order_id,
                doi_request_id=e.doi_request_id,
                doi_requested_at=e.doi_requested_at,
                doi_confirmed_at=e.doi_confirmed_at,
                valid_until=e.valid_until,
                address=decrypt(key, e.address),
                ip=decrypt(key, e.ip),
                user_agent=decrypt(key, e.user_agent),
                evidence=decrypt(key, e.evidence),
                reason=decrypt(key, e.reason),
                actor_name=e.actor_name,
                hash=e.hash,
            )
        )
    return views


def _check_vocabulary(channel: str, legal_basis: str, source: str) -> None:
    check_channel(channel)
    if legal_basis not in LEGAL_BASES:
        raise ValidationFailed({"legal_basis": f"unbekannte Rechtsgrundlage; erlaubt: {', '.join(LEGAL_BASES)}"})
    _check_source(source)


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValidationFailed({"source": f"unbekannte Quelle; erlaubt: {', '.join(SOURCES)}"})


def _basis_checks(
    session: Session,
    contact: Contact,
    channel: str,
    purpose: ConsentPurpose,
    legal_basis: str,
    source: str,
    text_id: int | None,
    order_id: int | None,
    evidence: str | None,
) -> ConsentText | None:
    """The legal rules per basis; returns the consent text (consent basis only)."""
    if legal_basis == "consent":
        if evidence is None:
            raise ValidationFailed({"evidence": "Nachweis angeben (z. B. unterschriebenes Formular, Gesprächsnotiz)"})
        text = session.get(ConsentText, text_id) if text_id is not None else current_text(session, purpose.id, "de")
        if text is None or text.purpose_id != purpose.id:
            raise ValidationFailed({"text_id": "Einwilligungstext gehört nicht zu diesem Zweck"})
        return text
    if purpose.tracking:
        raise ValidationFailed({"legal_basis": "Individuelles Tracking ist nur mit Einwilligung zulässig"})
    if legal_basis == "existing_customer":
        if channel != "email":
            raise ValidationFailed({"legal_basis": "§ 7 Abs. 3 UWG gilt nur für E-Mail-Werbung"})
        order = session.get(SalesOrder, order_id) if order_id is not None else None
        if order is None:
            raise ValidationFailed({"order_id": "Auftrag angeben, der die Bestandskundenbeziehung begründet"})
        if order.contact_id != contact.id and (contact.account_id is None or order.account_id != contact.account_id):
            raise ValidationFailed({"order_id": "Der Auftrag gehört nicht zu diesem Kontakt oder seiner Firma"})
        return None
    if channel in ("email", "sms"):
        raise ValidationFailed(
            {"legal_basis": "Werbung per E-Mail oder SMS braucht eine Einwilligung (§ 7 Abs. 2 UWG)"}
        )
    if channel == "phone":
        raise ValidationFailed(
            {"legal_basis": "Telefonwerbung braucht eine Einwilligung bzw. deren Nachweis (§ 7a UWG)"}
        )
    return None
