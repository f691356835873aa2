"""Double opt-in by e-mail: request → confirmation mail with a signed, single-use link that expires →
confirmation by one click (POST) on the public landing page → consent granted with proof.

A link scanner that only GETs the link sees the landing page (`doi_landing`), which changes nothing.
A re-send is throttled and replaces the link (new nonce): only the newest link confirms. Requests
still pending at `expires_at` become `abgelaufen` through `expire_requests` (jobs/expire_doi.py).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass

from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.app_settings import read_setting
from core.consent.gate import BLOCKING_REASONS, load_purpose, may_contact
from core.consent.ledger import EntryDraft
from core.consent.links import DOI, InvalidLink, doi_url, unsign
from core.consent.service import latest_entry, load_contact, record_entry
from core.consent.texts import current_text
from core.email.queue import enqueue_email
from core.errors import Conflict, DomainError, ValidationFailed
from core.events import emit
from core.permissions import Actor
from core.settings import get_settings
from core.uow import Clock, UnitOfWork, utc_now
from db.models import ConsentPurpose, ConsentText, DoiRequest

DEFAULT_TTL_HOURS = 48
RESEND_INTERVAL = dt.timedelta(minutes=10)
MAX_SENDS = 5
TTL_SETTING = "consent.doi_ttl_hours"
PUBLIC_ACTOR = Actor(
    user_id=None, name="Betroffene Person (öffentlicher Link)", scopes=frozenset({"consent.read", "consent.write"})
)


class LinkExpired(DomainError):
    status = 410
    title = "Link abgelaufen"


class LinkUsed(DomainError):
    status = 409
    title = "Link bereits verwendet"


@dataclass(frozen=True)
class DoiSent:
    request_id: int
    email_message_id: int
    resent: bool
    expires_at: dt.datetime


@dataclass(frozen=True)
class DoiLanding:
    """What the public page shows for a link: the wording to confirm, or why the link no longer works."""

    request_id: int
    contact_id: int
    state: str  # open | confirmed | expired | replaced | withdrawn
    language: str
    purpose_name: str
    text_title: str
    text_body: str
    text_version: int
    masked_address: str
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None


def ttl_hours(session: Session) -> int:
    return int(read_setting(session, TTL_SETTING, DEFAULT_TTL_HOURS))


def request_doi(
    uow: UnitOfWork,
    *,
    contact_id: int,
    purpose: str | int,
    source: str,
    language: str = "de",
    ip: str | None = None,
    user_agent: str | None = None,
) -> DoiSent:
    """Start (or re-send) the double opt-in for one purpose by e-mail; the mail is queued in the same
    transaction (deliver it with core.email.delivery.deliver_message after the commit)."""
    with uow:
        uow.authorize("consent.write")
        sent = request_doi_in_transaction(
            uow, contact_id=contact_id, purpose=purpose, source=source, language=language, ip=ip, user_agent=user_agent
        )
        uow.commit()
    return sent


def request_doi_in_transaction(
    uow: UnitOfWork,
    *,
    contact_id: int,
    purpose: str | int,
    source: str,
    language: str = "de",
    ip: str | None = None,
    user_agent: str | None = None,
) -> DoiSent:
    """`request_doi` inside a transaction the caller holds and has authorised (e.g. an import run)."""
    if language not in ("de", "en"):
        raise ValidationFailed({"language": "de oder en"})
    session, now = uow.session, uow.now
    contact = load_contact(session, contact_id)
    target = load_purpose(session, purpose)
    _check_may_request(session, contact.id, target, now, has_email=bool(contact.email))
    assert contact.email is not None
    pending = session.scalars(
        select(DoiRequest)
        .where(
            DoiRequest.contact_id == contact.id,
            DoiRequest.purpose_id == target.id,
            DoiRequest.status == "pending",
            DoiRequest.expires_at > now,
        )
        .order_by(DoiRequest.id.desc())
        .limit(1)
    ).first()
    expires_at = now + dt.timedelta(hours=ttl_hours(session))
    if pending is not None:
        sent = _resend(uow, pending, contact.email, expires_at)
    else:
        sent = _first_request(uow, contact.id, contact.email, target, source, language, expires_at, ip, user_agent)
    return sent


def _check_may_request(session: Session, contact_id: int, purpose: ConsentPurpose, now: dt.datetime, *, has_email: bool) -> None:
    if not has_email:
        raise ValidationFailed({"email": "Der Kontakt hat keine E-Mail-Adresse."})
    if not purpose.active:
        raise Conflict(f"Der Zweck „{purpose.name_de}“ ist deaktiviert.")
    decision = may_contact(session, contact_id, "email", purpose.id, now)
    if decision.reason in BLOCKING_REASONS:
        raise Conflict(f"Keine Bestätigungs-E-Mail: {decision.describe()}.")
    latest = latest_entry(session, contact_id, "email", purpose.id)
    if decision.allowed and latest is not None and latest.legal_basis == "consent":
        raise Conflict(f"Für „{purpose.name_de}“ per E-Mail liegt bereits eine Einwilligung vor.")


def _first_request(
    uow: UnitOfWork,
    contact_id: int,
    address: str,
    purpose: ConsentPurpose,
    source: str,
    language: str,
    expires_at: dt.datetime,
    ip: str | None,
    user_agent: str | None,
) -> DoiSent:
    session, now = uow.session, uow.now
    text = current_text(session, purpose.id, language)
    request = DoiRequest(
        contact_id=contact_id,
        channel="email",
        purpose_id=purpose.id,
        text_id=text.id,
        language=text.language,
        address=address,
        source=source,
        nonce=secrets.token_urlsafe(16),
        status="pending",
        requested_at=now,
        expires_at=expires_at,
        last_sent_at=now,
        send_count=1,
        request_ip=ip,
        request_user_agent=user_agent,
        actor_id=uow.actor.user_id,
        actor_name=uow.actor.name,
    )
    session.add(request)
    session.flush()
    record_entry(
        uow,
        EntryDraft(
            contact_id=contact_id,
            channel="email",
            purpose_id=purpose.id,
            action="requested",
            legal_basis="consent",
            source=source,
            text_id=text.id,
            text_sha256=text.sha256,
            doi_request_id=request.id,
            doi_requested_at=now,
            address=address,
            ip=ip,
            user_agent=user_agent,
        ),
        event="crm.consent.doi_requested",
        extra={"doi_request_id": request.id, "resent": False},
    )
    message = _send_mail(session, request, purpose, text, now)
    return DoiSent(request.id, message, False, request.expires_at)


def _resend(uow: UnitOfWork, request: DoiRequest, address: str, expires_at: dt.datetime) -> DoiSent:
    session, now = uow.session, uow.now
    wait_until = request.last_sent_at + RESEND_INTERVAL
    if now < wait_until:
        minutes = max(1, math.ceil((wait_until - now).total_seconds() / 60))
        raise Conflict(
            f"Die Bestätigungs-E-Mail wurde gerade erst gesendet. Ein erneuter Versand ist in {minutes} Minute(n) möglich."
        )
    if request.send_count >= MAX_SENDS:
        raise Conflict(f"Die Bestätigungs-E-Mail wurde schon {MAX_SENDS}-mal gesendet; weitere Versuche sind gesperrt.")
    request.nonce = secrets.token_urlsafe(16)
    request.address = address
    request.last_sent_at = now
    request.send_count += 1
    request.expires_at = expires_at
    purpose = session.get(ConsentPurpose, request.purpose_id)
    text = session.get(ConsentText, request.text_id)
    assert purpose is not None and text is not None
    emit(
        session,
        name="crm.consent.doi_requested",
        entity="contact",
        entity_id=request.contact_id,
        payload={"doi_request_id": request.id, "contact_id": request.contact_id, "purpose": purpose.key, "resent": True},
        now=now,
        actor_id=uow.actor.user_id,
    )
    message = _send_mail(session, request, purpose, text, now)
    return DoiSent(request.id, message, True, request.expires_at)


def _send_mail(session: Session, request: DoiRequest, purpose: ConsentPurpose, text: ConsentText, now: dt.datetime) -> int:
    contact = load_contact(session, request.contact_id)
    lang = request.language
    locale = "en_GB" if lang == "en" else "de_DE"
    expires = format_datetime(request.expires_at, "short", tzinfo=get_settings().timezone, locale=locale)
    message = enqueue_email(
        session,
        now=now,
        kind="transactional",
        category="doi",
        template="doi_confirmation",
        language=lang,
        to_address=request.address,
        contact_id=contact.id,
        purpose_id=purpose.id,
        context={
            "name": f"{contact.first_name} {contact.last_name}".strip(),
            "purpose_name": purpose.name_en if lang == "en" else purpose.name_de,
            "consent_title": text.title,
            "consent_text": text.body,
            "confirm_url": doi_url(request.id, request.nonce),
            "expires_at_text": expires,
            "sender": get_settings().mail_from,
        },
    )
    request.email_message_id = message.id
    return message.id


def _load_by_token(session: Session, token: str) -> DoiRequest:
    payload = unsign(DOI, token)
    request = session.get(DoiRequest, payload.get("r"))
    if request is None:
        raise InvalidLink("Diese Bestätigungsanfrage gibt es nicht mehr.")
    if not secrets.compare_digest(str(payload.get("n", "")), request.nonce):
        raise LinkUsed("Dieser Link wurde durch eine neuere Bestätigungs-E-Mail ersetzt. Bitte nutzen Sie den Link in der neuesten E-Mail.")
    return request


def _state(request: DoiRequest, now: dt.datetime) -> str:
    if request.status == "pending" and request.expires_at <= now:
        return "expired"
    return {"pending": "open"}.get(request.status, request.status)


def _landing(session: Session, request: DoiRequest, now: dt.datetime) -> DoiLanding:
    purpose = session.get(ConsentPurpose, request.purpose_id)
    text = session.get(ConsentText, request.text_id)
    assert purpose is not None and text is not None
    return DoiLanding(
        request_id=request.id,
        contact_id=request.contact_id,
        state=_state(request, now),
        language=request.language,
        purpose_name=purpose.name_en if request.language == "en" else purpose.name_de,
        text_title=text.title,
        text_body=text.body,
        text_version=text.version,
        masked_address=mask_address(request.address),
        expires_at=request.expires_at,
        confirmed_at=request.confirmed_at,
    )


def doi_landing(factory: sessionmaker[Session], token: str, *, clock: Clock = utc_now) -> DoiLanding:
    """The landing page's content for a link (GET): reading it confirms nothing."""
    with factory() as session:
        return _landing(session, _load_by_token(session, token), clock())


