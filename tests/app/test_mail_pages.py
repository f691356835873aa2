"""The Postausgang page: list with a waiting and a sent e-mail, the detail of one, "Jetzt zustellen" to a real
local SMTP server, "Erneut versuchen" for a failed one, read-only for compliance, refused without mail.read."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from core.database import session_factory
from core.email import deliver_message, enqueue_email
from core.permissions import SYSTEM, Role
from core.settings import get_settings
from db.models import EmailMessage
from tests.app.conftest import AppData, LoggedIn
from tests.conftest import FrozenClock
from tests.smtp import SmtpServer


PAGE = "pages/admin_postausgang.py"
_seq = itertools.count(1)
DOI_CONTEXT = {
    "name": "Jürgen Weiß",
    "purpose_name": "Newsletter",
    "consent_title": "Einwilligung: Newsletter",
    "consent_text": "Ja, ich möchte den Newsletter erhalten.",
    "confirm_url": "https://crm.example.de/p/doi/abc",
    "expires_at_text": "27.11.2026, 10:00 Uhr",
    "sender": "Müller Maschinenbau GmbH",
}


class Recorder:
    def send(self, mime: object, *, row_id: int, now: dt.datetime) -> None:
        pass


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def factory(app_data: AppData) -> sessionmaker[Session]:
    return session_factory(app_data.url)


def queue(app_data: AppData, clock: FrozenClock, domain: str) -> int:
    """A DOI mail to a recipient of its own (the app database is shared by all tests)."""
    with factory(app_data)() as session:
        message = enqueue_email(
            session, now=clock(), kind="transactional", category="doi", template="doi_confirmation", language="de",
            to_address=f"person{next(_seq)}@{domain}", context=DOI_CONTEXT,
        )
        session.commit()
        return message.id


def stored(app_data: AppData, message_id: int) -> EmailMessage:
    with factory(app_data)() as session:
        found = session.get(EmailMessage, message_id)
        assert found is not None
        return found


def open_page(logged_in: LoggedIn, role: Role, search: str, *, lang: str = "de") -> AppTest:
    at = logged_in(role, lang=lang)
    at.switch_page(PAGE).run()
    assert_clean(at)
    at.text_input(key="postausgang_list__search").input(search).run()
    assert_clean(at)
    return at


def picker(at: AppTest):  # noqa: ANN201 - AppTest's multiselect element
    return next(m for m in at.multiselect if m.label in ("Auswahl", "Selection"))


def open_message(at: AppTest, message_id: int) -> AppTest:
    picker(at).set_value([message_id]).run()
    at.button(key="postausgang_list__open").click().run()
    assert_clean(at)
    return at


def test_admin_lists_waiting_and_sent_mails_and_opens_one(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    waiting = queue(app_data, app_clock, "liste.example")
    sent = queue(app_data, app_clock, "liste.example")
    deliver_message(factory(app_data), sent, now=app_clock(), backend=Recorder(), actor=SYSTEM)

    at = open_page(logged_in, Role.ADMIN, "liste.example")
    assert at.title[0].value.endswith("Postausgang")
    labels = list(picker(at).options)
    assert len(labels) == 2 and all("Bitte bestätigen Sie Ihre Einwilligung: Newsletter" in label for label in labels)
    assert any("2 E-Mails" in c.value for c in at.caption)

    open_message(at, waiting)
    assert at.subheader[0].value == f"E-Mail Nr. {waiting}: Bitte bestätigen Sie Ihre Einwilligung: Newsletter"
    page_text = "\n".join(m.value for m in at.markdown)
    assert "**wartet auf Versand**" in page_text and "nicht nötig (Transaktions-E-Mail)" in page_text
    assert [tab.label for tab in at.tabs] == ["Textfassung", "HTML-Fassung", "Kopfzeilen"]
    assert any("Ohne Ihre Bestätigung geschieht nichts" in code.value for code in at.code)
    assert any('href="https://crm.example.de/p/doi/abc"' in code.value for code in at.code), "escaped HTML source"
    assert at.button(key="postausgang__send_now") is not None
    headers = at.dataframe[0].value
    assert dict(zip(headers["Kopfzeile"], headers["Wert"]))["Subject"].startswith("Bitte bestätigen")

    at.button(key="postausgang__close").click().run()
    open_message(at, sent)
    assert "**gesendet**" in "\n".join(m.value for m in at.markdown)
    assert not [b for b in at.button if b.key in ("postausgang__send_now", "postausgang__retry")]


def test_send_now_delivers_to_the_configured_smtp_server(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("CRM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CRM_SMTP_STARTTLS", "false")
    get_settings.cache_clear()
    message_id = queue(app_data, app_clock, "jetzt.example")

    at = open_message(open_page(logged_in, Role.ADMIN, "jetzt.example"), message_id)
    assert any(f"{smtp_server.host}:{smtp_server.port}" in c.value for c in at.caption), "the page names the server"
    at.button(key="postausgang__send_now").click().run()
    assert_clean(at)
    assert [s.value for s in at.success] == [f"E-Mail Nr. {message_id} wurde zugestellt."]
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre Einwilligung: Newsletter"
    assert stored(app_data, message_id).status == "sent"
    assert "**gesendet**" in "\n".join(m.value for m in at.markdown)


def test_admin_retries_a_failed_mail(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    message_id = queue(app_data, app_clock, "fehler.example")
    with factory(app_data)() as session:
        failed = session.get(EmailMessage, message_id)
        assert failed is not None
        failed.status, failed.attempts, failed.next_attempt_at = "failed", 6, None
        failed.last_error = "Der SMTP-Server lehnt den Empfänger ab (550 5.1.1 Mailbox unbekannt)."
        session.commit()

    at = open_message(open_page(logged_in, Role.ADMIN, "fehler.example"), message_id)
    assert any("550 5.1.1 Mailbox unbekannt" in e.value for e in at.error), "the error is shown in German"
    at.button(key="postausgang__retry").click().run()
    assert_clean(at)
    retried = stored(app_data, message_id)
    assert (retried.status, retried.attempts, retried.next_attempt_at) == ("queued", 0, app_clock())
    assert "**wartet auf Versand**" in "\n".join(m.value for m in at.markdown)


def test_compliance_reads_but_cannot_send(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    message_id = queue(app_data, app_clock, "lesen.example")
    at = open_message(open_page(logged_in, Role.COMPLIANCE, "lesen.example"), message_id)
    assert at.subheader[0].value.startswith(f"E-Mail Nr. {message_id}")
    assert not [b for b in at.button if b.key in ("postausgang__send_now", "postausgang__retry")]
    assert any("nur Administratoren" in c.value for c in at.caption)


def test_page_speaks_english(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    message_id = queue(app_data, app_clock, "english.example")
    at = open_message(open_page(logged_in, Role.ADMIN, "english.example", lang="en"), message_id)
    assert at.title[0].value.endswith("Outbox")
    assert [tab.label for tab in at.tabs] == ["Text version", "HTML version", "Headers"]
    assert "**waiting to be sent**" in "\n".join(m.value for m in at.markdown)
    assert at.button(key="postausgang__send_now").label == "Send now"


@pytest.mark.parametrize("role", [Role.MARKETING, Role.SALES_REP, Role.VIEWER])
def test_roles_without_mail_read_cannot_open_the_page(logged_in: LoggedIn, role: Role) -> None:
    at = logged_in(role)
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert any("Keine Berechtigung" in e.value for e in at.error)
    assert not at.title, "the page itself did not run"
