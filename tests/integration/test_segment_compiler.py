"""The segment compiler against an independent evaluation in plain Python, on SQLite and PostgreSQL.

One fixed data set per backend (built once per module through the services, tags and activities as rows):
40 contacts of 8 companies with tags, activities, deals with contact roles, consents (one revoked, one expired,
one objection, one suppression, one restriction) and two static segments. The `Oracle` below reads those rows
back and applies the documented rule semantics in Python; every operator of every catalogue condition, nested and
negated groups, empty groups, NULL semantics and relative dates are compared with the SQL result, and hypothesis
generates random rule trees from the catalogue and the data set's values.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, event, insert, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.consent.restrictions import add_restriction
from core.consent.service import grant_consent, revoke_consent
from core.consent.suppression import suppress_contact
from core.permissions import Role
from core.sales.contact_roles import add_contact_role
from core.sales.opportunities import create_opportunity
from core.segments.catalogue import Shape, catalogue
from core.segments.compiler import compile_rules, count, matches, sample
from core.segments.rules import Condition, Group, parse_rules
from core.uow import UnitOfWork
from db.base import UTCDateTime
from db.models import (
    Account,
    Activity,
    ConsentEntry,
    ConsentPurpose,
    Contact,
    ContactTag,
    DealReason,
    Opportunity,
    OpportunityContact,
    Pipeline,
    ProcessingRestriction,
    Segment,
    SegmentMember,
    Suppression,
)
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import actor_of, make_user
from tests.factories.sales import stage_ids

BERLIN = ZoneInfo("Europe/Berlin")
AT = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)  # type: ignore[misc]


# --- the data set --------------------------------------------------------------------------------------------------

ACCOUNTS = {
    "rheinwerk": {
        "name": "Rheinwerk",
        "legal_form": "GmbH",
        "industry": "Maschinenbau",
        "employees": 250,
        "revenue_class": "10–50 Mio. €",
        "postcode": "50667",
        "city": "Köln",
    },
    "nordlicht": {
        "name": "Nordlicht",
        "legal_form": "AG",
        "industry": "Chemie",
        "employees": 1200,
        "revenue_class": "> 250 Mio. €",
        "postcode": "20095",
        "city": "Hamburg",
    },
    "alpen": {
        "name": "Alpen Handel",
        "legal_form": "KG",
        "industry": "Handel",
        "employees": 40,
        "revenue_class": "1–10 Mio. €",
        "postcode": "80331",
        "city": "München",
    },
    "wien": {
        "name": "Wiener Software",
        "legal_form": "GmbH",
        "industry": "IT-Dienstleistungen",
        "employees": 15,
        "revenue_class": "< 1 Mio. €",
        "postcode": "1010",
        "city": "Wien",
        "country": "AT",
    },
    "oelmuehle": {
        "name": "Ölmühle Sauer",
        "legal_form": "e.K.",
        "industry": "Lebensmittel",
        "postcode": "88662",
        "city": "Überlingen",
    },
    "zuerich": {
        "name": "Zürcher Logistik",
        "legal_form": "AG",
        "industry": "Logistik",
        "employees": 80,
        "postcode": "8001",
        "city": "Zürich",
        "country": "CH",
    },
    "leer": {"name": "Leer Holding", "employees": 0, "postcode": None, "city": None},
    "koehler": {
        "name": "Baufirma Köhler",
        "legal_form": "Einzelunternehmen",
        "industry": "Bauwesen",
        "employees": 5,
        "revenue_class": "< 1 Mio. €",
        "postcode": "50823",
        "city": "köln",
    },
}

# Hand-made contacts for the edge cases (key, values, account, created at, tags); more follow from a seeded generator.
EDGE_CONTACTS: list[tuple[str, dict[str, Any], str | None, dt.datetime, tuple[str, ...]]] = [
    (
        "anna",
        {
            "first_name": "Anna",
            "last_name": "Müller",
            "salutation": "Frau",
            "email": "anna.mueller@rheinwerk.de",
            "phone": "+49 221 123456",
            "job_title": "Einkaufsleiterin",
            "postcode": "50667",
            "city": "Köln",
            "birth_date": dt.date(1980, 11, 27),
        },
        "rheinwerk",
        utc(2026, 11, 20, 8),
        ("VIP", "Messe 2026"),
    ),
    (
        "bernd",
        {
            "first_name": "Bernd",
            "last_name": "Schulz",
            "salutation": "Herr",
            "email": "b.schulz@rheinwerk.de",
            "job_title": "Geschäftsführer",
            "postcode": "50668",
            "city": "KÖLN",
            "birth_date": dt.date(1975, 2, 14),
        },
        "rheinwerk",
        utc(2026, 10, 1, 12),
        ("VIP",),
    ),
    (
        "clara",
        {
            "first_name": "Clara",
            "last_name": "Özdemir",
            "salutation": "Frau",
            "email": "clara@nordlicht.de",
            "job_title": "CFO",
            "postcode": "20095",
            "city": "Hamburg",
            "birth_date": dt.date(1992, 2, 29),
        },
        "nordlicht",
        utc(2025, 12, 31, 23, 30),
        ("Messe 2026", "Newsletter-Leser"),
    ),
    (
        "dieter",
        {
            "first_name": "Dieter",
            "last_name": "Übel",
            "salutation": "Herr",
            "job_title": None,
            "postcode": None,
            "city": None,
        },
        "alpen",
        utc(2026, 1, 1, 0, 30),
        (),
    ),
    (
        "emil",
        {
            "first_name": "Emil",
            "last_name": "Ärger",
            "email": "emil@example.at",
            "postcode": "1010",
            "city": "Wien",
            "country": "AT",
            "birth_date": dt.date(1969, 11, 25),
        },
        "wien",
        utc(2026, 1, 31, 22, 30),
        ("VIP", "Partner"),
    ),
    (
        "frieda",
        {
            "first_name": "Frieda",
            "last_name": "Sauer",
            "salutation": "Frau",
            "email": "frieda@oelmuehle.de",
            "mobile": "+49 151 2345678",
            "city": "überlingen",
            "postcode": "88662",
            "birth_date": dt.date(1988, 12, 24),
        },
        "oelmuehle",
        utc(2024, 6, 15, 10),
        ("Newsletter-Leser",),
    ),
    (
        "gero",
        {
            "first_name": "Gero",
            "last_name": "Lenz",
            "email": "gero@nowhere.de",
            "city": "Berlin",
            "postcode": "10115",
            "job_title": "Berater",
        },
        None,
        utc(2026, 11, 24, 23, 30),
        (),
    ),
    (
        "hanna",
        {
            "first_name": "Hanna",
            "last_name": "Klein",
            "salutation": "Frau",
            "email": "hanna@zuerich.ch",
            "city": "Zürich",
            "country": "CH",
            "postcode": "8001",
            "job_title": "Disponentin",
        },
        "zuerich",
        utc(2025, 3, 3, 3),
        ("Partner",),
    ),
    (
        "ida",
        {"first_name": "Ida", "last_name": "Roth", "email": "ida@leer.de", "city": "Köln", "postcode": "50667"},
        "leer",
        utc(2023, 5, 5, 5),
        ("VIP",),
    ),
    (
        "jonas",
        {
            "first_name": "Jonas",
            "last_name": "Köhler",
            "salutation": "Herr",
            "email": "jonas@koehler-bau.de",
            "phone": "+49 221 998877",
            "city": "Köln-Ehrenfeld",
            "postcode": "50823",
            "job_title": "Inhaber",
        },
        "koehler",
        utc(2026, 8, 8, 8),
        ("Handwerk",),
    ),
    (
        "karl",
        {
            "first_name": "Karl",
            "last_name": "Ebert",
            "salutation": "Herr",
            "email": "karl@rheinwerk.de",
            "city": "Bonn",
            "postcode": "53111",
            "job_title": "Techniker",
        },
        "rheinwerk",
        utc(2026, 11, 1, 1),
        ("VIP", "Messe 2026"),
    ),
    (
        "lena",
        {
            "first_name": "Lena",
            "last_name": "Vogt",
            "email": "lena@example.de",
            "job_title": "Sales_Ops 100%",
            "city": "Hamburg",
            "postcode": "20095",
            "birth_date": dt.date(2000, 1, 1),
        },
        None,
        utc(2026, 2, 1, 9),
        ("Newsletter-Leser",),
    ),
]

FIRST_NAMES = ["Jürgen", "Petra", "Özlem", "Max", "Sophie", "Ulrich", "Marta", "Tobias", "Ärne", "Yasemin"]
LAST_NAMES = ["Weiß", "Becker", "Hoffmann", "Zimmermann", "Schäfer", "Krüger", "Wolf", "Neumann", "Braun"]
CITIES = ["Köln", "köln", "Hamburg", "München", "MÜNCHEN", "Düsseldorf", "Überlingen", None, "Bonn", "Essen"]
JOB_TITLES = ["Einkäufer", "Geschäftsführerin", "IT-Leiter", None, "Assistenz", "Vertriebsleiter"]
TAGS = ["VIP", "Messe 2026", "Newsletter-Leser", "Partner", "Handwerk", "Altkunde"]
CAMPAIGNS = ["herbst-2026", "winter-2026", "messe-einladung"]
EVENTS = ["hannover-messe", "kundentag"]


@dataclass
class World:
    """The built data set: what the tests need to name things."""

    factory: sessionmaker[Session]
    contacts: dict[str, int]
    accounts: dict[str, int]
    stages: dict[str, int]
    pipelines: dict[str, int]
    segments: dict[str, int]
    oracle: Oracle


@pytest.fixture(scope="module")
def module_connection(engine: Engine) -> Iterator[Connection]:
    """The data set is built once per backend inside a transaction that is rolled back at the end."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture(scope="module")
