"""The demo's data-subject requests: recorded through the request services on the demo contacts, with a log
chain that verifies and a dashboard that shows open, due-soon, overdue and closed requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.demo import DemoReport, seed_demo
from core.demo_gdpr import LABEL_REQUESTS, STORIES
from core.gdpr.deadlines import received_on
from core.gdpr.requests import dashboard, get_request, list_requests, request_log, verify_log
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import AuditEntry, Contact, GdprLogEntry, GdprRequest, ProcessingRestriction
from tests.conftest import FrozenClock

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Seeded:
    connection: Connection
    factory: sessionmaker[Session]
    report: DemoReport

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=SYSTEM, clock=lambda: NOW)


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[Seeded]:
    """Tiny demo data (with its consent history and GDPR requests), once per backend, rolled back afterwards."""
    connection = engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    report = seed_demo(factory, size="tiny", seed=11, clock=FrozenClock(NOW), history=0)
    try:
        yield Seeded(connection, factory, report)
    finally:
        transaction.rollback()
        connection.close()


def rows(factory: sessionmaker[Session], stmt: Any) -> list[Any]:
    with factory() as session:
        return list(session.execute(stmt).all())


def test_requests_are_recorded_through_the_services_and_the_log_verifies(seeded: Seeded) -> None:
    requests = [r for (r,) in rows(seeded.factory, select(GdprRequest).order_by(GdprRequest.id))]
    entries = [e for (e,) in rows(seeded.factory, select(GdprLogEntry).order_by(GdprLogEntry.id))]
    with seeded.factory() as session:
        verification = verify_log(session)

    assert seeded.report.count(LABEL_REQUESTS) == len(requests) == len(STORIES)
    assert verification.ok and verification.checked == len(entries), verification.describe()
    times = [e.occurred_at for e in entries]
    assert times == sorted(times), "steps are written in time order across requests"
    assert all(NOW - dt.timedelta(days=61) < t < NOW for t in times)
    firsts = {}
    for entry in entries:
        firsts.setdefault(entry.request_id, entry)
    assert {e.action for e in firsts.values()} == {"received"} and set(firsts) == {r.id for r in requests}
    assert all(e.actor_name == "demo.datenschutz" for e in entries)
    assert all(r.requester_name and r.requester_name.startswith("enc:") for r in requests), "requester encrypted"
    audited = rows(seeded.factory, select(func.count()).where(AuditEntry.entity == "gdpr_request"))[0][0]
    assert audited >= len(requests)


def test_the_dashboard_shows_open_due_soon_overdue_and_closed_requests(seeded: Seeded) -> None:
    board = dashboard(seeded.uow())
    frame = list_requests(seeded.uow())

    assert board.open == 5 and board.overdue >= 1 and board.due_soon >= 1
    assert (board.completed, board.rejected, board.closed_late) == (2, 1, 0)
    assert board.average_handling_days is not None and 0 < board.average_handling_days < 15
    assert set(frame.light) == {"green", "yellow", "red", "closed"}
    assert set(frame.type) == {"access", "rectification", "portability", "erasure"}
    assert set(frame.channel) == {"email", "letter", "phone", "web_form"}
    assert set(frame.status) == {"received", "identity_check", "in_progress", "completed", "rejected"}
    assert sum(frame.assignee.notna()) == 3


def test_each_story_ends_in_its_state(seeded: Seeded) -> None:
    uow = seeded.uow()
    views = [get_request(uow, int(i)) for i in list_requests(seeded.uow()).id]
    today = received_on(NOW)

    answered = next(v for v in views if v.type == "access" and v.status == "completed")
    assert answered.identity_confirmed and answered.contact_ids and "ZIP-Archiv" in (answered.outcome or "")
    assert [e.action for e in request_log(seeded.uow(), answered.id)] == [
        "received", "identity_checked", "subject_confirmed", "completed",
    ]

    refused = next(v for v in views if v.status == "rejected")
    assert refused.type == "erasure" and refused.channel == "phone" and refused.identity_result == "failed"
    assert "Art. 12 Abs. 6" in (refused.rejection_reason or "") and refused.identity_note

    extended = next(v for v in views if v.extended)
    assert extended.is_open and extended.light(today) == "green" and "zwei Monate" in (extended.extension_reason or "")
    assert extended.due_on > extended.original_due_on

    overdue = next(v for v in views if v.is_open and v.light(today) == "red")
    assert overdue.status == "in_progress" and overdue.identity_confirmed

    doubtful = next(v for v in views if v.status == "identity_check")
    assert doubtful.identity_result == "doubtful" and doubtful.channel == "letter"

    fresh = next(v for v in views if v.status == "received")
    assert fresh.type == "erasure" and fresh.light(today) == "green" and not fresh.contact_ids


def test_the_rectification_corrected_the_contact_and_nobody_was_erased(seeded: Seeded) -> None:
    views = [get_request(seeded.uow(), int(i)) for i in list_requests(seeded.uow()).id]
    rectified = next(v for v in views if v.type == "rectification" and v.status == "completed")
    reasons = rows(
        seeded.factory,
        select(AuditEntry.field, AuditEntry.reason, AuditEntry.actor_name).where(
            AuditEntry.entity == "contact", AuditEntry.entity_id == str(rectified.contact_ids[0]),
            AuditEntry.action == "updated",
        ),
    )
    assert ("job_title", f"Berichtigung nach Art. 16 DSGVO (Betroffenenanfrage {rectified.id})",
            "demo.vertriebsleitung") in reasons

    subjects = [i for v in views for i in v.contact_ids]
    assert len(subjects) == len(set(subjects)) == 5
    found = rows(seeded.factory, select(Contact.id, Contact.email).where(Contact.id.in_(subjects)))
    assert len(found) == len(subjects) and all(email for _, email in found), "nobody was erased"
    restricted = rows(seeded.factory, select(ProcessingRestriction.contact_id))
    assert restricted and not {i for (i,) in restricted} & set(subjects), "restricted people may not be edited"
    for view in views:
        if view.contact_ids and view.requester_email:
            (email,) = (e for i, e in found if i == view.contact_ids[0])
            assert view.requester_email == email


def test_a_second_seed_adds_no_requests(seeded: Seeded) -> None:
    savepoint = seeded.connection.begin_nested()
    try:
        report = seed_demo(seeded.factory, size="tiny", seed=12, clock=FrozenClock(NOW), history=0, duplicates=False)
        count = rows(seeded.factory, select(func.count()).select_from(GdprRequest))[0][0]
        with seeded.factory() as session:
            verification = verify_log(session)
    finally:
        savepoint.rollback()
    assert count == len(STORIES) and report.count(LABEL_REQUESTS) == 0
    assert any("bereits 8 Betroffenenanfragen" in note for note in report.notes)
    assert verification.ok
