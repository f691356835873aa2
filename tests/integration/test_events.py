"""Outbox events reach in-process subscribers at least once, in order, with retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import events
from core.accounts import update_account
from core.uow import UnitOfWork
from db.models import EventSubscription
from tests.conftest import FrozenClock
from tests.factories.crm import make_account
from tests.factories.identity import make_user


@pytest.fixture
def received() -> Iterator[list[events.Event]]:
    seen: list[events.Event] = []
    calls = {"n": 0}

    @events.subscribe("crm.account.*", name="test.accounts")
    def on_account(session: Session, event: events.Event) -> None:
        calls["n"] += 1
        seen.append(event)

    yield seen
    events.unsubscribe("test.accounts")


def test_subscriber_receives_matching_events_once_in_order(
    factory: sessionmaker[Session], clock: FrozenClock, received: list[events.Event]
) -> None:
    admin = make_user(factory, clock=clock).actor()
    account = make_account(factory, admin, clock=clock)
    update_account(UnitOfWork(factory, actor=admin, clock=clock), account.id, {"city": "Bonn", "postcode": "53111"}, expected_version=1)

    report = events.dispatch_pending(factory, now=clock())
    assert [e.name for e in received] == ["crm.account.created", "crm.account.updated"]
    assert report.delivered >= 3 and report.failed == []  # the user's creation event is passed over, not lost
    assert received[1].payload["after"]["city"] == "Bonn"

    events.dispatch_pending(factory, now=clock())
    assert len(received) == 2, "delivered events are not handed out again"


def test_failing_handler_is_retried_with_backoff_and_blocks_nothing_else(
    factory: sessionmaker[Session], clock: FrozenClock, received: list[events.Event]
) -> None:
    attempts: list[int] = []

    @events.subscribe("crm.account.created", name="test.flaky")
    def flaky(session: Session, event: events.Event) -> None:
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("SMTP nicht erreichbar")

    try:
        admin = make_user(factory, clock=clock).actor()
        make_account(factory, admin, clock=clock)
        report = events.dispatch_pending(factory, now=clock())
        assert report.failed == ["test.flaky"]
        assert [e.name for e in received] == ["crm.account.created"], "other subscribers still get the event"
        with factory() as s:
            cursor = s.scalars(select(EventSubscription).where(EventSubscription.subscriber == "test.flaky")).one()
            assert cursor.attempts == 1 and "SMTP nicht erreichbar" in (cursor.last_error or "")

        events.dispatch_pending(factory, now=clock.advance(seconds=5))
        assert len(attempts) == 1, "waits for the backoff"
        events.dispatch_pending(factory, now=clock.advance(seconds=10))
        assert len(attempts) == 2 and attempts[0] == attempts[1], "the same event is delivered again"
        with factory() as s:
            cursor = s.get(EventSubscription, "test.flaky")
            assert cursor is not None and cursor.attempts == 0 and cursor.last_error is None
    finally:
        events.unsubscribe("test.flaky")


def test_handler_writes_commit_with_the_cursor(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    """A handler's own writes and the cursor advance share a transaction (effectively once)."""

    @events.subscribe("crm.account.created", name="test.writer")
    def writer(session: Session, event: events.Event) -> None:
        session.add(EventSubscription(subscriber=f"marker-{event.entity_id}", last_event_id=event.id, updated_at=clock()))

    try:
        admin = make_user(factory, clock=clock).actor()
        account = make_account(factory, admin, clock=clock)
        events.dispatch_pending(factory, now=clock())
        events.dispatch_pending(factory, now=clock())
        with factory() as s:
            assert s.get(EventSubscription, f"marker-{account.id}") is not None
    finally:
        events.unsubscribe("test.writer")


def test_unregistered_event_names_are_refused(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    admin = make_user(factory, clock=clock).actor()
    with UnitOfWork(factory, actor=admin, clock=clock) as uow:
        with pytest.raises(ValueError, match="not registered"):
            uow.emit("crm.account.exploded", entity="account", entity_id=1, payload={})
    with pytest.raises(ValueError, match="past_tense_verb"):
        events.register_event("Account-Updated", "bad name")


def test_recent_events_filters_by_prefix(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    admin = make_user(factory, clock=clock).actor()
    make_account(factory, admin, clock=clock)
    with factory() as s:
        frame = events.recent_events(s, name_prefix="crm.account")
    assert list(frame.name) == ["crm.account.created"]
