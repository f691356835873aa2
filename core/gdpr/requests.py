"""Data-subject requests: intake, identity check, deadlines, extension, assignment, closing — every step
in the hash-chained request log (chain "gdpr", `python manage.py gdpr verify`).

The requester's identifiers are encrypted with the request's own key (subject ("gdpr_request", id)), so
the request itself stays provable after the person's data is erased.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import ledger
from core.app_settings import read_setting
from core.digests import email_digest, phone_digest
from core.errors import Conflict, NotFound, ValidationFailed
from core.gdpr import deadlines
from core.gdpr.vocabulary import (
    CHANNELS,
    CLOSED_STATUSES,
    IDENTITY_METHODS,
    IDENTITY_RESULTS,
    OPEN_STATUSES,
    REQUEST_TYPES,
    STATUSES,
)
from core.subject_keys import Subject, decrypt, encrypt, key_for
from core.uow import UnitOfWork
from db.models import GdprLogEntry, GdprRequest, LedgerHead, PersonKey, User

CHAIN = "gdpr"
HOLIDAY_STATE_SETTING = "gdpr.holiday_state"
ENCRYPTED_FIELDS = ("requester_name", "requester_email", "requester_phone", "description", "identity_note")


def request_subject(request_id: int) -> Subject:
    return Subject("gdpr_request", str(request_id))


# --- the request log -------------------------------------------------------------------------------


def _log_payload(entry: GdprLogEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "request_id": entry.request_id,
        "occurred_at": entry.occurred_at,
        "action": entry.action,
        "details": entry.details,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
    }


def log_step(uow: UnitOfWork, request_id: int, action: str, **details: Any) -> GdprLogEntry:
    """Append one step to the request log, in the caller's transaction. `details` must not be personal."""
    session = uow.session
    head = ledger.lock_head(session, CHAIN)
    entry = GdprLogEntry(
        id=head.last_id + 1,
        request_id=request_id,
        occurred_at=uow.now,
        action=action,
        details=details,
        actor_id=uow.actor.user_id,
        actor_name=uow.actor.name,
        prev_hash=head.last_hash,
        hash="",
    )
    entry.hash = ledger.chain_hash(entry.prev_hash, _log_payload(entry))
    session.add(entry)
    session.flush()
    ledger.advance_head(head, entry.id, entry.hash)
    return entry


def verify_log(session: Session) -> ledger.Verification:
    rows = session.scalars(select(GdprLogEntry).order_by(GdprLogEntry.id)).yield_per(2_000)
    entries = (ledger.ChainEntry(r.id, _log_payload(r), r.prev_hash, r.hash) for r in rows)
    return ledger.verify_entries(entries, session.get(LedgerHead, CHAIN))


def check_log(uow: UnitOfWork) -> ledger.Verification:
    """The request log's hash chain, walked in full ("Kette prüfen")."""
    with uow:
        uow.authorize("gdpr.read")
        return verify_log(uow.session)


# --- views -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    id: int
    type: str
    status: str
    channel: str
    received_at: dt.datetime
    due_on: dt.date
    original_due_on: dt.date
    extended: bool
    extension_reason: str | None
    requester_name: str | None
    requester_email: str | None
    requester_phone: str | None
    description: str | None
    subject_ids: dict[str, list[int]]
    identity_method: str | None
    identity_result: str | None
    identity_note: str | None
    identity_checked_by: str | None
    identity_checked_at: dt.datetime | None
    assignee_id: int | None
    assignee_name: str | None
    outcome: str | None
    rejection_reason: str | None
    closed_at: dt.datetime | None
    created_by: str
    version: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def identity_confirmed(self) -> bool:
        return self.identity_result == "confirmed"

    @property
    def contact_ids(self) -> list[int]:
        return list(self.subject_ids.get("contacts", []))

    @property
    def account_ids(self) -> list[int]:
        return list(self.subject_ids.get("accounts", []))

    def light(self, today: dt.date) -> str:
        return deadlines.traffic_light(self.due_on, today) if self.is_open else "closed"


@dataclass(frozen=True)
class LogView:
    id: int
    occurred_at: dt.datetime
    action: str
    details: dict[str, Any]
    actor_name: str