def world(module_connection: Connection) -> World:
    factory = sessionmaker(bind=module_connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    return Builder(factory).build()


class Builder:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.admin = actor_of(make_user(factory, Role.ADMIN))
        self.random = random.Random(20261125)
        self.contacts: dict[str, int] = {}
        self.accounts: dict[str, int] = {}

    def uow(self, at: dt.datetime) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=self.admin, clock=FrozenClock(at))

    def build(self) -> World:
        for key, values in ACCOUNTS.items():
            self.accounts[key] = make_account(self.factory, self.admin, clock=FrozenClock(utc(2023, 1, 1)), **values).id
        for key, values, account, created, tags in EDGE_CONTACTS:
            self._contact(key, values, account, created, tags)
        for n in range(28):
            self._generated_contact(n)
        self._blank_texts()
        stages = stage_ids(self.factory, self.admin) | {
            f"Bestand {name}": id_ for name, id_ in stage_ids(self.factory, self.admin, "Bestandskunden").items()
        }
        self._deals(stages)
        self._activities()
        segments = self._segments()
        self._consents()
        with self.factory() as session:
            pipelines = {name: id_ for name, id_ in session.execute(select(Pipeline.name, Pipeline.id))}
        oracle = Oracle.load(self.factory)
        return World(self.factory, self.contacts, self.accounts, stages, pipelines, segments, oracle)

    def _contact(
        self, key: str, values: dict[str, Any], account: str | None, created: dt.datetime, tags: tuple[str, ...]
    ) -> None:
        if account is not None:
            values = values | {"account_id": self.accounts[account]}
        contact_id = make_contact(self.factory, self.admin, clock=FrozenClock(created), **values).id
        self.contacts[key] = contact_id
        if tags:
            with self.factory() as session:
                session.execute(insert(ContactTag), [{"contact_id": contact_id, "tag": tag} for tag in tags])
                session.commit()

    def _generated_contact(self, n: int) -> None:
        r = self.random
        first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
        city = r.choice(CITIES)
        values: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "salutation": r.choice(["Herr", "Frau", "Divers", None]),
            "email": None if n % 7 == 3 else f"{first.lower()}.{last.lower()}{n}@example.de",
            "phone": f"+49 30 55{n:04d}" if n % 3 == 0 else None,
            "job_title": r.choice(JOB_TITLES),
            "city": city,
            "postcode": None if city is None else f"{r.randint(10000, 99999)}",
            "birth_date": None if n % 5 == 0 else dt.date(r.randint(1950, 2004), r.randint(1, 12), r.randint(1, 28)),
        }
        account = r.choice([*ACCOUNTS, None, None])
        created = AT - dt.timedelta(days=r.randint(0, 800), hours=r.randint(0, 23))
        tags = tuple(sorted(set(r.sample(TAGS, r.randint(0, 3)))))
        self._contact(f"gen{n}", values, account, created, tags)

    def _blank_texts(self) -> None:
        """Empty strings as other systems deliver them (the services store None): they count as empty."""
        with self.factory() as session:
            session.execute(update(Contact).where(Contact.id == self.contacts["gen1"]).values(city="", job_title=""))
            session.execute(update(Account).where(Account.id == self.accounts["leer"]).values(industry="", city=""))
            session.commit()

    def _deals(self, stages: dict[str, int]) -> None:
        with self.factory() as session:
            lost_reason = session.scalars(select(DealReason.id).where(DealReason.kind == "lost")).first()
        deals = [
            # (account, stage, amount, currency, created at (= closed date when won/lost), expected close, contacts)
            ("rheinwerk", "Gewonnen", "30000", "EUR", utc(2026, 3, 10, 10), None, ["anna", "bernd"]),
            ("rheinwerk", "Gewonnen", "5000", "EUR", utc(2025, 10, 1, 10), None, ["bernd"]),
            ("rheinwerk", "Angebot", "12000", "EUR", utc(2026, 9, 1, 10), dt.date(2026, 12, 10), ["anna"]),
            ("nordlicht", "Gewonnen", "1000", "USD", utc(2026, 6, 1, 10), None, ["clara"]),
            (
                "nordlicht",
                "Verhandlung",
                "80000",
                "EUR",
                utc(2026, 10, 1, 10),
                dt.date(2026, 11, 20),
                ["clara", "gen2"],
            ),
            ("alpen", "Verloren", "7000", "EUR", utc(2026, 5, 5, 10), None, ["dieter"]),
            ("alpen", "Qualifizierung", "3000", "EUR", utc(2026, 11, 1, 10), None, ["dieter", "gen4"]),
            ("koehler", "Gewonnen", "999.50", "EUR", utc(2026, 11, 24, 10), None, ["jonas"]),
            ("koehler", "Gewonnen", "0.50", "EUR", utc(2026, 11, 25, 10), None, []),
            ("wien", "Bestand Gewonnen", "4000", "EUR", utc(2026, 8, 1, 10), None, ["emil"]),
            ("wien", "Bestand Angebot", "6000", "EUR", utc(2026, 10, 10, 10), dt.date(2027, 1, 15), ["emil", "gen6"]),
            ("zuerich", "Bedarfsanalyse", "2500", "EUR", utc(2026, 7, 7, 10), dt.date(2026, 11, 25), ["hanna"]),
        ]
        for n, (account, stage, amount, currency, created, close, roles) in enumerate(deals):
            values = {
                "name": f"Deal {n}",
                "account_id": self.accounts[account],
                "amount": amount,
                "currency": currency,
                "stage_id": stages[stage],
                "expected_close_date": close,
            }
            reason = lost_reason if stage == "Verloren" else None
            opp = create_opportunity(self.uow(created), values, reason_id=reason)
            for contact in roles:
                add_contact_role(self.uow(created), opp.id, contact_id=self.contacts[contact], role="Entscheider")

    def _activities(self) -> None:
        c = self.contacts
        rows = [
            (c["anna"], "email_open", AT - dt.timedelta(days=30), "herbst-2026"),  # exactly on the 30-day boundary
            (c["anna"], "email_click", AT - dt.timedelta(days=2), "herbst-2026"),
            (c["bernd"], "email_open", AT - dt.timedelta(days=30, seconds=1), "herbst-2026"),  # just outside
            (c["bernd"], "call", AT - dt.timedelta(days=100), None),
            (c["clara"], "event_registration", utc(2026, 3, 1, 10), "hannover-messe"),
            (c["clara"], "event_attendance", utc(2026, 4, 20, 10), "hannover-messe"),
            (c["dieter"], "meeting", AT + dt.timedelta(days=3), None),  # planned: after `at`, never counts
            (c["emil"], "web_visit", AT, None),  # at `at` exactly: counts
            (c["frieda"], "form", utc(2026, 8, 25, 9), None),  # three months before `at` exactly
            (c["hanna"], "event_registration", utc(2026, 11, 20, 10), "kundentag"),
            (c["jonas"], "email_open", AT - dt.timedelta(days=5), "winter-2026"),
        ]
        r = self.random
        types = [
            "email_open",
            "email_click",
            "call",
            "meeting",
            "web_visit",
            "form",
            "event_registration",
            "event_attendance",
        ]
        for n in range(28):
            for _ in range(r.randint(0, 4)):
                kind = r.choice(types)
                key = (
                    r.choice(CAMPAIGNS)
                    if kind.startswith("email")
                    else r.choice(EVENTS)
                    if kind.startswith("event")
                    else None
                )
                rows.append(
                    (c[f"gen{n}"], kind, AT - dt.timedelta(days=r.randint(-5, 400), hours=r.randint(0, 23)), key)
                )
        with self.factory() as session:
            session.execute(
                insert(Activity),
                [
                    {"contact_id": cid, "type": kind, "occurred_at": at, "campaign_key": key, "subject": None}
                    for cid, kind, at, key in rows
                ],
            )
            session.commit()

    def _segments(self) -> dict[str, int]:
        members = {"Messebesucher": ["anna", "clara", "gen3", "gen5", "ida"], "Leer": []}
        ids = {}
        with self.factory() as session:
            for name, keys in members.items():
                segment = Segment(
                    name=name,
                    kind="static",
                    rules=None,
                    member_count=len(keys),
                    version=1,
                    created_at=AT,
                    updated_at=AT,
                )
                session.add(segment)
                session.flush()
                ids[name] = segment.id
                for key in keys:
                    session.add(SegmentMember(segment_id=segment.id, contact_id=self.contacts[key], joined_at=AT))
            session.commit()
        return ids

    def _consents(self) -> None:
        c = self.contacts
        before = utc(2026, 6, 1, 10)

        def grant(key: str, channel: str, purpose: str, at: dt.datetime = before, **options: Any) -> None:
            grant_consent(
                self.uow(at),
                contact_id=c[key],
                channel=channel,
                purpose=purpose,
                source="sales",
                evidence="Gesprächsnotiz",
                **options,
            )

        for key in ("anna", "bernd", "clara", "emil", "frieda", "gero", "hanna", "ida", "karl", "jonas", "lena"):
            grant(key, "email", "newsletter")
        for n in range(0, 28, 2):
            if n % 7 != 3:
                grant(f"gen{n}", "email", "newsletter", at=utc(2026, 1, 1, 10) + dt.timedelta(days=n))
        grant("anna", "phone", "produktinformationen")
        grant("jonas", "phone", "produktinformationen")
        grant("clara", "post", "veranstaltungen")
        grant("frieda", "sms", "newsletter")
        grant("gen12", "email", "produktinformationen", valid_until=utc(2026, 11, 1))  # expired by `at`
        grant("lena", "email", "produktinformationen", at=AT + dt.timedelta(hours=1))  # after `at`: does not count yet
        revoke_consent(
            self.uow(utc(2026, 9, 1, 10)),
            contact_id=c["bernd"],
            channel="email",
            purpose="newsletter",
            source="sales",
            reason="am Telefon",
        )
        add_restriction(
            self.uow(utc(2026, 10, 1, 10)), contact_id=c["hanna"], kind="objection", reason="Schreiben vom 30.09."
        )
        suppress_contact(self.uow(utc(2026, 10, 2, 10)), c["gero"], reason="manual")
        add_restriction(
            self.uow(utc(2026, 11, 1, 10)), contact_id=c["karl"], kind="restriction", reason="Anfrage Art. 18"
        )