def confirm_doi(
    factory: sessionmaker[Session],
    token: str,
    *,
    ip: str | None,
    user_agent: str | None,
    clock: Clock = utc_now,
) -> DoiLanding:
    """Confirm (the landing page's POST): grant the consent with request and confirmation times as proof.

    Refuses a replaced, expired, withdrawn or already used link with a message the page shows.
    """
    uow = UnitOfWork(factory, actor=PUBLIC_ACTOR, clock=clock)
    with uow:
        session, now = uow.session, uow.now
        request = _load_by_token(session, token)
        state = _state(request, now)
        if state == "confirmed":
            when = format_datetime(request.confirmed_at, "short", tzinfo=get_settings().timezone, locale="de_DE")
            raise LinkUsed(f"Diese Einwilligung wurde bereits am {when} bestätigt. Der Link gilt nur einmal.")
        if state == "expired":
            raise LinkExpired(
                "Dieser Bestätigungslink ist abgelaufen. Bitte fordern Sie eine neue Bestätigungs-E-Mail an."
            )
        if state != "open":
            raise LinkUsed("Diese Anfrage wurde zurückgezogen oder ersetzt; der Link ist nicht mehr gültig.")
        contact = load_contact(session, request.contact_id)
        text = session.get(ConsentText, request.text_id)
        assert text is not None
        request.status = "confirmed"
        request.confirmed_at = now
        request.closed_at = now
        record_entry(
            uow,
            EntryDraft(
                contact_id=contact.id,
                channel="email",
                purpose_id=request.purpose_id,
                action="confirmed",
                legal_basis="consent",
                source=request.source,
                text_id=text.id,
                text_sha256=text.sha256,
                doi_request_id=request.id,
                doi_requested_at=request.requested_at,
                doi_confirmed_at=now,
                address=request.address,
                ip=ip,
                user_agent=user_agent,
            ),
            event="crm.consent.doi_confirmed",
            extra={"doi_request_id": request.id},
        )
        landing = _landing(session, request, now)
        uow.commit()
    return landing