def _key_material(session: Session, request_id: int) -> bytes | None:
    return session.scalar(
        select(PersonKey.key).where(PersonKey.subject_type == "gdpr_request", PersonKey.subject_id == str(request_id))
    )


def request_view(session: Session, row: GdprRequest) -> RequestView:
    key = _key_material(session, row.id)
    plain = {name: decrypt(key, getattr(row, name)) for name in ENCRYPTED_FIELDS}
    assignee = session.get(User, row.assignee_id) if row.assignee_id else None
    return RequestView(
        id=row.id,
        type=row.type,
        status=row.status,
        channel=row.channel,
        received_at=row.received_at,
        due_on=row.extended_due_on or row.due_on,
        original_due_on=row.due_on,
        extended=row.extended_due_on is not None,
        extension_reason=row.extension_reason,
        subject_ids=dict(row.subject_ids or {}),
        identity_method=row.identity_method,
        identity_result=row.identity_result,
        identity_checked_by=row.identity_checked_by,
        identity_checked_at=row.identity_checked_at,
        assignee_id=row.assignee_id,
        assignee_name=assignee.display_name if assignee else None,
        outcome=row.outcome,
        rejection_reason=row.rejection_reason,
        closed_at=row.closed_at,
        created_by=row.created_by,
        version=row.version,
        **plain,
    )


def load_request(uow: UnitOfWork, request_id: int) -> GdprRequest:
    row = uow.session.get(GdprRequest, request_id)
    if row is None:
        raise NotFound(f"Anfrage {request_id} gibt es nicht.")
    return row


def require_open(row: GdprRequest) -> None:
    if row.status in CLOSED_STATUSES:
        raise Conflict(f"Anfrage {row.id} ist bereits {STATUSES[row.status][0].lower()}.")


def holiday_state(session: Session) -> str | None:
    return read_setting(session, HOLIDAY_STATE_SETTING, None)


# --- intake ----------------------------------------------------------------------------------------


