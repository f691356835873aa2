"""Queue an e-mail: render it and store it as an `email_messages` row in the caller's transaction.

Nothing is sent here; `core/email/delivery.py` (the `jobs.send_mail` job) sends what is due, so a
failing SMTP server loses nothing and a rolled-back transaction sends nothing.

Marketing mail passes the consent gate when it is queued (and again right before it is sent): a
refused message is stored as "blocked" with the gate's reason and is never delivered. Every
marketing mail carries the unsubscribe link and the preference-centre link in its footer and the
one-click unsubscribe headers of RFC 8058 (List-Unsubscribe with the https link, List-Unsubscribe-Post).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.utils import make_msgid, parseaddr
from typing import Any

from sqlalchemy.orm import Session

from core.consent.gate import may_contact
from core.consent.links import preferences_url, unsubscribe_url
from core.email.render import render_email
from core.errors import ValidationFailed
from core.settings import get_settings
from core.validation import check_email
from db.models import Contact, EmailMessage

KINDS = ("transactional", "marketing")
# queued → sending → sent | queued again (retry) | failed (retries exhausted) | blocked (consent gate)
STATUSES = ("queued", "sending", "sent", "failed", "blocked")
ONE_CLICK = "List-Unsubscribe=One-Click"
MAX_SUBJECT = 300


def new_message_id(mail_from: str) -> str:
    """A globally unique RFC 5322 Message-ID in the sender's domain."""
    address = parseaddr(mail_from)[1]
    domain = address.rsplit("@", 1)[1] if "@" in address else "localhost"
    return make_msgid(domain=domain)


def enqueue_email(
    session: Session,
    *,
    now: dt.datetime,
    kind: str,
    category: str,
    template: str,
    language: str,
    to_address: str,
    context: Mapping[str, Any],
    contact_id: int | None = None,
    purpose_id: int | None = None,
) -> EmailMessage:
    """Render `template` and queue the mail (status "queued", due at `now`; "blocked" when the gate refuses).

    `kind` "marketing" needs `contact_id` and `purpose_id`; `to_address` must then be the contact's
    e-mail address, the one the consent covers. Does not commit.
    """
    if kind not in KINDS:
        raise ValidationFailed({"kind": f"unbekannte Art „{kind}“; erlaubt: {', '.join(KINDS)}"})
    category = (category or "").strip()
    if not category or len(category) > 40:
        raise ValidationFailed({"category": "Bitte eine Kategorie mit höchstens 40 Zeichen angeben."})
    address = _recipient(to_address)
    values = dict(context)
    headers: dict[str, str] = {}
    gate_allowed: bool | None = None
    gate_reason: str | None = None
    if kind == "marketing":
        if contact_id is None or purpose_id is None:
            raise ValidationFailed(
                {"contact_id": "Werbe-E-Mails brauchen den Kontakt und den Zweck, für den die Einwilligung gilt."}
            )
        _check_contact_address(session, contact_id, address)
        decision = may_contact(session, contact_id, "email", purpose_id, now)
        gate_allowed, gate_reason = decision.allowed, decision.reason
        unsubscribe = unsubscribe_url(contact_id, purpose_id)
        values |= {"unsubscribe_url": unsubscribe, "preferences_url": preferences_url(contact_id)}
        headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": ONE_CLICK}
    rendered = render_email(template, language, values)
    if not rendered.subject or len(rendered.subject) > MAX_SUBJECT:
        raise ValidationFailed({"subject": f"Der Betreff muss 1 bis {MAX_SUBJECT} Zeichen lang sein."})
    mail_from = get_settings().mail_from
    blocked = gate_allowed is False
    message = EmailMessage(
        created_at=now,
        kind=kind,
        category=category,
        template=template,
        language=language,
        contact_id=contact_id,
        channel="email",
        purpose_id=purpose_id,
        to_address=address,
        from_address=mail_from,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        headers=headers,
        message_id=new_message_id(mail_from),
        status="blocked" if blocked else "queued",
        attempts=0,
        next_attempt_at=None if blocked else now,
        gate_allowed=gate_allowed,
        gate_reason=gate_reason,
        gate_checked_at=now if gate_allowed is not None else None,
    )
    session.add(message)
    session.flush()
    return message


def _recipient(to_address: str | None) -> str:
    try:
        address = check_email(to_address)
    except ValueError as exc:
        raise ValidationFailed({"to_address": str(exc)}) from None
    if address is None:
        raise ValidationFailed({"to_address": "Bitte eine E-Mail-Adresse angeben."})
    return address


def _check_contact_address(session: Session, contact_id: int, address: str) -> None:
    """A consent covers the contact's own address: marketing to another address is refused outright."""
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.email and contact.email.lower() != address.lower():
        raise ValidationFailed(
            {"to_address": "Werbe-E-Mails gehen nur an die beim Kontakt hinterlegte Adresse; nur für sie gilt die "
             "Einwilligung."}
        )