# --- the independent evaluation ------------------------------------------------------------------------------------

FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ", "abcdefghijklmnopqrstuvwxyzäöü")
CONTACT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "city",
    "postcode",
    "job_title",
    "country",
    "salutation",
    "birth_date",
    "created_at",
    "account_id",
    "phone",
    "mobile",
    "email_digest",
    "phone_digest",
    "mobile_digest",
)
ACCOUNT_COLUMNS = ("id", "industry", "employees", "revenue_class", "city", "country", "legal_form")


@dataclass
class Person:
    contact: dict[str, Any]
    account: dict[str, Any] | None
    tags: set[str] = field(default_factory=set)
    activities: list[tuple[str, dt.datetime, str | None]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    segments: set[int] = field(default_factory=set)


@dataclass
class Oracle:
    """The data set read back row by row, and the rule semantics of docs/segments.md applied in Python."""

    people: dict[int, Person]
    won: dict[int, list[tuple[Decimal, str, dt.date]]]
    ledger: dict[tuple[int, str, int], list[tuple[int, dt.datetime, str, dt.datetime | None]]]
    purposes: dict[str, tuple[int, bool, bool]]
    restrictions: list[tuple[int, str, dt.datetime, dt.datetime | None]]
    suppressed: set[str]

    @classmethod
    def load(cls, factory: sessionmaker[Session]) -> Oracle:
        with factory() as session:
            accounts = {
                row.id: row._asdict()
                for row in session.execute(select(*(getattr(Account, c) for c in ACCOUNT_COLUMNS)))
            }
            people = {}
            for row in session.execute(select(*(getattr(Contact, c) for c in CONTACT_COLUMNS))):
                people[row.id] = Person(row._asdict(), accounts.get(row.account_id))
            for contact_id, tag in session.execute(select(ContactTag.contact_id, ContactTag.tag)):
                people[contact_id].tags.add(tag)
            for a in session.execute(
                select(Activity.contact_id, Activity.type, Activity.occurred_at, Activity.campaign_key)
            ):
                people[a.contact_id].activities.append((a.type, a.occurred_at, a.campaign_key))
            roles = select(
                OpportunityContact.contact_id,
                Opportunity.stage_id,
                Opportunity.pipeline_id,
                Opportunity.status,
                Opportunity.expected_close_date,
            ).join(Opportunity, Opportunity.id == OpportunityContact.opportunity_id)
            for deal in session.execute(roles):
                people[deal.contact_id].deals.append(deal._asdict())
            for segment_id, contact_id in session.execute(select(SegmentMember.segment_id, SegmentMember.contact_id)):
                people[contact_id].segments.add(segment_id)
            won: dict[int, list[tuple[Decimal, str, dt.date]]] = defaultdict(list)
            for o in session.execute(select(Opportunity).where(Opportunity.status == "won")).scalars():
                won[o.account_id].append((Decimal(o.amount), o.currency, o.closed_date))
            ledger: dict[tuple[int, str, int], list[Any]] = defaultdict(list)
            for e in session.scalars(select(ConsentEntry)):
                ledger[(e.contact_id, e.channel, e.purpose_id)].append((e.id, e.occurred_at, e.status, e.valid_until))
            purposes = {p.key: (p.id, p.marketing, p.active) for p in session.scalars(select(ConsentPurpose))}
            restrictions = [
                (r.contact_id, r.kind, r.started_at, r.lifted_at)
                for r in session.scalars(select(ProcessingRestriction))
            ]
            suppressed = set(session.scalars(select(Suppression.digest)))
        return cls(people, dict(won), dict(ledger), purposes, restrictions, suppressed)

    def expected(self, rules: Group, at: dt.datetime = AT) -> set[int]:
        return {
            pid
            for pid, p in self.people.items()
            if not self.has_restriction(pid, "restriction", at) and self.node(rules, p, at)
        }

    def node(self, node: Group | Condition, p: Person, at: dt.datetime) -> bool:
        if isinstance(node, Condition):
            return self.condition(node, p, at)
        results = [self.node(child, p, at) for child in node.children]
        value = all(results) if node.op == "and" else any(results)
        return not value if node.negate else value

    def has_restriction(self, contact_id: int, kind: str, at: dt.datetime) -> bool:
        return any(
            cid == contact_id and k == kind and start <= at and (end is None or end > at)
            for cid, k, start, end in self.restrictions
        )

    def condition(self, c: Condition, p: Person, at: dt.datetime) -> bool:
        scope, _, name = c.field.partition(".")
        today = at.astimezone(BERLIN).date()
        kind = catalogue()[c.field].value_kind
        if scope == "account" and p.account is None:
            return c.operator == "empty"
        if scope in ("contact", "account") and kind in ("text", "choice", "number", "date"):
            record = p.contact if scope == "contact" else p.account
            assert record is not None
            return field_matches(kind, record[name], c, at, timestamp=name == "created_at")
        return self.related(c, p, at, today)

    def related(self, c: Condition, p: Person, at: dt.datetime, today: dt.date) -> bool:
        positive = c.operator in ("is_true", "any_of", "all_of", "any_in", "ever", "within", "allowed", "member")
        if c.field == "contact.has_account":
            found = p.contact["account_id"] is not None
        elif c.field == "contact.tags":
            found = set(c.value) <= p.tags if c.operator == "all_of" else bool(set(c.value) & p.tags)
        elif c.field.startswith("opportunity.") and c.field != "opportunity.expected_close":
            column = {
                "opportunity.stage": "stage_id",
                "opportunity.pipeline": "pipeline_id",
                "opportunity.status": "status",
            }[c.field]
            found = any(d[column] in c.value for d in p.deals)
        elif c.field == "opportunity.expected_close":
            return any(
                d["status"] == "open" and field_matches("date", d["expected_close_date"], c, at, timestamp=False)
                for d in p.deals
            )
        elif c.field == "revenue.won":
            return self.revenue(c, p, today)
        elif c.field == "consent":
            found = self.allowed(p, c.value, c.value2, at)
        elif c.field == "segment":
            found = c.value in p.segments
        else:
            found = any(self.activity_counts(c, kind, moment, key, at) for kind, moment, key in p.activities)
        return found if positive else not found

    def activity_counts(self, c: Condition, kind: str, moment: dt.datetime, key: str | None, at: dt.datetime) -> bool:
        wanted = {
            "activity.type": (c.value, None),
            "campaign.opened": ("email_open", c.value),
            "campaign.clicked": ("email_click", c.value),
            "event.registered": ("event_registration", c.value),
            "event.attended": ("event_attendance", c.value),
        }[c.field]
        if kind != wanted[0] or (wanted[1] is not None and key != wanted[1]) or moment > at:
            return False
        return c.operator in ("ever", "never") or moment >= at - period(c)

    def revenue(self, c: Condition, p: Person, today: dt.date) -> bool:
        if p.account is None:
            return False
        since = today - period(c)
        total = sum(
            (
                amount
                for amount, currency, closed in self.won.get(p.account["id"], [])
                if currency == c.currency and since <= closed <= today
            ),
            Decimal(0),
        )
        return compare_values(total, c, Decimal)

    def allowed(self, p: Person, channel: str, purpose_key: str, at: dt.datetime) -> bool:
        contact = p.contact
        purpose_id, marketing, active = self.purposes[purpose_key]
        address = {
            "email": contact["email"],
            "sms": contact["mobile"],
            "phone": contact["phone"] or contact["mobile"],
            "post": contact["postcode"] or contact["city"],
        }[channel]
        digests = {
            "email": [contact["email_digest"]],
            "sms": [contact["mobile_digest"]],
            "phone": [contact["phone_digest"], contact["mobile_digest"]],
            "post": [],
        }[channel]
        if address is None or any(d in self.suppressed for d in digests if d):
            return False
        if self.has_restriction(contact["id"], "restriction", at) or (
            marketing and self.has_restriction(contact["id"], "objection", at)
        ):
            return False
        entries = [e for e in self.ledger.get((contact["id"], channel, purpose_id), []) if e[1] <= at]
        if not active or not entries:
            return False
        _, _, status, valid_until = max(entries)
        return status == "granted" and (valid_until is None or valid_until > at)


def period(c: Condition) -> relativedelta:
    return relativedelta(days=c.amount) if c.unit == "days" else relativedelta(months=c.amount)


def compare_values(value: Any, c: Condition, convert: Any) -> bool:
    low = convert(c.value)
    if c.operator == "between":
        return low <= value <= convert(c.value2)
    return {"eq": value == low, "ne": value != low, "lt": value < low, "gt": value > low}[c.operator]


def field_matches(kind: str, value: Any, c: Condition, at: dt.datetime, *, timestamp: bool) -> bool:
    empty = value is None or value == ""
    if c.operator in ("empty", "not_empty"):
        return empty == (c.operator == "empty")
    if empty:
        return False
    if kind == "text":
        text, wanted = value.translate(FOLD), c.value
        return {
            "eq": lambda: text == wanted.translate(FOLD),
            "ne": lambda: text != wanted.translate(FOLD),
            "contains": lambda: wanted.translate(FOLD) in text,
            "starts_with": lambda: text.startswith(wanted.translate(FOLD)),
            "in": lambda: text in {v.translate(FOLD) for v in wanted},
        }[c.operator]()
    if kind == "choice":
        return value in c.value if c.operator == "in" else (value == c.value) == (c.operator == "eq")
    if kind == "number":
        return compare_values(value, c, lambda v: v)
    return date_matches(value, c, at, timestamp=timestamp)


def date_matches(value: Any, c: Condition, at: dt.datetime, *, timestamp: bool) -> bool:
    today = at.astimezone(BERLIN).date()
    if c.operator in ("in_last", "in_next"):
        origin = at if timestamp else today
        low, high = (origin - period(c), origin) if c.operator == "in_last" else (origin, origin + period(c))
        return low <= value <= high
    day = value.astimezone(BERLIN).date() if timestamp else value
    if c.operator == "anniversary_next":
        window = [today + dt.timedelta(days=n) for n in range(c.amount + 1)]
        return any(
            (day.month, day.day) == (d.month, d.day)
            or ((day.month, day.day) == (2, 29) and (d.month, d.day) == (2, 28) and not calendar.isleap(d.year))
            for d in window
        )
    first = dt.date.fromisoformat(c.value)
    return {
        "before": lambda: day < first,
        "after": lambda: day > first,
        "on": lambda: day == first,
        "between": lambda: first <= day <= dt.date.fromisoformat(c.value2),
    }[c.operator]()


# --- every operator of every condition -----------------------------------------------------------------------------


def c(field_: str, operator: str, value: Any = None, value2: Any = None, **extra: Any) -> dict[str, Any]:
    node = {"type": "condition", "field": field_, "operator": operator, **extra}
    if value is not None:
        node["value"] = value
    if value2 is not None:
        node["value2"] = value2
    return node


def g(*children: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def text_cases(field_: str, eq: str, contains: str, starts: str, listed: list[str]) -> list[dict[str, Any]]:
    return [
        c(field_, "eq", eq),
        c(field_, "ne", eq),
        c(field_, "contains", contains),
        c(field_, "starts_with", starts),
        c(field_, "in", listed),
        c(field_, "empty"),
        c(field_, "not_empty"),
    ]


def choice_cases(field_: str, eq: str, listed: list[str]) -> list[dict[str, Any]]:
    return [
        c(field_, "eq", eq),
        c(field_, "ne", eq),
        c(field_, "in", listed),
        c(field_, "empty"),
        c(field_, "not_empty"),
    ]


def period_(amount: int, unit: str = "days") -> dict[str, Any]:
    return {"amount": amount, "unit": unit}


CASES: list[dict[str, Any]] = [
    *text_cases("contact.city", "köln", "ün", "ham", ["köln", "WIEN"]),
    c("contact.city", "eq", "MÜNCHEN"),
    c("contact.city", "contains", "ÜBER"),
    c("contact.city", "starts_with", "köln-"),
    *text_cases("contact.first_name", "ANNA", "ä", "j", ["anna", "Max"])[:5],
    *text_cases("contact.last_name", "müller", "ß", "Sch", ["ÖZDEMIR", "Braun"])[:5],
    *text_cases("contact.email", "CLARA@nordlicht.de", "@rheinwerk", "anna.", ["gero@nowhere.de", "x@y.de"]),
    *text_cases("contact.postcode", "50667", "66", "50", ["20095", "8001"]),
    *text_cases("contact.job_title", "cfo", "leiter", "gesch", ["Inhaber", "berater"]),
    c("contact.job_title", "contains", "_ops 100%"),
    c("contact.job_title", "contains", "s_o"),
    c("contact.job_title", "starts_with", "sales_"),
    c("contact.job_title", "contains", "%"),
    *choice_cases("contact.country", "AT", ["AT", "CH"])[:3],
    *choice_cases("contact.salutation", "Frau", ["Herr", "Divers"]),
    c("contact.birth_date", "before", "1970-01-01"),
    c("contact.birth_date", "after", "01.01.1990"),
    c("contact.birth_date", "on", "1992-02-29"),
    c("contact.birth_date", "between", "1975-01-01", "1985-12-31"),
    c("contact.birth_date", "anniversary_next", **period_(0)),
    c("contact.birth_date", "anniversary_next", **period_(2)),
    c("contact.birth_date", "anniversary_next", **period_(40)),
    c("contact.birth_date", "empty"),
    c("contact.birth_date", "not_empty"),
    c("contact.created_at", "before", "2026-01-01"),
    c("contact.created_at", "after", "2026-01-31"),
    c("contact.created_at", "on", "2026-01-01"),
    c("contact.created_at", "on", "2026-02-01"),
    c("contact.created_at", "between", "2026-01-01", "2026-02-01"),
    c("contact.created_at", "in_last", **period_(1)),
    c("contact.created_at", "in_last", **period_(30)),
    c("contact.created_at", "in_last", **period_(2, "months")),
    c("contact.has_account", "is_true"),
    c("contact.has_account", "is_false"),
    *choice_cases("account.industry", "Chemie", ["Handel", "Logistik", "Bauwesen"]),
    c("account.employees", "eq", 250),
    c("account.employees", "ne", 250),
    c("account.employees", "lt", 50),
    c("account.employees", "gt", 100),
    c("account.employees", "between", 0, 40),
    c("account.employees", "empty"),
    c("account.employees", "not_empty"),
    *choice_cases("account.revenue_class", "< 1 Mio. €", ["1–10 Mio. €", "> 250 Mio. €"]),
    *text_cases("account.city", "KÖLN", "ür", "h", ["wien", "zürich"]),
    *choice_cases("account.country", "AT", ["AT", "CH"]),
    *choice_cases("account.legal_form", "AG", ["GmbH", "Einzelunternehmen"]),
    c("contact.tags", "any_of", ["VIP"]),
    c("contact.tags", "any_of", ["Partner", "Handwerk"]),
    c("contact.tags", "all_of", ["VIP", "Messe 2026"]),
    c("contact.tags", "none_of", ["VIP"]),
    c("contact.tags", "none_of", ["nie vergeben"]),
    c("opportunity.stage", "any_in", ["@stage:Angebot", "@stage:Verhandlung"]),
    c("opportunity.stage", "any_in", ["@stage:Bestand Angebot"]),
    c("opportunity.stage", "none_in", ["@stage:Gewonnen"]),
    c("opportunity.pipeline", "any_in", ["@pipeline:Bestandskunden"]),
    c("opportunity.pipeline", "none_in", ["@pipeline:Neugeschäft"]),
    c("opportunity.status", "any_in", ["won"]),
    c("opportunity.status", "any_in", ["lost", "won"]),
    c("opportunity.status", "none_in", ["open"]),
    c("opportunity.expected_close", "before", "2026-12-01"),
    c("opportunity.expected_close", "after", "2026-11-25"),
    c("opportunity.expected_close", "on", "2026-11-25"),
    c("opportunity.expected_close", "between", "2026-11-20", "2026-12-10"),
    c("opportunity.expected_close", "in_last", **period_(10)),
    c("opportunity.expected_close", "in_next", **period_(30)),
    c("opportunity.expected_close", "in_next", **period_(2, "months")),
    c("revenue.won", "gt", "1000", **period_(12, "months")),
    c("revenue.won", "lt", "1000", **period_(12, "months")),
    c("revenue.won", "eq", "1000", **period_(1, "months")),
    c("revenue.won", "ne", "0", **period_(12, "months")),
    c("revenue.won", "between", "1000", "5000", **period_(365)),
    c("revenue.won", "gt", "30000", **period_(24, "months")),
    c("revenue.won", "gt", "0", currency="USD", **period_(12, "months")),
    c("revenue.won", "lt", "1", **period_(1)),
    c("activity.type", "ever", "call"),
    c("activity.type", "never", "meeting"),
    c("activity.type", "within", "email_open", **period_(30)),
    c("activity.type", "not_within", "web_visit", **period_(1)),
    c("activity.type", "within", "form", **period_(3, "months")),
    c("campaign.opened", "ever", "herbst-2026"),
    c("campaign.opened", "within", "herbst-2026", **period_(30)),
    c("campaign.opened", "never", "winter-2026"),
    c("campaign.opened", "not_within", "herbst-2026", **period_(30)),
    c("campaign.clicked", "ever", "herbst-2026"),
    c("campaign.clicked", "within", "herbst-2026", **period_(7)),
    c("campaign.clicked", "never", "herbst-2026"),
    c("campaign.clicked", "not_within", "herbst-2026", **period_(7)),
    c("event.registered", "ever", "hannover-messe"),
    c("event.registered", "within", "kundentag", **period_(10)),
    c("event.registered", "never", "kundentag"),
    c("event.registered", "not_within", "hannover-messe", **period_(1, "months")),
    c("event.attended", "ever", "hannover-messe"),
    c("event.attended", "within", "hannover-messe", **period_(12, "months")),
    c("event.attended", "never", "hannover-messe"),
    c("event.attended", "not_within", "kundentag", **period_(12, "months")),
    c("consent", "allowed", "email", "newsletter"),
    c("consent", "not_allowed", "email", "newsletter"),
    c("consent", "allowed", "phone", "produktinformationen"),
    c("consent", "allowed", "post", "veranstaltungen"),
    c("consent", "allowed", "sms", "newsletter"),
    c("consent", "allowed", "email", "produktinformationen"),
    c("segment", "member", "@segment:Messebesucher"),
    c("segment", "not_member", "@segment:Messebesucher"),
    c("segment", "member", "@segment:Leer"),
]


def resolve(world: World, data: Any) -> Any:
    """Replaces "@stage:Angebot", "@pipeline:…", "@segment:…" by the ids of this database."""
    if isinstance(data, dict):
        return {key: resolve(world, value) for key, value in data.items()}
    if isinstance(data, list):
        return [resolve(world, item) for item in data]
    if isinstance(data, str) and data.startswith(("@stage:", "@pipeline:", "@segment:")):
        kind, _, name = data[1:].partition(":")
        return {"stage": world.stages, "pipeline": world.pipelines, "segment": world.segments}[kind][name]
    return data


def case_id(case: dict[str, Any]) -> str:
    extra = "".join(f" {case[k]}" for k in ("value", "value2", "amount", "unit", "currency") if k in case)
    return f"{case['field']} {case['operator']}{extra}"


def check(world: World, rules: dict[str, Any] | Group, at: dt.datetime = AT) -> set[int]:
    """Compiled SQL and the oracle agree (ids, count); returns the matching ids."""
    tree = parse_rules(resolve(world, rules) if isinstance(rules, dict) else rules)
    with world.factory() as session:
        actual = set(session.scalars(compile_rules(session, tree, at=at)))
        counted = count(session, tree, at=at)
    expected = world.oracle.expected(tree, at)
    assert actual == expected, f"SQL − Python: {sorted(actual - expected)}, Python − SQL: {sorted(expected - actual)}"
    assert counted == len(expected)
    assert scoped(world, tree, at) == {i for i in expected if i % 3 == 0}
    return actual


def scoped(world: World, tree: Group, at: dt.datetime) -> set[int]:
    """The rules asked about every third contact only (sets built within that scope, as why_member and the
    incremental refresh do)."""
    with world.factory() as session:
        few = select(Contact.id).where(Contact.id % 3 == 0)
        return set(session.scalars(select(Contact.id).where(matches(session, tree, at=at, scope=Contact.id.in_(few)))))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_operator_of_every_condition_matches_the_python_evaluation(world: World, case: dict[str, Any]) -> None:
    check(world, g(case))


def test_the_cases_cover_every_operator_of_every_condition() -> None:
    covered = {(case["field"], case["operator"]) for case in CASES}
    pairs = {(key, op.key) for key, spec in catalogue().items() for op in spec.allowed_operators}
    assert pairs - covered == set(), "add cases for new conditions or operators"


def test_the_data_set_makes_every_operator_selective(world: World) -> None:
    """Each condition and operator selects some contacts but not all of them in at least one case."""
    everyone = world.oracle.expected(parse_rules(g()))
    selective: dict[tuple[str, str], bool] = defaultdict(bool)
    for case in CASES:
        matched = world.oracle.expected(parse_rules(resolve(world, g(case))))
        selective[(case["field"], case["operator"])] |= 0 < len(matched) < len(everyone)
    assert {pair for pair, ok in selective.items() if not ok} == set()


# --- semantics in detail -------------------------------------------------------------------------------------------


def test_null_and_empty_values_satisfy_only_ist_leer(world: World) -> None:
    ids = world.contacts
    blank = {ids["dieter"], ids["gen1"]}  # city NULL and ''
    assert not blank & check(world, g(c("contact.city", "ne", "Köln")))
    assert not blank & check(world, g(c("contact.city", "not_empty")))
    assert blank <= check(world, g(c("contact.city", "empty")))
    assert blank <= check(world, g(c("contact.city", "eq", "Köln"), negate=True)), (
        "NOT is the complement, NULL included"
    )
    without_company, blank_industry = ids["gero"], ids["ida"]
    assert {without_company, blank_industry} <= check(world, g(c("account.industry", "empty")))
    assert not {without_company, blank_industry} & check(world, g(c("account.industry", "ne", "Chemie")))
    assert without_company not in check(world, g(c("account.employees", "lt", 100)))
    assert without_company not in check(world, g(c("revenue.won", "lt", "1", amount=1, unit="days")))


def test_text_ignores_case_of_letters_and_umlauts_alike_on_both_databases(world: World) -> None:
    ids = world.contacts
    koeln = check(world, g(c("contact.city", "eq", "kÖLN")))
    assert {ids["anna"], ids["bernd"], ids["ida"]} <= koeln and ids[
        "jonas"
    ] not in koeln  # Köln, KÖLN; not Köln-Ehrenfeld
    assert ids["frieda"] in check(world, g(c("contact.city", "starts_with", "ÜBER")))
    assert ids["dieter"] in check(world, g(c("contact.last_name", "eq", "übel")))


def test_empty_groups_match_everyone_or_no_one(world: World) -> None:
    everyone = set(world.contacts.values()) - {world.contacts["karl"]}  # karl's processing is restricted
    assert check(world, g()) == everyone
    assert check(world, g(op="or")) == set()
    assert check(world, g(g(op="or"), negate=True)) == everyone
    assert check(world, g(g(), op="or")) == everyone
    assert check(world, g(c("contact.has_account", "is_true"), g(op="or"), op="or")) == check(
        world, g(c("contact.has_account", "is_true"))
    )


def test_nesting_and_negation(world: World) -> None:
    ids = world.contacts
    rules = g(
        c("contact.tags", "any_of", ["VIP"]),
        g(c("account.city", "eq", "köln"), c("consent", "allowed", "email", "newsletter"), op="or"),
        g(c("activity.type", "within", "email_click", amount=7, unit="days"), negate=True),
    )
    matched = check(world, rules)
    assert ids["bernd"] in matched and ids["ida"] in matched  # VIP at Rheinwerk (Köln); VIP with consent
    assert ids["anna"] not in matched, "anna clicked two days ago"
    assert check(world, g(rules, negate=True)) == check(world, g()) - matched


ALLOWED = c("consent", "allowed", "email", "newsletter")
NARROWING_SHAPES = {
    "and with siblings": g(
        c("contact.tags", "any_of", ["VIP", "Partner"]), ALLOWED, c("contact.has_account", "is_true")
    ),
    "nested and chain": g(c("account.country", "eq", "DE"), g(c("contact.tags", "none_of", ["Handwerk"]), ALLOWED)),
    "inside or": g(c("contact.city", "eq", "köln"), g(ALLOWED, c("activity.type", "ever", "call"), op="or")),
    "negated and": g(
        c("contact.has_account", "is_true"), g(c("contact.tags", "any_of", ["VIP"]), ALLOWED, negate=True)
    ),
    "refused with siblings": g(
        c("contact.tags", "any_of", ["VIP"]), c("consent", "not_allowed", "email", "newsletter")
    ),
    "two consents": g(
        ALLOWED, c("consent", "allowed", "phone", "produktinformationen"), c("contact.email", "not_empty")
    ),
    "negated root": g(c("contact.tags", "any_of", ["VIP"]), ALLOWED, negate=True),
}


@pytest.mark.parametrize("rules", NARROWING_SHAPES.values(), ids=NARROWING_SHAPES.keys())
def test_the_consent_gate_narrowed_to_its_siblings_gives_the_same_result(world: World, rules: dict[str, Any]) -> None:
    check(world, rules)


def test_a_restricted_contact_is_in_no_segment(world: World) -> None:
    karl = world.contacts["karl"]
    vip = g(c("contact.tags", "any_of", ["VIP"]))
    assert karl not in check(world, vip)
    assert karl in check(world, vip, at=utc(2026, 10, 31, 12)), "before the restriction started"


def test_relative_periods_count_from_the_frozen_moment(world: World) -> None:
    ids = world.contacts
    opened = g(c("activity.type", "within", "email_open", amount=30, unit="days"))
    assert ids["anna"] in check(world, opened) and ids["bernd"] not in check(world, opened), "30 days back, inclusive"
    assert ids["anna"] not in check(world, opened, at=AT + dt.timedelta(seconds=1))
    assert ids["bernd"] in check(world, opened, at=AT - dt.timedelta(seconds=1))
    form = g(c("activity.type", "within", "form", amount=3, unit="months"))
    assert ids["frieda"] in check(world, form) and ids["frieda"] not in check(
        world, form, at=AT + dt.timedelta(minutes=1)
    )
    assert ids["dieter"] in check(world, g(c("activity.type", "never", "meeting"))), (
        "a planned meeting has not happened"
    )
    assert ids["emil"] in check(world, g(c("activity.type", "ever", "web_visit"))), "an activity at `at` counts"
    # Calendar days are Berlin's: 31.12.2025 23:30 UTC is New Year's Day, 24.11. 23:30 UTC is 25.11.,
    # 31.01. 22:30 UTC is still 31 January (23:30 CET).
    assert ids["clara"] in check(world, g(c("contact.created_at", "on", "2026-01-01")))
    assert ids["gero"] in check(world, g(c("contact.created_at", "on", "2026-11-25")))
    assert ids["emil"] in check(world, g(c("contact.created_at", "on", "2026-01-31")))
    assert ids["emil"] not in check(world, g(c("contact.created_at", "after", "2026-01-31")))


def test_birthdays_on_29_february_are_celebrated_on_28_february_in_other_years(world: World) -> None:
    clara = world.contacts["clara"]

    def birthday(days: int) -> dict[str, Any]:
        return g(c("contact.birth_date", "anniversary_next", amount=days, unit="days"))

    assert clara in check(world, birthday(8), at=utc(2027, 2, 20, 12))
    assert clara not in check(world, birthday(7), at=utc(2027, 2, 20, 12))
    assert clara not in check(world, birthday(0), at=utc(2028, 2, 28, 12)), "a leap year has the day itself"
    assert clara in check(world, birthday(0), at=utc(2028, 2, 29, 12))
    assert world.contacts["emil"] in check(world, birthday(0)), "born on 25 November: today"


def test_the_consent_condition_is_the_consent_gate(world: World) -> None:
    from core.consent.gate import may_contact

    ids = world.contacts
    allowed = check(world, g(c("consent", "allowed", "email", "newsletter")))
    assert {ids["anna"], ids["clara"], ids["emil"], ids["frieda"]} <= allowed
    assert (
        not {ids["bernd"], ids["hanna"], ids["gero"], ids["karl"]} & allowed
    )  # revoked, objection, suppressed, restricted
    with world.factory() as session:
        for key, contact_id in ids.items():
            if key != "karl":
                assert (contact_id in allowed) == may_contact(session, contact_id, "email", "newsletter", AT).allowed, (
                    key
                )
    later = check(world, g(c("consent", "allowed", "email", "produktinformationen")), at=AT + dt.timedelta(hours=2))
    assert ids["lena"] in later and ids["gen12"] not in later, "granted after `at`; expired on 1 November"


def test_count_sample_and_compile_agree(world: World) -> None:
    rules = g(c("contact.tags", "any_of", ["VIP"]))
    matched = sorted(check(world, rules))
    with world.factory() as session:
        assert [m.id for m in sample(session, rules, at=AT, limit=3)] == matched[:3]
        anna = next(m for m in sample(session, rules, at=AT, limit=50) if m.id == world.contacts["anna"])
        assert (anna.first_name, anna.last_name, anna.email, anna.account_name) == (
            "Anna",
            "Müller",
            "anna.mueller@rheinwerk.de",
            "Rheinwerk",
        )
        assert sample(session, g(op="or"), at=AT) == []


def test_a_segment_is_counted_by_one_statement(world: World, module_connection: Connection) -> None:
    """The whole tree runs in the database: one SELECT count(*) (plus the consent purpose's lookup)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    rules = resolve(
        world,
        g(
            c("contact.city", "contains", "köln"),
            c("contact.tags", "any_of", ["VIP"]),
            g(
                c("activity.type", "within", "email_open", amount=30, unit="days"),
                c("segment", "member", "@segment:Messebesucher"),
                c("consent", "allowed", "email", "newsletter"),
                c("revenue.won", "gt", "100", amount=1, unit="months"),
                op="or",
            ),
        ),
    )
    event.listen(module_connection, "before_cursor_execute", record)
    try:
        with world.factory() as session:
            count(session, rules, at=AT)
    finally:
        event.remove(module_connection, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 2 and "consent_purposes" in selects[0] and "count(*)" in selects[1]


def test_the_compiled_query_feeds_an_insert_of_the_membership(world: World) -> None:
    """Recalculation stores members with INSERT … SELECT; the consent audience's CTE must survive that."""
    rules = resolve(world, g(c("contact.tags", "any_of", ["VIP", "Partner"]), ALLOWED))
    with world.factory() as session:  # not committed: rolled back when closed
        segment = Segment(name="Probe", kind="dynamic", rules=rules, version=1, created_at=AT, updated_at=AT)
        session.add(segment)
        session.flush()
        ids = compile_rules(session, rules, at=AT).add_columns(literal(segment.id), literal(AT, UTCDateTime()))
        session.execute(insert(SegmentMember).from_select(["contact_id", "segment_id", "joined_at"], ids))
        stored = set(session.scalars(select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment.id)))
    assert stored == world.oracle.expected(parse_rules(rules)) != set()


def test_the_builder_gets_choices_for_every_condition_with_values(world: World) -> None:
    with world.factory() as session:
        choices = {key: spec.load_choices(session) for key, spec in catalogue().items()}
    assert "Neugeschäft · Angebot" in dict(choices["opportunity.stage"]).values()
    assert dict(choices["segment"])[world.segments["Messebesucher"]] == "Messebesucher"
    assert dict(choices["consent"])["newsletter"] == "Newsletter"
    assert {"VIP", "Messe 2026"} <= set(dict(choices["contact.tags"]))
    assert {"herbst-2026", "winter-2026"} <= set(dict(choices["campaign.opened"]))
    assert {"hannover-messe", "kundentag"} <= set(dict(choices["event.attended"]))
    assert {"Chemie", "Energie"} <= set(dict(choices["account.industry"])), "used and suggested industries"
    assert set(dict(choices["contact.country"])) == {"DE", "AT", "CH"}
    assert dict(choices["activity.type"])["email_open"] == "E-Mail geöffnet"
    assert [key for key, found in choices.items() if not found] == [
        "contact.first_name",
        "contact.last_name",
        "contact.email",
        "contact.city",
        "contact.postcode",
        "contact.job_title",
        "contact.birth_date",
        "contact.created_at",
        "contact.has_account",
        "account.employees",
        "account.city",
        "opportunity.expected_close",
        "revenue.won",
    ], "free values: no choices"


# --- random rule trees ---------------------------------------------------------------------------------------------

DATE_POOL = [
    "1969-11-25",
    "1975-01-01",
    "1980-11-27",
    "1990-01-01",
    "1992-02-29",
    "2000-01-01",
    "2025-12-31",
    "2026-01-01",
    "2026-01-31",
    "2026-06-01",
    "2026-11-20",
    "2026-11-25",
    "2026-12-10",
    "2027-01-15",
]
POOLS: dict[str, list[Any]] = {
    "contact.first_name": ["anna", "ANNA", "ä", "j", "max", "özlem", "e", "petra"],
    "contact.last_name": ["müller", "ß", "sch", "weiß", "BECKER", "er", "özdemir"],
    "contact.email": ["@rheinwerk", "anna.", "example", "@example.de", "de", "clara@nordlicht.de"],
    "contact.city": ["köln", "KÖLN", "ün", "ham", "MÜNCHEN", "über", "wien", "Bonn", "essen", "köln-"],
    "contact.postcode": ["50", "66", "50667", "20095", "1", "8001"],
    "contact.job_title": ["leiter", "cfo", "gesch", "in", "Einkäufer", "assistenz"],
    "account.city": ["köln", "ür", "h", "wien", "zürich", "HAMBURG", "m"],
    "contact.country": ["DE", "AT", "CH"],
    "account.country": ["DE", "AT", "CH"],
    "contact.salutation": ["Herr", "Frau", "Divers"],
    "account.industry": ["Chemie", "Handel", "Logistik", "Bauwesen", "Maschinenbau", "Lebensmittel"],
    "account.revenue_class": ["< 1 Mio. €", "1–10 Mio. €", "10–50 Mio. €", "> 250 Mio. €"],
    "account.legal_form": ["GmbH", "AG", "KG", "e.K.", "Einzelunternehmen"],
    "account.employees": [0, 5, 15, 40, 80, 100, 250, 1000, 1200],
    "revenue.won": ["0", "0.50", "999.50", "1000", "4000", "5000", "30000", "35000"],
    "contact.birth_date": DATE_POOL,
    "contact.created_at": DATE_POOL,
    "opportunity.expected_close": DATE_POOL,
    "contact.tags": [*TAGS, "nie vergeben"],
    "opportunity.stage": [
        "@stage:Qualifizierung",
        "@stage:Angebot",
        "@stage:Verhandlung",
        "@stage:Gewonnen",
        "@stage:Verloren",
        "@stage:Bestand Angebot",
        "@stage:Bestand Gewonnen",
    ],
    "opportunity.pipeline": ["@pipeline:Neugeschäft", "@pipeline:Bestandskunden"],
    "opportunity.status": ["open", "won", "lost"],
    "activity.type": [
        "email_open",
        "email_click",
        "call",
        "meeting",
        "web_visit",
        "form",
        "event_registration",
        "event_attendance",
    ],
    "campaign.opened": CAMPAIGNS,
    "campaign.clicked": CAMPAIGNS,
    "event.registered": EVENTS,
    "event.attended": EVENTS,
    "consent": [
        ("email", "newsletter"),
        ("phone", "produktinformationen"),
        ("post", "veranstaltungen"),
        ("sms", "newsletter"),
        ("email", "produktinformationen"),
    ],
    "segment": ["@segment:Messebesucher", "@segment:Leer"],
    "contact.has_account": [],
}


@st.composite
def conditions_(draw: st.DrawFn) -> dict[str, Any]:
    specs = catalogue()
    key = draw(st.sampled_from(sorted(specs)))
    spec = specs[key]
    op = draw(st.sampled_from(spec.allowed_operators))
    pool = POOLS[key]
    node: dict[str, Any] = {"type": "condition", "field": key, "operator": op.key}
    if op.shape in (Shape.ONE, Shape.ONE_PERIOD):
        node["value"] = draw(st.sampled_from(pool))
    elif op.shape is Shape.TWO:
        pair = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2))
        node["value"], node["value2"] = sorted(pair, key=lambda v: Decimal(v) if key == "revenue.won" else v)
    elif op.shape is Shape.LIST:
        node["value"] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    elif op.shape is Shape.PAIR:
        node["value"], node["value2"] = draw(st.sampled_from(pool))
    if op.shape in (Shape.PERIOD, Shape.ONE_PERIOD) or spec.period_required:
        low, high = op.amounts if op.shape in (Shape.PERIOD, Shape.ONE_PERIOD) else (1, 3650)
        node["amount"] = draw(st.integers(low, min(high, 400)))
        node["unit"] = draw(st.sampled_from(op.units))
    if key == "revenue.won":
        node["currency"] = draw(st.sampled_from(["EUR", "EUR", "USD"]))
    return node


@st.composite
def rule_trees(draw: st.DrawFn, depth: int = 1) -> dict[str, Any]:
    children = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 2, 2, 3, 3]))):
        nested = depth < 3 and draw(st.integers(0, 9)) < 3
        children.append(draw(rule_trees(depth + 1)) if nested else draw(conditions_()))
    return g(*children, op=draw(st.sampled_from(["and", "or"])), negate=draw(st.booleans()))


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_trees())
def test_random_rule_trees_match_the_python_evaluation(world: World, rules: dict[str, Any]) -> None:
    check(world, rules)
