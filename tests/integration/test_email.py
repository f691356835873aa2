"""E-mail: templates, the queue, delivery to a real local SMTP server (aiosmtpd) and to .eml files, retries
with backoff, the lease, the consent gate at queueing and again at sending, and the Postausgang services."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.consent.links import preferences_url, unsubscribe_url
from core.consent.service import grant_consent, revoke_consent
from core.email import (
    FileBackend,
    SmtpBackend,
    backend_from_settings,
    deliver_due,
    deliver_message,
    enqueue_email,
    render_email,
)
from core.email.delivery import BACKOFF, LEASE, MAX_ATTEMPTS
from core.email.outbox import get_message, list_messages, message_categories, retry_message, status_counts
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.listing import ListQuery
from core.permissions import Actor, Role
from core.settings import DATA_DIR, Settings, get_settings
from core.uow import UnitOfWork
from db.models import AuditEntry, ConsentPurpose, EmailMessage
from tests.conftest import FrozenClock
from tests.factories.crm import make_contact
from tests.factories.identity import make_user
from tests.smtp import SmtpServer, free_port


DOI_CONTEXT = {
    "name": "Jürgen Weiß",
    "purpose_name": "Newsletter",
    "consent_title": "Einwilligung: Newsletter",
    "consent_text": "Ja, ich möchte den Newsletter per E-Mail erhalten.\n\nWiderruf jederzeit möglich.",
    "confirm_url": "https://crm.example.de/p/doi/abc?x=1&y=2",
    "expires_at_text": "27.11.2026, 10:00 Uhr",
    "sender": "Müller Maschinenbau GmbH",
}
MARKETING_CONTEXT = {"subject": "Neuigkeiten für Sie: Frühjahr 2027", "body_text": "Hallo,\n\nunsere Neuheiten."}


# Helpers ---------------------------------------------------------------------------------------------


def smtp(server: SmtpServer) -> SmtpBackend:
    return SmtpBackend(host=server.host, port=server.port, starttls=False, timeout=5)


def queue(factory: sessionmaker[Session], clock: FrozenClock, **values: Any) -> int:
    """Queue one mail (a DOI confirmation unless told otherwise) and commit; returns the row id."""
    data: dict[str, Any] = {
        "kind": "transactional",
        "category": "doi",
        "template": "doi_confirmation",
        "language": "de",
        "to_address": "j.weiss@example.de",
        "context": DOI_CONTEXT,
    } | values
    with factory() as session:
        message = enqueue_email(session, now=clock(), **data)
        session.commit()
        return message.id


def row(factory: sessionmaker[Session], message_id: int) -> EmailMessage:
    with factory() as session:
        found = session.get(EmailMessage, message_id)
        assert found is not None
        return found


def newsletter_id(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalars(select(ConsentPurpose.id).where(ConsentPurpose.key == "newsletter")).one()


def body(mail: MimeMessage, kind: str) -> str:
    part = mail.get_body((kind,))
    assert part is not None
    return str(part.get_content())


class Recorder:
    """A backend that only records what it was given."""

    def __init__(self) -> None:
        self.sent: list[MimeMessage] = []

    def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
        self.sent.append(mime)


@pytest.fixture
def admin(factory: sessionmaker[Session], clock: FrozenClock) -> Actor:
    return make_user(factory, Role.ADMIN, clock=clock).actor()


@pytest.fixture
def marketing_contact(factory: sessionmaker[Session], clock: FrozenClock, admin: Actor) -> int:
    return make_contact(factory, admin, clock=clock, first_name="Anna", last_name="Schäfer", email="anna@example.de").id


def grant(factory: sessionmaker[Session], clock: FrozenClock, admin: Actor, contact_id: int) -> None:
    grant_consent(
        UnitOfWork(factory, actor=admin, clock=clock),
        contact_id=contact_id, channel="email", purpose="newsletter", source="sales", evidence="Test",
    )


def queue_marketing(factory: sessionmaker[Session], clock: FrozenClock, contact_id: int, **values: Any) -> int:
    data = {
        "kind": "marketing",
        "category": "newsletter",
        "template": "marketing_message",
        "to_address": "anna@example.de",
        "context": MARKETING_CONTEXT,
        "contact_id": contact_id,
        "purpose_id": newsletter_id(factory),
    }
    return queue(factory, clock, **(data | values))


# Rendering -------------------------------------------------------------------------------------------


def test_doi_confirmation_renders_in_german_and_english_with_escaping() -> None:
    context = DOI_CONTEXT | {"name": "Jürgen <script>alert(1)</script>"}
    de = render_email("doi_confirmation", "de", context)
    assert de.subject == "Bitte bestätigen Sie Ihre Einwilligung: Newsletter"
    for part in (de.text, de.html):
        assert "27.11.2026, 10:00 Uhr" in part and "Einwilligung: Newsletter" in part
        assert "Ohne Ihre Bestätigung geschieht nichts" in part
    assert "https://crm.example.de/p/doi/abc?x=1&y=2" in de.text
    assert 'href="https://crm.example.de/p/doi/abc?x=1&amp;y=2"' in de.html
    assert "Einwilligung bestätigen" in de.html and '<html lang="de">' in de.html
    assert "Guten Tag Jürgen &lt;script&gt;" in de.html and "<script>" not in de.html, "HTML escapes the context"
    assert "Guten Tag Jürgen <script>alert(1)</script>," in de.text, "the text part is not HTML"
    assert '<p style="margin:0 0 8px 0;">Widerruf jederzeit möglich.</p>' in de.html, "paragraphs of the wording"

    en = render_email("doi_confirmation", "en", context)
    assert en.subject == "Please confirm your consent: Newsletter"
    assert "Nothing happens without your confirmation" in en.text and "Confirm consent" in en.html
    assert '<html lang="en">' in en.html and "&lt;script&gt;" in en.html


def test_marketing_template_always_has_the_unsubscribe_and_preference_links() -> None:
    links = {
        "unsubscribe_url": "https://crm.example.de/p/unsubscribe/t1",
        "preferences_url": "https://crm.example.de/p/preferences/t2",
    }
    plain = render_email("marketing_message", "de", MARKETING_CONTEXT | links)
    assert plain.subject == "Neuigkeiten für Sie: Frühjahr 2027"
    for part in (plain.text, plain.html):
        assert links["unsubscribe_url"] in part and links["preferences_url"] in part
    assert "Abmelden" in plain.html and "Einstellungen ändern" in plain.html
    assert "unsere Neuheiten." in plain.html

    authored = render_email(
        "marketing_message", "en", MARKETING_CONTEXT | links | {"body_html": Markup("<h2>Spring</h2>")}
    )
    assert "<h2>Spring</h2>" in authored.html and "Unsubscribe" in authored.html
    untrusted = render_email("marketing_message", "de", MARKETING_CONTEXT | links | {"body_html": "<h2>x</h2>"})
    assert "&lt;h2&gt;x&lt;/h2&gt;" in untrusted.html, "a plain string is escaped, only Markup goes in as HTML"


def test_subject_is_one_line_even_if_the_context_has_line_breaks() -> None:
    links = {"unsubscribe_url": "u", "preferences_url": "p"}
    context = {"subject": "Hallo\r\nBcc: x@evil.example", "body_text": "b"} | links
    rendered = render_email("marketing_message", "de", context)
    assert rendered.subject == "Hallo Bcc: x@evil.example"


def test_unknown_template_language_or_missing_value_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed) as unknown:
        render_email("rechnung", "de", {})
    assert "unbekannte Vorlage „rechnung“" in unknown.value.fields["template"]
    assert "doi_confirmation" in unknown.value.fields["template"]
    with pytest.raises(ValidationFailed) as language:
        render_email("doi_confirmation", "fr", DOI_CONTEXT)
    assert "erlaubt: de, en" in language.value.fields["language"]
    with pytest.raises(ValidationFailed) as missing:
        render_email("doi_confirmation", "de", {k: v for k, v in DOI_CONTEXT.items() if k != "confirm_url"})
    assert "confirm_url" in missing.value.fields["context"]


# Queue -----------------------------------------------------------------------------------------------


def test_enqueue_stores_a_rendered_queued_message_due_now(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    message = row(factory, queue(factory, clock))
    assert (message.status, message.kind, message.category, message.attempts) == ("queued", "transactional", "doi", 0)
    assert message.next_attempt_at == clock() and message.created_at == clock()
    assert message.subject == "Bitte bestätigen Sie Ihre Einwilligung: Newsletter"
    assert "Einwilligung bestätigen" in (message.body_html or "") and "abc?x=1&y=2" in message.body_text
    assert message.from_address == get_settings().mail_from and message.to_address == "j.weiss@example.de"
    domain = get_settings().mail_from.rsplit("@", 1)[1]
    assert message.message_id.startswith("<") and message.message_id.endswith(f"@{domain}>")
    assert message.headers == {} and message.gate_allowed is None and message.gate_checked_at is None
    assert row(factory, queue(factory, clock)).message_id != message.message_id


def test_enqueue_refuses_bad_input(factory: sessionmaker[Session], clock: FrozenClock, marketing_contact: int) -> None:
    with pytest.raises(ValidationFailed) as address:
        queue(factory, clock, to_address="kein-at-zeichen")
    assert address.value.fields == {"to_address": "keine gültige E-Mail-Adresse"}
    with pytest.raises(ValidationFailed) as kind:
        queue(factory, clock, kind="werbung")
    assert "transactional, marketing" in kind.value.fields["kind"]
    with pytest.raises(ValidationFailed) as no_contact:
        queue(factory, clock, kind="marketing", template="marketing_message", context=MARKETING_CONTEXT)
    assert "Kontakt und den Zweck" in no_contact.value.fields["contact_id"]
    with pytest.raises(ValidationFailed) as other_address:
        queue_marketing(factory, clock, marketing_contact, to_address="jemand.anders@example.de")
    assert "hinterlegte Adresse" in other_address.value.fields["to_address"]
    with factory() as session:
        assert session.scalar(select(EmailMessage.id)) is None, "nothing was queued"


# Delivery --------------------------------------------------------------------------------------------


def test_delivery_to_a_real_smtp_server(
    factory: sessionmaker[Session], clock: FrozenClock, smtp_server: SmtpServer
) -> None:
    message_id = queue(factory, clock)
    clock.advance(seconds=30)
    report = deliver_due(factory, now=clock(), backend=smtp(smtp_server))
    assert (report.sent, report.retrying, report.failed, report.blocked) == (1, 0, 0, 0)

    [mail] = smtp_server.messages
    stored = row(factory, message_id)
    assert smtp_server.recipients == [["j.weiss@example.de"]]
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre Einwilligung: Newsletter", "umlauts survive RFC 2047"
    assert mail["To"] == "j.weiss@example.de" and mail["From"] == get_settings().mail_from
    assert mail["Message-ID"] == stored.message_id
    assert mail["Date"].datetime == clock()
    assert mail.get_content_type() == "multipart/alternative"
    assert "Ohne Ihre Bestätigung geschieht nichts" in body(mail, "plain")
    assert "https://crm.example.de/p/doi/abc?x=1&y=2" in body(mail, "plain")
    assert "Einwilligung bestätigen" in body(mail, "html")
    assert "List-Unsubscribe" not in mail, "a transactional mail has no unsubscribe header"
    assert (stored.status, stored.attempts, stored.sent_at, stored.lease_until) == ("sent", 1, clock(), None)

    again = deliver_due(factory, now=clock.advance(hours=1), backend=smtp(smtp_server))
    assert again.processed == 0 and len(smtp_server.messages) == 1, "a sent message is never sent again"


def test_file_backend_writes_a_readable_eml(factory: sessionmaker[Session], clock: FrozenClock, tmp_path: Path) -> None:
    message_id = queue(factory, clock, language="en")
    deliver_due(factory, now=clock(), backend=FileBackend(tmp_path / "outbox"))
    [path] = (tmp_path / "outbox").iterdir()
    assert path.name == f"{message_id}-20261125T090000000000Z.eml"
    mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(mail, MimeMessage)
    assert mail["Subject"] == "Please confirm your consent: Newsletter"
    assert "Nothing happens without your confirmation" in body(mail, "plain")
    assert "Confirm consent" in body(mail, "html")
    assert row(factory, message_id).status == "sent"


def test_backend_follows_the_settings() -> None:
    assert backend_from_settings(Settings(smtp_host=None)) == FileBackend(DATA_DIR / "outbox")
    configured = Settings(
        smtp_host="mail.example.de", smtp_port=2525, smtp_user="crm", smtp_password="pw", smtp_starttls=False
    )
    assert backend_from_settings(configured) == SmtpBackend(
        host="mail.example.de", port=2525, user="crm", password="pw", starttls=False
    )


def test_smtp_down_is_retried_with_backoff_until_the_server_is_up(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    server = SmtpServer(free_port())  # nothing listens on the port yet
    message_id = queue(factory, clock)
    start = clock()

    report = deliver_due(factory, now=start, backend=smtp(server))
    assert (report.sent, report.retrying) == (0, 1)
    waiting = row(factory, message_id)
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("queued", 1, start + dt.timedelta(minutes=1))
    assert waiting.last_error == (
        f"Der SMTP-Server 127.0.0.1:{server.port} lehnt die Verbindung ab. Läuft er, stimmen Host und Port?"
    )
    early = deliver_due(factory, now=start + dt.timedelta(seconds=59), backend=smtp(server))
    assert early.processed == 0, "not due yet"

    server.start()
    try:
        report = deliver_due(factory, now=start + dt.timedelta(minutes=1), backend=smtp(server))
        assert report.sent == 1 and len(server.messages) == 1
    finally:
        server.stop()
    sent = row(factory, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)


def test_an_unreachable_server_costs_one_attempt_not_one_per_message(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    server = SmtpServer(free_port())
    first, *others = [queue(factory, clock) for _ in range(3)]
    report = deliver_due(factory, now=clock(), backend=smtp(server))
    assert (report.retrying, report.processed) == (1, 1), "the batch stops at the first server failure"
    assert row(factory, first).attempts == 1
    assert [(row(factory, i).status, row(factory, i).attempts) for i in others] == [("queued", 0)] * 2

    server.start()
    try:
        assert deliver_due(factory, now=clock.advance(minutes=1), backend=smtp(server)).sent == 3
    finally:
        server.stop()
    assert len(server.messages) == 3


def test_gives_up_after_the_last_attempt(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    backend = SmtpBackend(host="127.0.0.1", port=free_port(), starttls=False, timeout=5)
    message_id = queue(factory, clock)
    now = clock()
    delays = []
    for _ in range(MAX_ATTEMPTS - 1):
        assert deliver_due(factory, now=now, backend=backend).retrying == 1
        due = row(factory, message_id).next_attempt_at
        assert due is not None
        delays.append(due - now)
        now = due
    assert delays == list(BACKOFF) == [dt.timedelta(minutes=m) for m in (1, 5, 30, 120, 720)]
    assert deliver_due(factory, now=now, backend=backend).failed == 1
    failed = row(factory, message_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert failed.last_error is not None and failed.last_error.endswith(f"Nach {MAX_ATTEMPTS} Versuchen aufgegeben.")
    assert deliver_due(factory, now=now + dt.timedelta(days=1), backend=backend).processed == 0


class RejectingHandler:
    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 Mailbox unbekannt"


def test_smtp_rejection_is_recorded_in_german(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    port = free_port()
    controller = Controller(RejectingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        message_id = queue(factory, clock)
        deliver_due(factory, now=clock(), backend=SmtpBackend(host="127.0.0.1", port=port, starttls=False, timeout=5))
    finally:
        controller.stop()
    rejected = row(factory, message_id)
    assert rejected.status == "queued" and rejected.attempts == 1
    assert rejected.last_error == "Der SMTP-Server lehnt den Empfänger ab (550 5.1.1 Mailbox unbekannt)."


def test_starttls_is_required_when_configured(
    factory: sessionmaker[Session], clock: FrozenClock, smtp_server: SmtpServer
) -> None:
    message_id = queue(factory, clock)
    deliver_due(factory, now=clock(), backend=SmtpBackend(host=smtp_server.host, port=smtp_server.port, timeout=5))
    assert smtp_server.messages == [], "never falls back to plain text silently"
    assert "bietet kein STARTTLS an" in (row(factory, message_id).last_error or "")


def test_lease_prevents_a_second_worker_from_sending(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    message_id = queue(factory, clock)
    second_worker: list[Any] = []

    class SlowBackend(Recorder):
        def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
            # While this worker sends, another one runs: the message is leased, so it is left alone.
            second_worker.append(deliver_due(factory, now=now, backend=self))
            second_worker.append(deliver_message(factory, row_id, now=now, backend=self))
            super().send(mime, row_id=row_id, now=now)

    backend = SlowBackend()
    report = deliver_due(factory, now=clock(), backend=backend)
    assert report.sent == 1 and len(backend.sent) == 1
    assert second_worker[0].processed == 0 and second_worker[1] == "sending"
    assert row(factory, message_id).status == "sent"


class Crash(BaseException):
    """The worker process dies mid-send (nothing in the service catches this)."""


def test_a_crashed_workers_message_is_sent_after_its_lease_ran_out(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    message_id = queue(factory, clock)

    class CrashingBackend:
        def send(self, mime: MimeMessage, *, row_id: int, now: dt.datetime) -> None:
            raise Crash

    with pytest.raises(Crash):
        deliver_due(factory, now=clock(), backend=CrashingBackend())
    stuck = row(factory, message_id)
    assert (stuck.status, stuck.lease_until) == ("sending", clock() + LEASE)

    recorder = Recorder()
    assert deliver_due(factory, now=clock() + LEASE - dt.timedelta(seconds=1), backend=recorder).processed == 0
    assert deliver_due(factory, now=clock() + LEASE + dt.timedelta(seconds=1), backend=recorder).sent == 1
    assert len(recorder.sent) == 1 and row(factory, message_id).status == "sent"


def test_deliver_message_sends_now_and_needs_mail_manage(
    factory: sessionmaker[Session], clock: FrozenClock, admin: Actor, tmp_path: Path
) -> None:
    message_id = queue(factory, clock)
    (tmp_path / "a-file").write_text("")
    deliver_due(factory, now=clock(), backend=FileBackend(tmp_path / "a-file" / "outbox"))
    waiting = row(factory, message_id)
    assert waiting.next_attempt_at == clock() + dt.timedelta(minutes=1)
    assert (waiting.last_error or "").startswith(f"Die Datei {tmp_path}/a-file/outbox/{message_id}-")
    compliance = make_user(factory, Role.COMPLIANCE, clock=clock).actor()
    with pytest.raises(PermissionDenied):
        deliver_message(factory, message_id, now=clock(), backend=Recorder(), actor=compliance)
    recorder = Recorder()
    assert deliver_message(factory, message_id, now=clock(), backend=recorder, actor=admin) == "sent", "no waiting"
    assert len(recorder.sent) == 1
    assert deliver_message(factory, message_id, now=clock(), backend=recorder, actor=admin) == "sent"
    assert len(recorder.sent) == 1, "a sent message stays sent"
    with pytest.raises(NotFound):
        deliver_message(factory, 999_999, now=clock(), backend=recorder, actor=admin)


# The consent gate ------------------------------------------------------------------------------------


def test_marketing_refused_by_the_gate_is_blocked_and_never_delivered(
    factory: sessionmaker[Session], clock: FrozenClock, marketing_contact: int, smtp_server: SmtpServer, admin: Actor
) -> None:
    message_id = queue_marketing(factory, clock, marketing_contact)
    blocked = row(factory, message_id)
    assert (blocked.status, blocked.gate_allowed, blocked.gate_reason) == ("blocked", False, "missing")
    assert blocked.gate_checked_at == clock() and blocked.next_attempt_at is None

    assert deliver_due(factory, now=clock.advance(days=1), backend=smtp(smtp_server)).processed == 0
    assert deliver_message(factory, message_id, now=clock(), backend=smtp(smtp_server), actor=admin) == "blocked"
    assert smtp_server.messages == []


def test_allowed_marketing_carries_one_click_unsubscribe(
    factory: sessionmaker[Session], clock: FrozenClock, marketing_contact: int, smtp_server: SmtpServer, admin: Actor
) -> None:
    grant(factory, clock, admin, marketing_contact)
    message_id = queue_marketing(factory, clock, marketing_contact)
    queued = row(factory, message_id)
    assert (queued.status, queued.gate_allowed, queued.gate_reason) == ("queued", True, "allowed")

    assert deliver_due(factory, now=clock.advance(minutes=1), backend=smtp(smtp_server)).sent == 1
    [mail] = smtp_server.messages
    unsubscribe = unsubscribe_url(marketing_contact, newsletter_id(factory))
    assert mail["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Subject"] == "Neuigkeiten für Sie: Frühjahr 2027"
    for kind in ("plain", "html"):
        assert unsubscribe in body(mail, kind) and preferences_url(marketing_contact) in body(mail, kind)
    sent = row(factory, message_id)
    assert (sent.status, sent.gate_allowed, sent.gate_checked_at) == ("sent", True, clock()), "checked again at sending"


def test_consent_withdrawn_after_queueing_blocks_at_send_time(
    factory: sessionmaker[Session], clock: FrozenClock, marketing_contact: int, smtp_server: SmtpServer, admin: Actor
) -> None:
    grant(factory, clock, admin, marketing_contact)
    message_id = queue_marketing(factory, clock, marketing_contact)
    clock.advance(minutes=1)
    revoke_consent(
        UnitOfWork(factory, actor=admin, clock=clock),
        contact_id=marketing_contact, channel="email", purpose="newsletter", source="sales",
    )
    report = deliver_due(factory, now=clock.advance(minutes=1), backend=smtp(smtp_server))
    assert (report.sent, report.blocked) == (0, 1)
    assert smtp_server.messages == []
    blocked = row(factory, message_id)
    assert (blocked.status, blocked.gate_allowed, blocked.gate_reason) == ("blocked", False, "revoked")
    assert blocked.gate_checked_at == clock() and blocked.lease_until is None
    assert deliver_due(factory, now=clock.advance(days=1), backend=smtp(smtp_server)).processed == 0


# Postausgang services --------------------------------------------------------------------------------


def test_outbox_lists_filters_and_shows_a_message(
    factory: sessionmaker[Session], clock: FrozenClock, admin: Actor
) -> None:
    first = queue(factory, clock, to_address="erika@example.de")
    second = queue(factory, clock, to_address="max@example.de", category="passwort")
    deliver_message(factory, second, now=clock(), backend=Recorder(), actor=admin)
    uow = UnitOfWork(factory, actor=admin, clock=clock)

    everything = list_messages(uow, ListQuery(sort="created_at", descending=True))
    assert everything.total == 2 and set(everything.rows["id"]) == {first, second}
    assert list(list_messages(uow, ListQuery(filters={"status": ["sent"]})).rows["id"]) == [second]
    assert list(list_messages(uow, ListQuery(filters={"category": "doi"})).rows["id"]) == [first]
    assert list(list_messages(uow, ListQuery(search="ERIKA@")).rows["id"]) == [first]
    assert list_messages(uow, ListQuery(search="%")).total == 0, "LIKE wildcards are searched literally"
    assert message_categories(uow) == ["doi", "passwort"]
    assert status_counts(uow) == {"queued": 1, "sent": 1}

    view = get_message(uow, second)
    assert view.status == "sent" and view.eml_name == f"email-{second}.eml"
    mail = email.message_from_bytes(view.eml, policy=policy.default)
    assert mail["Message-ID"] == view.message_id and mail["To"] == "max@example.de"
    assert mail["Date"].datetime == view.sent_at
    with pytest.raises(NotFound):
        get_message(uow, 999_999)


def test_retry_puts_a_failed_message_back_in_line_and_is_audited(
    factory: sessionmaker[Session], clock: FrozenClock, admin: Actor
) -> None:
    message_id = queue(factory, clock)
    with factory() as session:
        failed = session.get(EmailMessage, message_id)
        assert failed is not None
        failed.status, failed.attempts, failed.next_attempt_at = "failed", MAX_ATTEMPTS, None
        session.commit()

    clock.advance(hours=2)
    view = retry_message(UnitOfWork(factory, actor=admin, clock=clock), message_id)
    assert (view.status, view.attempts, view.next_attempt_at) == ("queued", 0, clock())
    with factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "email_message", AuditEntry.entity_id == str(message_id))
        ).all()
    assert {(e.action, e.field, e.old_value, e.new_value) for e in entries} >= {
        ("retried", "status", "failed", "queued"),
        ("retried", "attempts", str(MAX_ATTEMPTS), "0"),
    }
    assert deliver_due(factory, now=clock(), backend=Recorder()).sent == 1

    with pytest.raises(Conflict) as sent:
        retry_message(UnitOfWork(factory, actor=admin, clock=clock), message_id)
    assert "Status „sent“" in sent.value.message


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MARKETING, Role.VIEWER])
def test_outbox_needs_mail_read(factory: sessionmaker[Session], clock: FrozenClock, role: Role) -> None:
    uow = UnitOfWork(factory, actor=make_user(factory, role, clock=clock).actor(), clock=clock)
    with pytest.raises(PermissionDenied):
        list_messages(uow, ListQuery())


def test_compliance_reads_the_outbox_but_cannot_retry(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    message_id = queue(factory, clock)
    uow = UnitOfWork(factory, actor=make_user(factory, Role.COMPLIANCE, clock=clock).actor(), clock=clock)
    assert get_message(uow, message_id).status == "queued"
    with pytest.raises(PermissionDenied):
        retry_message(uow, message_id)
