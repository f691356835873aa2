"""Acceptance of Art. 17 on the demo data, in a database of its own with committed data (SQLite file and a
PostgreSQL database): after erasing a rich contact — deals, quote and order, consents, DOI and campaign mails,
addresses, audit history, events — none of the person's name, e-mail, phone or address is anywhere: not in any
text column (checked here independently of the erasure's own verification), not in the SQLite file or its WAL.
The audit, consent and request chains still verify, the reports sum to the same totals, and re-importing the
address does not bring marketing consent back.

Behavioural data is the segments module's `activities` (an opened newsletter, a call note) and a tag. Tracking and
campaigns are not modules yet; when they land they register their tables in the personal-data registry and are
covered by the same erasure and verification.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.addresses import add_address
from core.consent.doi import request_doi
from core.consent.gate import load_purpose, may_contact
from core.consent.ledger import verify_ledger
from core.consent.service import grant_consent
from core.contacts import get_contact, update_contact
from core.demo import seed_demo
from core.email.queue import enqueue_email
from core.gdpr.erasure import erase
from core.gdpr.requests import confirm_subject, receive_request, record_identity, verify_log
from core.imports.doi import DoiOption
from core.imports.reading import read_file
from core.imports.service import run_import
from core.permissions import SYSTEM
from core.sales.forecast import forecast
from core.uow import UnitOfWork
from db.migrate import upgrade
from db.models import (
    Activity,
    AuditEntry,
    ConsentEntry,
    Contact,
    ContactTag,
    EmailMessage,
    Opportunity,
    OpportunityContact,
    ProcessingRestriction,
    SalesOrder,
)
from db.session import create_db_engine
from tests.conftest import BACKENDS, FrozenClock, postgres_url, private_postgres_database

FIRST, LAST = "Wendelgard", "Zirbelhuber"
EMAIL = "w.zirbelhuber@zirbel-demo.example"
PHONE, MOBILE = "+49 6221 4471190", "+49 152 33419876"
STREET = "Kranichsteiner Hohlweg"


@dataclass
class Demo:
    url: str
    engine: Engine
    factory: sessionmaker[Session]
    clock: FrozenClock

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=SYSTEM, clock=self.clock)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    clock = FrozenClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('gdpr') / 'erasure.db'}"
        yield from _seeded(url, clock)
        return
    server = postgres_url()
    assert server is not None
    with private_postgres_database(server, suffix="_gdpr") as url:
        yield from _seeded(url, clock)


def _seeded(url: str, clock: FrozenClock) -> Iterator[Demo]:
    upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    seed_demo(factory, size="tiny", contacts=400, seed=17, clock=clock)
    try:
        yield Demo(url, engine, factory, clock)
    finally:
        engine.dispose()


def _richest_contact(demo: Demo) -> int:
    """A demo contact with a deal role, consent history and audit history."""
    with demo.factory() as session:
        roles = select(OpportunityContact.contact_id)
        consents = select(ConsentEntry.contact_id)
        history = (
            select(AuditEntry.entity_id, func.count().label("n"))
            .where(AuditEntry.entity == "contact")
            .group_by(AuditEntry.entity_id)
            .subquery()
        )
        return session.execute(
            select(Contact.id)
            .outerjoin(history, history.c.entity_id == func.cast(Contact.id, history.c.entity_id.type))
            .where(
                Contact.id.in_(roles),
                Contact.id.in_(consents),
                Contact.email.is_not(None),
                Contact.id.not_in(select(ProcessingRestriction.contact_id)),
            )
            .order_by(func.coalesce(history.c.n, 0).desc(), Contact.id)
            .limit(1)
        ).scalar_one()


def _make_unmistakable(demo: Demo, contact_id: int) -> str:
    """Give the person identifiers nobody else has, through the services (audited, evented), and add mails.
    Returns the demo e-mail address the person had before (searched for too)."""
    uow = demo.uow()
    contact = get_contact(uow, contact_id)
    assert contact.email
    update_contact(
        uow,
        contact_id,
        {"first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": PHONE, "mobile": MOBILE},
        expected_version=contact.version,
    )
    add_address(
        uow,
        owner=("contact", contact_id),
        values={"type": "post", "street": STREET, "house_number": "88", "postcode": "64287", "city": "Darmstadt"},
    )
    grant_consent(
        uow,
        contact_id=contact_id,
        channel="email",
        purpose="newsletter",
        source="sales",
        evidence=f"Formular von {EMAIL}",
        ip="198.51.100.23",
    )
    request_doi(uow, contact_id=contact_id, purpose="produktinformationen", source="sales")
    with demo.factory() as session:
        enqueue_email(
            session,
            now=demo.clock(),
            kind="marketing",
            category="newsletter",
            template="marketing_message",
            language="de",
            to_address=EMAIL,
            contact_id=contact_id,
            purpose_id=load_purpose(session, "newsletter").id,
            context={
                "subject": "Neuigkeiten im November",
                "body_text": f"Liebe Frau {LAST}, unsere Neuigkeiten für {FIRST} {LAST}.",
            },
        )
        # Behavioural data (the segments module's activities; the timeline module will write them): the opened
        # newsletter, a call whose note names her, and a tag.
        session.add_all(
            [
                Activity(contact_id=contact_id, type="email_open", occurred_at=demo.clock(), campaign_key="nl-2026-11"),
                Activity(contact_id=contact_id, type="call", occurred_at=demo.clock(), subject=f"Rückruf {FIRST} {LAST}"),
                ContactTag(contact_id=contact_id, tag="vip"),
            ]
        )
        session.commit()
    return contact.email


def _totals(demo: Demo) -> tuple[object, ...]:
    with demo.factory() as session:
        deals = session.execute(select(func.count(), func.sum(Opportunity.amount))).one()
        orders = session.execute(select(func.count(), func.sum(SalesOrder.gross_total))).one()
    frame = forecast(demo.uow(), period="quarter", date_from=dt.date(2024, 1, 1), date_to=dt.date(2027, 12, 31))
    numeric = frame.select_dtypes("number").sum().round(2).to_dict() if not frame.empty else {}
    return tuple(deals), tuple(orders), len(frame), numeric


PROBES = (FIRST, LAST, EMAIL, EMAIL.lower(), "6221 4471190", "+4962214471190", "152 33419876", "+4915233419876", STREET)


def _holders_of_email(demo: Demo, email: str) -> int:
    with demo.factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Contact).where(func.lower(Contact.email) == email.lower()))
            or 0
        )


def _text_columns_holding(demo: Demo, probe: str) -> list[str]:
    """Independent of core/gdpr/verification.py: every text-like column of every table in the schema."""
    found = []
    with demo.engine.connect() as conn:
        if demo.engine.dialect.name == "postgresql":
            columns = conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'character')"
                )
            ).all()
            for table, column in columns:
                hits = conn.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE :p'), {"p": f"%{probe}%"}
                ).scalar_one()
                if hits:
                    found.append(f"{table}.{column}")
        else:
            tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
            for table in tables:
                for column in conn.execute(text(f'PRAGMA table_info("{table}")')).all():
                    hits = conn.execute(
                        text(f'SELECT count(*) FROM "{table}" WHERE CAST("{column[1]}" AS TEXT) LIKE :p'),
                        {"p": f"%{probe}%"},
                    ).scalar_one()
                    if hits:
                        found.append(f"{table}.{column[1]}")
    return found


def _raw_sqlite_hits(demo: Demo, probes: tuple[str, ...] = PROBES) -> dict[str, list[str]]:
    path = demo.engine.url.database
    assert path
    hits: dict[str, list[str]] = {}
    for name in (path, f"{path}-wal", f"{path}-journal"):
        if not os.path.exists(name):
            continue
        data = open(name, "rb").read()
        found = [p for p in probes if p.encode() in data or p.lower().encode() in data]
        if found:
            hits[os.path.basename(name)] = found
    return hits


def test_erasure_of_a_rich_demo_contact_leaves_no_trace_and_changes_no_totals(demo: Demo) -> None:
    contact_id = _richest_contact(demo)
    old_email = _make_unmistakable(demo, contact_id)
    probes = PROBES + ((old_email,) if _holders_of_email(demo, old_email) == 0 else ())
    assert _text_columns_holding(demo, LAST), "the probes must find the person before the erasure"
    if demo.engine.dialect.name == "sqlite":
        with demo.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _raw_sqlite_hits(demo), "the raw scan must see the person before the erasure"
    before = _totals(demo)
    with demo.factory() as session:  # the demo's own activities and tags of the person, plus the ones added above
        behaviour = [
            session.scalar(select(func.count()).select_from(model).where(model.contact_id == contact_id))
            for model in (Activity, ContactTag)
        ]

    request = receive_request(
        demo.uow(), type="erasure", channel="email", requester_email=EMAIL, requester_name=f"{FIRST} {LAST}"
    )
    record_identity(demo.uow(), request.id, method="known_address", result="confirmed")
    confirm_subject(demo.uow(), request.id, contact_ids=[contact_id])
    result = erase(demo.uow(), request.id)

    assert result.complete and result.residues == []
    assert result.counts["contacts"] == 1 and result.counts["email_messages"] >= 2
    assert [result.counts["activities"], result.counts["contact_tags"]] == behaviour
    assert behaviour[0] >= 2 and behaviour[1] >= 1
    for probe in probes:
        assert _text_columns_holding(demo, probe) == [], probe
    if demo.engine.dialect.name == "sqlite":
        assert _raw_sqlite_hits(demo, probes) == {}
    with demo.factory() as session:
        assert audit.verify_chain(session).ok
        assert verify_ledger(session).ok
        assert verify_log(session).ok
    assert _totals(demo) == before

    again = run_import(
        demo.uow(),
        read_file(f"Vorname;Nachname;E-Mail\r\n{FIRST};{LAST};{EMAIL}".encode(), "wieder.csv"),
        entity="contacts",
        doi=DoiOption("newsletter"),
    )
    assert again.created == 1 and again.doi_requested == 0
    with demo.factory() as session:
        new_id = session.scalar(select(Contact.id).where(Contact.last_name == LAST))
        assert may_contact(session, new_id, "email", "newsletter", demo.clock()).reason == "suppressed"
        assert (
            session.scalar(select(func.count()).select_from(EmailMessage).where(EmailMessage.contact_id == new_id)) == 0
        )
