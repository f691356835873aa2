"""Deliver queued e-mails: claim each under a lease, check the consent gate again, send, record the outcome.

Per message, three short transactions and the send in between:

1. claim: one conditional UPDATE sets status "sending" and `lease_until` (only a due "queued" row or a
   "sending" row whose lease ran out matches), so two workers never send the same message; a marketing
   message is checked by the consent gate again here and becomes "blocked" if consent was withdrawn
   (or the contact erased, suppressed, restricted …) since it was queued;
2. send through the backend (SMTP, or `.eml` files when no SMTP server is configured);
3. record: "sent", or back to "queued" with the error in German and the next attempt after
   BACKOFF (1, 5, 30, 120, 720 minutes), or "failed" after MAX_ATTEMPTS. Only the worker whose lease
   is still on the row records (the row is locked while it does).

When the failure is the server's rather than the message's (unreachable, TLS, login, outbox folder
not writable), `deliver_due` stops the batch: the other due messages stay queued without losing an
attempt, and the next run tries again. This also bounds a batch to one SMTP timeout while the server
hangs, so the lease of a message is never outrun by the batch before it.

A worker that dies between 1 and 3 leaves the row "sending"; once the lease has run out another run
claims it again. The lease (10 minutes) is far longer than a send may take (SMTP timeout 30 s), so a
live worker is never overtaken; only a crash after the server accepted the mail and before step 3
repeats it, with the same Message-ID, so the receiving side can tell.
Time is always the injected `now`.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from core.consent.gate import may_contact
from core.errors import NotFound
from core.permissions import SYSTEM, Actor, authorize
from core.settings import DATA_DIR, Settings, get_settings
from db.models import EmailMessage

BACKOFF = tuple(dt.timedelta(minutes=m) for m in (1, 5, 30, 120, 720))
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = dt.timedelta(minutes=10)
SMTP_TIMEOUT_SECONDS = 30.0
MAX_ERROR_LENGTH = 2000


class DeliveryError(Exception):
    """A send failed; `message` says why in German (shown on the Postausgang page). `whole_server`: the
    failure is the server's (connection, TLS, login, folder), so every other message would fail too."""

    def __init__(self, message: str, *, whole_server: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.whole_server = whole_server


class MailBackend(Protocol):
    def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
        """Hand the message over, or raise DeliveryError."""


@dataclass(frozen=True)
class SmtpBackend:
    """SMTP with STARTTLS (when `starttls`; required then, never silently skipped) or implicit TLS on
    port 465, login when a user is set."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = SMTP_TIMEOUT_SECONDS

    def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
        try:
            with self._connect() as smtp:
                if self.starttls and self.port != 465:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mime)
        except smtplib.SMTPNotSupportedError:
            raise _down(
                f"Der SMTP-Server {self.server} bietet kein STARTTLS an. Unverschlüsselt senden nur "
                "mit CRM_SMTP_STARTTLS=false."
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise _down(f"Anmeldung am SMTP-Server fehlgeschlagen ({_reply(exc)}).") from None
        except smtplib.SMTPSenderRefused as exc:
            raise DeliveryError(f"Der SMTP-Server lehnt den Absender {exc.sender} ab ({_reply(exc)}).") from None
        except smtplib.SMTPRecipientsRefused as exc:
            replies = "; ".join(f"{code} {_text(msg)}" for code, msg in exc.recipients.values())
            raise DeliveryError(f"Der SMTP-Server lehnt den Empfänger ab ({replies}).") from None
        except smtplib.SMTPResponseException as exc:
            kind = "vorübergehender" if 400 <= exc.smtp_code < 500 else "dauerhafter"
            raise DeliveryError(f"Der SMTP-Server meldet einen {kind} Fehler ({_reply(exc)}).") from None
        except smtplib.SMTPServerDisconnected:
            raise _down(f"Der SMTP-Server {self.server} hat die Verbindung unerwartet beendet.") from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP-Fehler: {exc}") from None
        except ConnectionRefusedError:
            raise _down(
                f"Der SMTP-Server {self.server} lehnt die Verbindung ab. Läuft er, stimmen Host und Port?"
            ) from None
        except socket.gaierror:
            raise _down(f"Den SMTP-Server „{self.host}“ gibt es nicht (Name nicht auflösbar).") from None
        except TimeoutError:
            raise _down(f"Der SMTP-Server {self.server} antwortet nicht (Zeitüberschreitung).") from None
        except ssl.SSLError as exc:
            raise _down(f"TLS-Verbindung zu {self.server} fehlgeschlagen: {exc.reason or exc}.") from None
        except OSError as exc:
            raise _down(f"Der SMTP-Server {self.server} ist nicht erreichbar: {exc.strerror or exc}.") from None

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        if self.port == 465:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


@dataclass(frozen=True)
class FileBackend:
    """The embedded default: every message becomes `<directory>/<id>-<UTC timestamp>.eml`."""

    directory: Path

    def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
        stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.directory / f"{row_id}-{stamp}.eml"
        partial = target.with_suffix(".part")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(mime.as_bytes())
            os.replace(partial, target)  # readers never see a half-written file
        except OSError as exc:
            raise _down(f"Die Datei {target} konnte nicht geschrieben werden: {exc.strerror or exc}.") from None


def backend_from_settings(settings: Settings) -> MailBackend:
    """SMTP when `CRM_SMTP_HOST` is set, else `.eml` files under data/outbox/."""
    if settings.smtp_host:
        return SmtpBackend(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return FileBackend(DATA_DIR / "outbox")


def build_mime(message: EmailMessage, *, date: dt.datetime) -> MimeMessage:
    """The RFC 5322 message of a queue row: multipart/alternative (text, HTML), UTF-8, quoted-printable."""
    mime = MimeMessage()
    mime["Message-ID"] = message.message_id
    mime["Date"] = date
    mime["From"] = message.from_address
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    for name, value in (message.headers or {}).items():
        mime[name] = value
    mime.set_content(message.body_text, cte="quoted-printable")
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html", cte="quoted-printable")
    return mime


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # failed this time, next attempt scheduled
    failed: int = 0  # failed for the last time
    blocked: int = 0  # refused by the consent gate right before sending
    skipped: int = 0  # claimed by another worker meanwhile

    @property
    def processed(self) -> int:
        return self.sent + self.retrying + self.failed + self.blocked


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def deliver_due(
    factory: sessionmaker[Session], *, now: dt.datetime, backend: MailBackend | None = None, limit: int = 100
) -> DeliveryReport:
    """Send up to `limit` due messages (oldest due first); stops early when the server itself fails."""
    backend = backend or backend_from_settings(get_settings())
    with factory() as session:
        ids = session.scalars(
            select(EmailMessage.id)
            .where(_claimable(now, force=False))
            .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
            .limit(limit)
        ).all()
    counts: dict[str | None, int] = {"sent": 0, "queued": 0, "failed": 0, "blocked": 0, None: 0}
    for message_id in ids:
        outcome = _deliver(factory, message_id, now=now, backend=backend, force=False)
        counts[outcome.status] += 1
        if outcome.server_failed:
            break
    return DeliveryReport(
        sent=counts["sent"], retrying=counts["queued"], failed=counts["failed"], blocked=counts["blocked"],
        skipped=counts[None],
    )


def deliver_message(
    factory: sessionmaker[Session],
    message_id: int,
    *,
    now: dt.datetime,
    backend: MailBackend | None = None,
    actor: Actor = SYSTEM,
) -> str:
    """Send one queued message now, without waiting for its next attempt; returns its new status.

    A message that is not queued (sent, failed, blocked, or being sent by another worker) is left
    as it is and its status returned. Needs `mail.manage`.
    """
    authorize(actor, "mail.manage")
    with factory() as session:
        if session.get(EmailMessage, message_id) is None:
            raise NotFound(f"Die E-Mail {message_id} gibt es nicht.")
    backend = backend or backend_from_settings(get_settings())
    status = _deliver(factory, message_id, now=now, backend=backend, force=True).status
    if status is not None:
        return status
    with factory() as session:
        current = session.scalar(select(EmailMessage.status).where(EmailMessage.id == message_id))
    if current is None:
        raise NotFound(f"Die E-Mail {message_id} gibt es nicht.")
    return current


def _claimable(now: dt.datetime, *, force: bool) -> ColumnElement[bool]:
    queued = EmailMessage.status == "queued"
    if not force:
        queued = and_(queued, EmailMessage.next_attempt_at <= now)
    lease_expired = and_(EmailMessage.status == "sending", EmailMessage.lease_until < now)
    return or_(queued, lease_expired)


@dataclass(frozen=True)
class _Outcome:
    status: str | None  # the message's new status; None: not claimable or taken over by another worker
    server_failed: bool = False


def _deliver(
    factory: sessionmaker[Session], message_id: int, *, now: dt.datetime, backend: MailBackend, force: bool
) -> _Outcome:
    """Claim, gate, send, record."""
    lease = now + LEASE
    with factory() as session:
        claimed = session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == message_id, _claimable(now, force=force))
            .values(status="sending", lease_until=lease)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            session.rollback()
            return _Outcome(None)
        message = session.get(EmailMessage, message_id)
        assert message is not None
        if message.kind == "marketing" and not _gate_allows(session, message, now):
            message.status = "blocked"
            message.lease_until = None
            message.next_attempt_at = None
            session.commit()
            return _Outcome("blocked")
        try:
            mime: MimeMessage | None = build_mime(message, date=now)
            error = None
        except Exception as exc:  # noqa: BLE001 - a row that cannot become a message is a failed attempt, not a crash
            mime, error = None, f"Die Nachricht ließ sich nicht zusammensetzen: {exc}"
        session.commit()
    server_failed = False
    if mime is not None:
        try:
            backend.send(mime, row_id=message_id, now=now)
        except DeliveryError as exc:
            error, server_failed = exc.message, exc.whole_server
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
            error = f"Unerwarteter Fehler beim Zustellen: {exc!r}"
    return _Outcome(_record(factory, message_id, lease=lease, now=now, error=error), server_failed)


def _gate_allows(session: Session, message: EmailMessage, now: dt.datetime) -> bool:
    """The consent gate once more, right before sending; its decision is stored with the message."""
    if message.contact_id is None or message.purpose_id is None:
        allowed, reason = False, "unknown_contact"  # the contact was erased since the message was queued
    else:
        decision = may_contact(session, message.contact_id, "email", message.purpose_id, now)
        allowed, reason = decision.allowed, decision.reason
    message.gate_allowed = allowed
    message.gate_reason = reason
    message.gate_checked_at = now
    return allowed


def _record(
    factory: sessionmaker[Session], message_id: int, *, lease: dt.datetime, now: dt.datetime, error: str | None
) -> str | None:
    """Store the outcome of the attempt; None when the row is no longer under our lease."""
    with factory() as session:
        message = session.get(EmailMessage, message_id, with_for_update=True)
        if message is None or message.status != "sending" or message.lease_until != lease:
            return None  # our lease ran out and another worker took the message over: its outcome counts
        message.attempts += 1
        message.lease_until = None
        if error is None:
            message.status = "sent"
            message.sent_at = now
            message.next_attempt_at = None
            message.last_error = None
        elif message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            message.next_attempt_at = None
            message.last_error = f"{error[: MAX_ERROR_LENGTH - 40]} Nach {message.attempts} Versuchen aufgegeben."
        else:
            message.status = "queued"
            message.next_attempt_at = now + retry_delay(message.attempts)
            message.last_error = error[:MAX_ERROR_LENGTH]
        status = message.status
        session.commit()
        return status


def _down(message: str) -> DeliveryError:
    return DeliveryError(message, whole_server=True)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