def receive_request(
    uow: UnitOfWork,
    *,
    type: str,
    channel: str,
    requester_name: str | None = None,
    requester_email: str | None = None,
    requester_phone: str | None = None,
    description: str | None = None,
    received_at: dt.datetime | None = None,
    assignee_id: int | None = None,
) -> RequestView:
    """Record a request as it arrives; the one-month deadline starts the day after `received_at`."""
    errors: dict[str, str] = {}
    if type not in REQUEST_TYPES:
        errors["type"] = f"unbekannte Art; erlaubt: {', '.join(REQUEST_TYPES)}"
    if channel not in CHANNELS:
        errors["channel"] = f"unbekannter Eingangsweg; erlaubt: {', '.join(CHANNELS)}"
    name, email, phone = (
        v.strip() if v and v.strip() else None for v in (requester_name, requester_email, requester_phone)
    )
    if not (name or email or phone):
        errors["requester"] = "Name, E-Mail-Adresse oder Telefonnummer der anfragenden Person angeben"
    if email and email_digest(email) is None:
        errors["requester_email"] = "keine gültige E-Mail-Adresse"
    if phone and phone_digest(phone) is None:
        errors["requester_phone"] = "keine gültige Telefonnummer"
    if errors:
        raise ValidationFailed(errors)
    with uow:
        uow.authorize("gdpr.manage")
        received = received_at or uow.now
        if received.tzinfo is None:
            raise ValidationFailed({"received_at": "Zeitpunkt mit Zeitzone angeben"})
        if received > uow.now + dt.timedelta(minutes=5):
            raise ValidationFailed({"received_at": "liegt in der Zukunft"})
        row = GdprRequest(
            type=type,
            status="received",
            channel=channel,
            received_at=received,
            due_on=deadlines.due_date(received, state=holiday_state(uow.session)),
            email_digest=email_digest(email),
            phone_digest=phone_digest(phone),
            subject_ids={},
            assignee_id=assignee_id,
            created_by=uow.actor.name,
            version=1,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(row)
        uow.session.flush()
        key = key_for(uow.session, request_subject(row.id), uow.now)
        for field_name, value in (
            ("requester_name", name),
            ("requester_email", email),
            ("requester_phone", phone),
            ("description", description.strip() if description else None),
        ):
            setattr(row, field_name, encrypt(key, value) if value else None)
        uow.session.flush()
        log_step(uow, row.id, "received", type=type, channel=channel, due_on=row.due_on.isoformat())
        uow.audit(entity="gdpr_request", entity_id=row.id, action="created", reason=REQUEST_TYPES[type].label_de)
        uow.emit(
            "crm.gdpr.request_received",
            entity="gdpr_request",
            entity_id=row.id,
            payload={"type": type, "channel": channel, "due_on": row.due_on.isoformat()},
        )
        view = request_view(uow.session, row)
        uow.commit()
    return view


def record_identity(
    uow: UnitOfWork,
    request_id: int,
    *,
    method: str,
    result: str,
    checked_by: str | None = None,
    note: str | None = None,
) -> RequestView:
    """The identity step (Art. 12(6)): confirmed → in Bearbeitung; doubtful → more data asked, stays in the check."""
    errors: dict[str, str] = {}
    if method not in IDENTITY_METHODS:
        errors["method"] = f"erlaubt: {', '.join(IDENTITY_METHODS)}"
    if result not in IDENTITY_RESULTS:
        errors["result"] = f"erlaubt: {', '.join(IDENTITY_RESULTS)}"
    if result in ("doubtful", "failed") and not (note and note.strip()):
        errors["note"] = "Bei Zweifeln festhalten, welche Angaben angefordert wurden und warum"
    if errors:
        raise ValidationFailed(errors)
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        key = key_for(uow.session, request_subject(row.id), uow.now)
        row.identity_method, row.identity_result = method, result
        row.identity_checked_by = (checked_by or uow.actor.name).strip()
        row.identity_checked_at = uow.now
        row.identity_note = encrypt(key, note.strip()) if note and note.strip() else None
        row.status = "in_progress" if result == "confirmed" else "identity_check"
        row.updated_at = uow.now
        uow.session.flush()
        log_step(uow, row.id, "identity_checked", method=method, result=result, checked_by=row.identity_checked_by)
        uow.audit(entity="gdpr_request", entity_id=row.id, action="identity_checked", reason=f"{method}: {result}")
        if result == "confirmed":
            uow.emit(
                "crm.gdpr.identity_verified",
                entity="gdpr_request",
                entity_id=row.id,
                payload={"method": method, "checked_by": row.identity_checked_by},
            )
        view = request_view(uow.session, row)
        uow.commit()
    return view


def assign(uow: UnitOfWork, request_id: int, *, assignee_id: int | None) -> RequestView:
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        if assignee_id is not None and uow.session.get(User, assignee_id) is None:
            raise ValidationFailed({"assignee_id": f"Benutzer {assignee_id} gibt es nicht"})
        row.assignee_id, row.updated_at = assignee_id, uow.now
        uow.session.flush()
        log_step(uow, row.id, "assigned", assignee_id=assignee_id)
        view = request_view(uow.session, row)
        uow.commit()
    return view


def confirm_subject(
    uow: UnitOfWork, request_id: int, *, contact_ids: list[int], account_ids: list[int] | None = None
) -> RequestView:
    """Fix which discovered records are the person (duplicates and a sole trader's company included)."""
    from db.models import Account, Contact

    contacts, accounts = sorted(set(contact_ids)), sorted(set(account_ids or []))
    if not contacts and not accounts:
        raise ValidationFailed({"contact_ids": "Mindestens einen Datensatz der Person auswählen"})
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        found = set(uow.session.scalars(select(Contact.id).where(Contact.id.in_(contacts))))
        missing = [i for i in contacts if i not in found]
        found_accounts = set(uow.session.scalars(select(Account.id).where(Account.id.in_(accounts))))
        missing += [i for i in accounts if i not in found_accounts]
        if missing:
            raise NotFound(f"Datensätze gibt es nicht: {', '.join(map(str, missing))}")
        row.subject_ids = {"contacts": contacts, "accounts": accounts}
        row.updated_at = uow.now
        uow.session.flush()
        log_step(uow, row.id, "subject_confirmed", contacts=len(contacts), accounts=len(accounts))
        view = request_view(uow.session, row)
        uow.commit()
    return view


def extend(uow: UnitOfWork, request_id: int, *, months: int, reason: str) -> RequestView:
    """Art. 12(3): up to two further months, decided with a reason before the first month ends."""
    if months not in (1, 2):
        raise ValidationFailed({"months": "um 1 oder 2 Monate verlängern"})
    if not reason.strip():
        raise ValidationFailed({"reason": "Grund der Verlängerung angeben (Komplexität, Anzahl der Anträge)"})
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        if row.extended_due_on is not None:
            raise Conflict("Die Frist wurde bereits verlängert; insgesamt sind höchstens drei Monate zulässig.")
        state = holiday_state(uow.session)
        if not deadlines.extension_still_possible(row.received_at, uow.now, state):
            raise Conflict(
                f"Die Monatsfrist endete am {row.due_on:%d.%m.%Y}; eine Verlängerung ist nur innerhalb dieser Frist möglich."
            )
        row.extended_due_on = deadlines.due_date(row.received_at, extension_months=months, state=state)
        row.extension_reason = reason.strip()
        row.updated_at = uow.now
        uow.session.flush()
        log_step(
            uow, row.id, "extended", months=months, due_on=row.extended_due_on.isoformat(), reason=row.extension_reason
        )
        uow.audit(entity="gdpr_request", entity_id=row.id, action="extended", reason=row.extension_reason)
        uow.emit(
            "crm.gdpr.extended",
            entity="gdpr_request",
            entity_id=row.id,
            payload={"months": months, "due_on": row.extended_due_on.isoformat()},
        )
        view = request_view(uow.session, row)
        uow.commit()
    return view


def close_request(uow: UnitOfWork, row: GdprRequest, *, outcome: str) -> None:
    """Mark completed inside the caller's transaction (erasure, restriction and objection close this way)."""
    row.status, row.outcome, row.closed_at, row.updated_at = "completed", outcome, uow.now, uow.now
    uow.session.flush()
    log_step(uow, row.id, "completed", outcome=outcome)
    uow.audit(entity="gdpr_request", entity_id=row.id, action="completed", reason=outcome)
    uow.emit(
        "crm.gdpr.completed",
        entity="gdpr_request",
        entity_id=row.id,
        payload={"type": row.type, "handling_days": (uow.now - row.received_at).days},
    )


def complete(uow: UnitOfWork, request_id: int, *, outcome: str) -> RequestView:
    if not outcome.strip():
        raise ValidationFailed({"outcome": "Ergebnis festhalten (was wurde der Person mitgeteilt?)"})
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        require_identity(row)
        if row.type == "erasure":
            raise Conflict("Eine Löschanfrage wird mit der Löschung abgeschlossen (Schritt „Löschen“).")
        close_request(uow, row, outcome=outcome.strip())
        view = request_view(uow.session, row)
        uow.commit()
    return view


def reject(uow: UnitOfWork, request_id: int, *, reason: str) -> RequestView:
    """Art. 12(4)/(5): refusal with its reason (identity not confirmed, manifestly unfounded, …)."""
    if not reason.strip():
        raise ValidationFailed({"reason": "Ablehnungsgrund angeben; er wird der Person mitgeteilt (Art. 12 Abs. 4)"})
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        row.status, row.rejection_reason, row.closed_at, row.updated_at = "rejected", reason.strip(), uow.now, uow.now
        uow.session.flush()
        log_step(uow, row.id, "rejected", reason=row.rejection_reason)
        uow.audit(entity="gdpr_request", entity_id=row.id, action="rejected", reason=row.rejection_reason)
        uow.emit("crm.gdpr.rejected", entity="gdpr_request", entity_id=row.id, payload={"type": row.type})
        view = request_view(uow.session, row)
        uow.commit()
    return view


def require_identity(row: GdprRequest) -> None:
    if row.identity_result != "confirmed":
        raise Conflict(f"Anfrage {row.id}: Die Identität der anfragenden Person ist noch nicht bestätigt.")


def require_subject(row: GdprRequest) -> None:
    if not (row.subject_ids or {}).get("contacts") and not (row.subject_ids or {}).get("accounts"):
        raise Conflict(f"Anfrage {row.id}: Noch keine Datensätze der Person bestätigt (Schritt „Daten finden“).")


# --- reads -----------------------------------------------------------------------------------------


def get_request(uow: UnitOfWork, request_id: int) -> RequestView:
    with uow:
        uow.authorize("gdpr.read")
        return request_view(uow.session, load_request(uow, request_id))


def request_log(uow: UnitOfWork, request_id: int) -> list[LogView]:
    with uow:
        uow.authorize("gdpr.read")
        rows = uow.session.scalars(
            select(GdprLogEntry).where(GdprLogEntry.request_id == request_id).order_by(GdprLogEntry.id)
        )
        return [LogView(r.id, r.occurred_at, r.action, dict(r.details), r.actor_name) for r in rows]


def list_requests(
    uow: UnitOfWork, *, status: str | None = None, type: str | None = None, open_only: bool = False
) -> pd.DataFrame:
    """All requests (newest first) with the effective due date and its traffic light."""
    with uow:
        uow.authorize("gdpr.read")
        query = select(GdprRequest).order_by(GdprRequest.received_at.desc(), GdprRequest.id.desc())
        if status:
            query = query.where(GdprRequest.status == status)
        if type:
            query = query.where(GdprRequest.type == type)
        if open_only:
            query = query.where(GdprRequest.status.in_(OPEN_STATUSES))
        today = deadlines.received_on(uow.now)
        records = []
        for row in uow.session.scalars(query):
            view = request_view(uow.session, row)
            records.append(
                {
                    "id": view.id,
                    "type": view.type,
                    "status": view.status,
                    "channel": view.channel,
                    "requester": view.requester_name or view.requester_email or view.requester_phone,
                    "received_at": view.received_at,
                    "due_on": view.due_on,
                    "extended": view.extended,
                    "days_left": (view.due_on - today).days if view.is_open else None,
                    "light": view.light(today),
                    "assignee": view.assignee_name,
                }
            )
        columns = [
            "id",
            "type",
            "status",
            "channel",
            "requester",
            "received_at",
            "due_on",
            "extended",
            "days_left",
            "light",
            "assignee",
        ]
        return pd.DataFrame(records, columns=columns)


@dataclass(frozen=True)
class Dashboard:
    open: int
    due_soon: int
    overdue: int
    completed: int
    rejected: int
    average_handling_days: float | None
    by_type: dict[str, int]
    closed_late: int


def dashboard(uow: UnitOfWork) -> Dashboard:
    """Open requests, due within 7 days, overdue, average handling time (receipt → closing) in days."""
    with uow:
        uow.authorize("gdpr.read")
        today = deadlines.received_on(uow.now)
        due = func.coalesce(GdprRequest.extended_due_on, GdprRequest.due_on)
        open_rows = uow.session.execute(select(due).where(GdprRequest.status.in_(OPEN_STATUSES))).scalars().all()
        lights = [deadlines.traffic_light(d, today) for d in open_rows]
        closed = uow.session.execute(
            select(GdprRequest.status, GdprRequest.received_at, GdprRequest.closed_at, due).where(
                GdprRequest.status.in_(CLOSED_STATUSES)
            )
        ).all()
        durations = [(c - r).total_seconds() / 86_400 for _, r, c, _ in closed if c is not None]
        late = sum(1 for _, _, c, d in closed if c is not None and deadlines.received_on(c) > d)
        by_type = dict(uow.session.execute(select(GdprRequest.type, func.count()).group_by(GdprRequest.type)).all())
        return Dashboard(
            open=len(open_rows),
            due_soon=lights.count("yellow"),
            overdue=lights.count("red"),
            completed=sum(1 for s, *_ in closed if s == "completed"),
            rejected=sum(1 for s, *_ in closed if s == "rejected"),
            average_handling_days=round(sum(durations) / len(durations), 1) if durations else None,
            by_type=by_type,
            closed_late=late,
        )
