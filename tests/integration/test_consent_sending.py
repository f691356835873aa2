"""No marketing e-mail reaches a contact the consent gate refuses — one test per reason, refused when the mail is
queued and, if the consent changes after queueing, again right before delivery. A real SMTP server (aiosmtpd)
must receive nothing. Also: the unsubscribe link takes effect for mails already in the queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.consent.doi import request_doi
from core.consent.gate import load_purpose
from core.consent.links import unsubscribe_token
from core.consent.preferences import unsubscribe
from core.consent.restrictions import add_restriction
from core.consent.service import grant_consent, revoke_consent
from core.consent.suppression import suppress_contact
from core.email.delivery import SmtpBackend, deliver_due
from core.email.queue import enqueue_email
from core.permissions import Actor, Role
from core.uow import UnitOfWork
from db.models import EmailMessage
from tests.conftest import FrozenClock
from tests.factories.crm import make_contact
from tests.factories.identity import make_user
from tests.smtp import SmtpServer


@dataclass
class World:
    factory: sessionmaker[Session]
    clock: FrozenClock
    admin: Actor
    smtp: SmtpServer

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=self.admin, clock=self.clock)

    def contact(self) -> int:
        return make_contact(self.factory, self.admin, clock=self.clock, email="leser@example.de").id

    def grant(self, contact: int, **values: object) -> None:
        grant_consent(
            self.uow(), contact_id=contact, channel="email", purpose="newsletter", source="sales",
            evidence="Formular", **values,  # type: ignore[arg-type]
        )

    def queue(self, contact: int) -> int:
        with self.factory() as session:
            purpose = load_purpose(session, "newsletter")
            message = enqueue_email(
                session, now=self.clock(), kind="marketing", category="newsletter", template="marketing_message",
                language="de", to_address="leser@example.de", contact_id=contact, purpose_id=purpose.id,
                context={"subject": "Neuigkeiten im November", "body_text": "Unsere Neuigkeiten."},
            )
            session.commit()
            return message.id

    def deliver(self) -> None:
        deliver_due(self.factory, now=self.clock(), backend=SmtpBackend(self.smtp.host, self.smtp.port, starttls=False))

    def message(self, message_id: int) -> EmailMessage:
        with self.factory() as session:
            found = session.get(EmailMessage, message_id)
            assert found is not None
            return found


@pytest.fixture
def w(factory: sessionmaker[Session], clock: FrozenClock, smtp_server: SmtpServer) -> World:
    return World(factory, clock, make_user(factory, Role.ADMIN).actor(), smtp_server)


Setup = Callable[[World, int], None]


def _revoke(w: World, contact: int) -> None:
    revoke_consent(w.uow(), contact_id=contact, channel="email", purpose="newsletter", source="phone")


def _expire(w: World, contact: int) -> None:
    w.clock.advance(days=31)


def _restrict(w: World, contact: int) -> None:
    add_restriction(w.uow(), contact_id=contact, kind="restriction", reason="Art. 18")


def _object(w: World, contact: int) -> None:
    add_restriction(w.uow(), contact_id=contact, kind="objection", reason="Art. 21")


def _suppress(w: World, contact: int) -> None:
    suppress_contact(w.uow(), contact, reason="complaint")


def _grant_expiring(w: World, contact: int) -> None:
    w.grant(contact, valid_until=w.clock() + dt.timedelta(days=30))


def _grant(w: World, contact: int) -> None:
    w.grant(contact)


def _nothing(w: World, contact: int) -> None:
    return None


def _pending(w: World, contact: int) -> None:
    request_doi(w.uow(), contact_id=contact, purpose="newsletter", source="webform")


# (reason, state before queueing, change after queueing or None when it can only hold from the start)
CASES: list[tuple[str, Setup, Setup | None]] = [
    ("missing", _nothing, None),
    ("pending", _pending, None),
    ("revoked", _grant, _revoke),
    ("expired", _grant_expiring, _expire),
    ("restricted", _grant, _restrict),
    ("objected", _grant, _object),
    ("suppressed", _grant, _suppress),
]


def _sent_marketing(w: World) -> list[str]:
    return [m["Subject"] for m in w.smtp.messages if m["Subject"] == "Neuigkeiten im November"]


@pytest.mark.parametrize(("reason", "before", "after"), CASES, ids=[c[0] for c in CASES])
def test_refused_when_queued(w: World, reason: str, before: Setup, after: Setup | None) -> None:
    contact = w.contact()
    before(w, contact)
    if after is not None:
        after(w, contact)
    message_id = w.queue(contact)
    w.deliver()
    message = w.message(message_id)
    assert (message.status, message.gate_allowed, message.gate_reason) == ("blocked", False, reason)
    assert _sent_marketing(w) == []


@pytest.mark.parametrize(
    ("reason", "before", "after"), [c for c in CASES if c[2] is not None], ids=[c[0] for c in CASES if c[2] is not None]
)
def test_refused_again_right_before_delivery(w: World, reason: str, before: Setup, after: Setup) -> None:
    contact = w.contact()
    before(w, contact)
    message_id = w.queue(contact)
    assert w.message(message_id).status == "queued"
    w.clock.advance(seconds=1)
    after(w, contact)
    w.deliver()
    message = w.message(message_id)
    assert (message.status, message.gate_reason) == ("blocked", reason)
    assert _sent_marketing(w) == []


def test_an_allowed_mail_is_delivered(w: World) -> None:
    contact = w.contact()
    w.grant(contact)
    message_id = w.queue(contact)
    w.deliver()
    assert w.message(message_id).status == "sent"
    assert _sent_marketing(w) == ["Neuigkeiten im November"]


def test_the_unsubscribe_link_stops_queued_mails_at_once(w: World) -> None:
    contact = w.contact()
    w.grant(contact)
    first, second = w.queue(contact), w.queue(contact)
    with w.factory() as session:
        purpose_id = load_purpose(session, "newsletter").id
    w.clock.advance(seconds=5)
    unsubscribe(w.factory, unsubscribe_token(contact, purpose_id), ip="192.0.2.1", user_agent="Mailprogramm", clock=w.clock)
    w.deliver()
    assert [w.message(first).status, w.message(second).status] == ["blocked", "blocked"]
    assert _sent_marketing(w) == []
    with w.factory() as session:
        reasons = session.scalars(select(EmailMessage.gate_reason).where(EmailMessage.id.in_([first, second]))).all()
    assert reasons == ["revoked", "revoked"]
