"""The Postausgang: read the e-mail queue (`mail.read`) and put failed messages back in line (`mail.manage`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from sqlalchemy import func, select

from core.audit import FieldChange
from core.email.delivery import build_mime
from core.errors import Conflict, NotFound
from core.listing import ListQuery, Page, equality_filters, fetch_page
from core.uow import UnitOfWork
from db.models import EmailMessage

FILTERS = ("status", "category", "kind")
RETRYABLE = ("failed", "queued")
_LIST_COLUMNS = (
    EmailMessage.id,
    EmailMessage.created_at,
    EmailMessage.to_address,
    EmailMessage.subject,
    EmailMessage.category,
    EmailMessage.kind,
    EmailMessage.status,
    EmailMessage.attempts,
    EmailMessage.last_error,
    EmailMessage.next_attempt_at,
    EmailMessage.sent_at,
    EmailMessage.gate_allowed,
    EmailMessage.gate_reason,
)
SORTABLE = {
    "id": EmailMessage.id,
    "created_at": EmailMessage.created_at,
    "to_address": EmailMessage.to_address,
    "status": EmailMessage.status,
    "attempts": EmailMessage.attempts,
    "sent_at": EmailMessage.sent_at,
}


@dataclass(frozen=True)
class MessageView:
    id: int
    created_at: dt.datetime
    kind: str
    category: str
    template: str
    language: str
    contact_id: int | None
    purpose_id: int | None
    to_address: str
    from_address: str
    subject: str
    body_text: str
    body_html: str | None
    headers: Mapping[str, str]
    message_id: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    sent_at: dt.datetime | None
    gate_allowed: bool | None
    gate_reason: str | None
    gate_checked_at: dt.datetime | None
    eml: bytes  # the message as sent (or as it would be sent), rebuilt from the row

    @property
    def eml_name(self) -> str:
        return f"email-{self.id}.eml"

    @property
    def header_lines(self) -> list[tuple[str, str]]:
        """The message's headers as they go out, decoded (umlauts readable)."""
        return [(name, str(value)) for name, value in message_from_bytes(self.eml, policy=policy.default).items()]


def list_messages(uow: UnitOfWork, query: ListQuery) -> Page:
    """Newest first unless sorted otherwise. Filters: status, category, kind; search: recipient address."""
    with uow:
        uow.authorize("mail.read")
        conditions: list[Any] = equality_filters(EmailMessage, query.filters, FILTERS)
        if query.search:
            term = query.search.strip().lower()
            conditions.append(func.lower(EmailMessage.to_address).contains(term, autoescape=True))
        stmt = select(*_LIST_COLUMNS).where(*conditions)
        return fetch_page(uow.session, stmt, query, sortable=SORTABLE, default_sort=EmailMessage.id)


def message_categories(uow: UnitOfWork) -> list[str]:
    """The categories that occur in the queue (for the filter)."""
    with uow:
        uow.authorize("mail.read")
        return list(uow.session.scalars(select(EmailMessage.category).distinct().order_by(EmailMessage.category)))


def status_counts(uow: UnitOfWork) -> dict[str, int]:
    """Messages per status, in one aggregate query."""
    with uow:
        uow.authorize("mail.read")
        rows = uow.session.execute(select(EmailMessage.status, func.count()).group_by(EmailMessage.status))
        return {status: int(count) for status, count in rows}


def get_message(uow: UnitOfWork, message_id: int) -> MessageView:
    with uow:
        uow.authorize("mail.read")
        return _view(_load(uow, message_id))


def retry_message(uow: UnitOfWork, message_id: int) -> MessageView:
    """Put a failed (or waiting) message back in line, due now, with a fresh series of attempts; audited."""
    with uow:
        uow.authorize("mail.manage")
        message = _load(uow, message_id, lock=True)  # a worker claiming it meanwhile waits, then finds it changed
        if message.status not in RETRYABLE:
            raise Conflict(
                f"Nur fehlgeschlagene oder wartende E-Mails lassen sich erneut versuchen; diese hat den Status "
                f"„{message.status}“."
            )
        changes = [
            FieldChange(name, getattr(message, name), value)
            for name, value in (("status", "queued"), ("attempts", 0), ("next_attempt_at", uow.now))
            if getattr(message, name) != value
        ]
        message.status = "queued"
        message.attempts = 0
        message.next_attempt_at = uow.now
        uow.audit(entity="email_message", entity_id=message.id, action="retried", changes=changes)
        view = _view(message)
        uow.commit()
    return view


def _load(uow: UnitOfWork, message_id: int, *, lock: bool = False) -> EmailMessage:
    message = uow.session.get(EmailMessage, message_id, with_for_update=lock)
    if message is None:
        raise NotFound(f"Die E-Mail {message_id} gibt es nicht.")
    return message


def _view(m: EmailMessage) -> MessageView:
    return MessageView(
        id=m.id,
        created_at=m.created_at,
        kind=m.kind,
        category=m.category,
        template=m.template,
        language=m.language,
        contact_id=m.contact_id,
        purpose_id=m.purpose_id,
        to_address=m.to_address,
        from_address=m.from_address,
        subject=m.subject,
        body_text=m.body_text,
        body_html=m.body_html,
        headers=dict(m.headers or {}),
        message_id=m.message_id,
        status=m.status,
        attempts=m.attempts,
        next_attempt_at=m.next_attempt_at,
        last_error=m.last_error,
        sent_at=m.sent_at,
        gate_allowed=m.gate_allowed,
        gate_reason=m.gate_reason,
        gate_checked_at=m.gate_checked_at,
        eml=build_mime(m, date=m.sent_at or m.created_at).as_bytes(),
    )