def expire_requests(uow: UnitOfWork) -> int:
    """Close every pending request past its expiry; the ledger records `abgelaufen` where it was still the
    current state of that channel × purpose. Returns the number of requests closed."""
    with uow:
        uow.authorize("consent.write")
        session, now = uow.session, uow.now
        due = session.scalars(
            select(DoiRequest)
            .where(DoiRequest.status == "pending", DoiRequest.expires_at <= now)
            .order_by(DoiRequest.id)
            .with_for_update(skip_locked=True)  # a second instance skips what the first is closing
        ).all()
        for request in due:
            request.status = "expired"
            request.closed_at = now
            latest = latest_entry(session, request.contact_id, request.channel, request.purpose_id)
            if latest is not None and latest.status == "pending" and latest.doi_request_id == request.id:
                record_entry(
                    uow,
                    EntryDraft(
                        contact_id=request.contact_id,
                        channel=request.channel,
                        purpose_id=request.purpose_id,
                        action="expired",
                        legal_basis="consent",
                        source="system",
                        text_id=request.text_id,
                        doi_request_id=request.id,
                        doi_requested_at=request.requested_at,
                    ),
                    event="crm.consent.expired",
                    extra={"doi_request_id": request.id},
                )
        uow.commit()
    return len(due)


def mask_address(address: str) -> str:
    """"anna.schmidt@example.de" → "a***@example.de" (the landing page shows whose consent it is, not more)."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
