"""Demo data: realistic German B2B accounts, contacts, users and a plausible change history.

A seed runs registered steps in three phases:

- setup: demo users and teams, created through the audited services;
- bulk: rows combined from seeded pools (Faker de_DE names drawn once, real cities and postcodes)
  and inserted in batches (PostgreSQL: COPY) in ONE transaction that also writes one
  `bulk_imported` audit entry per entity and the `crm.demo.seeded` event;
- history: changes written through the real services by demo users, with the clock set back
  over the past year, so a demo account's change log is not empty.

Later capabilities add their entities with `register_demo_step` (e.g. a bulk step that reads
`run.created["account"]`). Every step draws from its own random stream (`run.rng(...)`), so
adding a step does not change the rows of the others; the same seed gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from faker import Faker
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import audit, events
from core.accounts import INDUSTRIES, REVENUE_CLASSES, AccountView, get_account, update_account
from core.contacts import ContactView, get_contact, update_contact
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.dedupe.normalize import website_domain
from core.demo_vocabulary import (
    ACCOUNT_NOTES,
    BRAND_NOUNS,
    BRAND_PREFIXES,
    BRAND_SUFFIXES,
    CITIES,
    COMMON_STREETS,
    INDUSTRY_WORDS,
    JOB_TITLES,
    MOBILE_PREFIXES,
    TRANSLITERATION,
    City,
)
from core.errors import ValidationFailed
from core.formatting import fmt_number
from core.permissions import SYSTEM, Actor, Role
from core.uow import Clock, UnitOfWork, utc_now
from core.users import UserView, create_user, get_user
from db.base import Base
from db.models import Account, Contact, Team, User

T = TypeVar("T")
DEMO_PASSWORD = "demo-passwort-2026"
BATCH_SIZE = 10_000
HISTORY_WINDOW = dt.timedelta(days=365)
DATA_SPAN = dt.timedelta(days=3 * 365)


@dataclass(frozen=True)
class DemoPlan:
    """How much to generate; `history` is the number of changes written through the services."""

    name: str
    accounts: int
    contacts: int
    history: int


PLANS: dict[str, DemoPlan] = {
    plan.name: plan
    for plan in (
        DemoPlan("tiny", 20, 60, 12),
        DemoPlan("small", 400, 2_000, 240),
        DemoPlan("medium", 10_000, 50_000, 400),
        DemoPlan("large", 200_000, 1_000_000, 400),
    )
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    team: str | None = None


TEAM_NORTH, TEAM_SOUTH = "Vertrieb Nord", "Vertrieb Süd"
DEMO_TEAMS = (TEAM_NORTH, TEAM_SOUTH)
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("demo.admin", "Thomas Berger", Role.ADMIN),
    DemoUser("demo.vertriebsleitung", "Katrin Hoffmann", Role.SALES_MANAGER),
    DemoUser("demo.vertrieb1", "Jan Schröder", Role.SALES_REP, TEAM_NORTH),
    DemoUser("demo.vertrieb2", "Aylin Demir", Role.SALES_REP, TEAM_NORTH),
    DemoUser("demo.vertrieb3", "Markus Weber", Role.SALES_REP, TEAM_SOUTH),
    DemoUser("demo.marketing", "Lena Fischer", Role.MARKETING),
    DemoUser("demo.datenschutz", "Dr. Andreas Neumann", Role.COMPLIANCE),
    DemoUser("demo.gast", "Paul Richter", Role.VIEWER),
)
MANAGER = "demo.vertriebsleitung"
MARKETING = "demo.marketing"
# Postcode regions 0–4 belong to Vertrieb Nord, 5–9 to Vertrieb Süd.
REPS_BY_REGION: dict[str, tuple[str, ...]] = {
    TEAM_NORTH: ("demo.vertrieb1", "demo.vertrieb2"),
    TEAM_SOUTH: ("demo.vertrieb3",),
}
DEMO_EMAIL_DOMAIN = "crm-demo.example"


class Phase(StrEnum):
    SETUP = "setup"
    BULK = "bulk"
    HISTORY = "history"


@dataclass(frozen=True)
class Pools:
    """Values drawn from Faker once; rows combine them with a seeded random generator."""

    male_first_names: tuple[str, ...]
    female_first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]

    @classmethod
    def draw(cls, seed: int, size: int = 3_000) -> Pools:
        fake = Faker("de_DE")
        fake.seed_instance(seed)
        return cls(
            male_first_names=tuple(fake.first_name_male() for _ in range(size)),
            female_first_names=tuple(fake.first_name_female() for _ in range(size)),
            # Drawn with replacement: frequent names (Müller, Schmidt) stay frequent.
            last_names=tuple(fake.last_name() for _ in range(size)),
            streets=COMMON_STREETS * 40 + tuple(fake.street_name() for _ in range(size // 3)),
        )


@dataclass(frozen=True)
class BulkImport:
    """What a bulk step loaded: recorded as one audit entry, its table's statistics refreshed."""

    entity: str
    table: str
    label: str
    count: int
    first_external_id: str
    last_external_id: str


class PlantedPair(NamedTuple):
    """A derived duplicate the seed planted on purpose (database ids of the original and its copy)."""

    entity: str
    original_id: int
    duplicate_id: int


@dataclass
class DemoRun:
    """State shared by the steps of one seed."""

    factory: sessionmaker[Session]
    plan: DemoPlan
    seed: int
    clock: Clock
    started: dt.datetime
    pools: Pools
    plant_duplicates: bool = True
    users: dict[str, UserView] = field(default_factory=dict)
    created: dict[str, list[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    bulk_imports: list[BulkImport] = field(default_factory=list)
    planted: list[PlantedPair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    users_created: int = 0
    _bulk_session: Session | None = field(default=None, repr=False)

    @property
    def reference(self) -> dt.datetime:
        """Generated timestamps end at midnight (UTC) of the seed day: same seed, same day, same rows."""
        return self.started.replace(hour=0, minute=0, second=0, microsecond=0)

    @property
    def session(self) -> Session:
        """The bulk transaction's session (bulk phase only)."""
        if self._bulk_session is None:
            raise RuntimeError("run.session is only available to bulk steps")
        return self._bulk_session

    @contextmanager
    def bulk_transaction(self) -> Iterator[Session]:
        """One transaction for all bulk steps: a failure leaves no half-loaded data behind."""
        with self.factory() as session, session.begin():
            self._bulk_session = session
            try:
                yield session
            finally:
                self._bulk_session = None

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}")

    def actor(self, username: str) -> Actor:
        return self.users[username].actor()

    def uow(self, username: str, at: dt.datetime) -> UnitOfWork:
        """A unit of work acting as a demo user at a moment in the past."""
        return UnitOfWork(self.factory, actor=self.actor(username), clock=lambda: at)

    def username_of(self, user_id: int | None) -> str | None:
        return next((name for name, user in self.users.items() if user.id == user_id), None)


StepFunction = Callable[[DemoRun], None]


@dataclass(frozen=True)
class DemoStep:
    name: str
    phase: Phase
    run: StepFunction


DEMO_STEPS: list[DemoStep] = []


def register_demo_step(name: str, phase: Phase) -> Callable[[StepFunction], StepFunction]:
    """Add a generator step; steps of a phase run in registration order."""

    def register(function: StepFunction) -> StepFunction:
        if any(step.name == name for step in DEMO_STEPS):
            raise ValueError(f"demo step {name!r} registered twice")
        DEMO_STEPS.append(DemoStep(name, phase, function))
        return function

    return register


@dataclass(frozen=True)
class DemoReport:
    size: str
    seed: int
    seconds: float
    counts: tuple[tuple[str, int], ...] = ()
    users_total: int = 0
    users_created: int = 0
    phase_seconds: tuple[tuple[str, float], ...] = ()
    skipped_reason: str | None = None
    planted: tuple[PlantedPair, ...] = ()
    notes: tuple[str, ...] = ()

    def count(self, label: str) -> int:
        return dict(self.counts).get(label, 0)

    def describe(self) -> str:
        if self.skipped_reason:
            return f"Keine Demodaten erzeugt: {self.skipped_reason}"
        parts = ", ".join(f"{fmt_number(n)} {label}" for label, n in self.counts)
        return (
            f"Demodaten „{self.size}“ (Startwert {self.seed}) in {fmt_number(self.seconds, digits=1)} s erzeugt: "
            f"{parts}; {self.users_total} Demo-Benutzer ({self.users_created} neu angelegt) in den Teams "
            f"„{TEAM_NORTH}“ und „{TEAM_SOUTH}“. Anmeldung z. B. als demo.admin mit dem Passwort „{DEMO_PASSWORD}“."
        ) + "".join(f" {note}" for note in self.notes)


def resolve_plan(size: str, *, accounts: int | None, contacts: int | None, history: int | None) -> DemoPlan:
    if size not in PLANS:
        raise ValidationFailed({"size": f"unbekannte Größe (erlaubt: {', '.join(PLANS)})"})
    base = PLANS[size]
    plan = DemoPlan(
        base.name,
        base.accounts if accounts is None else accounts,
        base.contacts if contacts is None else contacts,
        base.history if history is None else history,
    )
    if plan.accounts < 1 or plan.contacts < 0 or plan.history < 0:
        raise ValidationFailed({"size": "mindestens eine Firma; Kontakte und Änderungen nicht negativ"})
    return plan


def seed_demo(
    factory: sessionmaker[Session],
    *,
    size: str = "small",
    seed: int = 42,
    only_if_empty: bool = False,
    accounts: int | None = None,
    contacts: int | None = None,
    history: int | None = None,
    duplicates: bool = True,
    clock: Clock = utc_now,
) -> DemoReport:
    """Generate demo data (a named size, or explicit counts) and report what was done.

    Uses only sessions of `factory` (tests bind it to a rolled-back connection). With
    `only_if_empty` nothing happens when accounts exist; otherwise numbering continues after
    the highest existing external id and existing demo users are reused. With `duplicates` a small
    share of derived duplicates is planted and the scan's candidates are stored (core/demo_duplicates.py).
    """
    plan = resolve_plan(size, accounts=accounts, contacts=contacts, history=history)
    started = time.perf_counter()
    if only_if_empty:
        with factory() as session:
            existing = session.scalar(select(func.count()).select_from(Account)) or 0
        if existing:
            reason = f"Es gibt bereits {fmt_number(existing)} Firmen (nur bei leerer Datenbank gewünscht)."
            return DemoReport(plan.name, seed, 0.0, skipped_reason=reason)
    run = DemoRun(factory, plan, seed, clock, clock(), Pools.draw(seed), plant_duplicates=duplicates)
    phase_seconds = {Phase.SETUP: _run_phase(run, Phase.SETUP)}
    with run.bulk_transaction():
        bulk_started = time.perf_counter()
        _run_phase(run, Phase.BULK)
        _record_bulk_imports(run)
        _refresh_statistics(run)
        phase_seconds[Phase.BULK] = time.perf_counter() - bulk_started
    phase_seconds[Phase.HISTORY] = _run_phase(run, Phase.HISTORY)
    return DemoReport(
        plan.name,
        seed,
        time.perf_counter() - started,
        tuple(run.counts.items()),
        users_total=len(run.users),
        users_created=run.users_created,
        phase_seconds=tuple((phase.value, seconds) for phase, seconds in phase_seconds.items()),
        planted=tuple(run.planted),
        notes=tuple(run.notes),
    )


def _run_phase(run: DemoRun, phase: Phase) -> float:
    """Run the phase's steps in registration order; returns the seconds taken."""
    started = time.perf_counter()
    for step in DEMO_STEPS:
        if step.phase is phase:
            step.run(run)
    return time.perf_counter() - started


def _record_bulk_imports(run: DemoRun) -> None:
    """One audit entry per bulk-loaded entity and one event, at the end of the bulk transaction."""
    now = run.clock()
    for item in run.bulk_imports:
        audit.record(
            run.session,
            now=now,
            actor=SYSTEM,
            entity=item.entity,
            entity_id=f"{item.first_external_id}..{item.last_external_id}",
            action="bulk_imported",
            reason=(
                f"Demodaten „{run.plan.name}“ (Startwert {run.seed}): {fmt_number(item.count)} {item.label} "
                f"als Massenimport angelegt ({item.first_external_id} bis {item.last_external_id})."
            ),
        )
    events.emit(
        run.session,
        name="crm.demo.seeded",
        entity="demo",
        entity_id=str(run.seed),
        payload={"size": run.plan.name, "seed": run.seed, "counts": {i.entity: i.count for i in run.bulk_imports}},
        now=now,
        actor_id=None,
    )


def _refresh_statistics(run: DemoRun) -> None:
    """Fresh planner statistics, so list pages are fast right after a large seed."""
    for table in dict.fromkeys(item.table for item in run.bulk_imports):
        run.session.execute(text(f"ANALYZE {table}"))


# ---------------------------------------------------------------------------------------- bulk loading


def bulk_insert(session: Session, model: type[Base], rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows into the model's table in the session's transaction: PostgreSQL via COPY, others in Core batches."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    rows = itertools.chain([first], iterator)
    if session.get_bind().dialect.name == "postgresql":
        return _copy_rows(session, model.__tablename__, list(first), rows)
    count = 0
    for batch in batched(rows, BATCH_SIZE):
        session.execute(insert(model), batch)
        count += len(batch)
    return count


def _copy_rows(session: Session, table: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    driver_connection = session.connection().connection.driver_connection
    column_list = ", ".join(columns)
    count = 0
    with driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
                count += 1
    return count


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def next_number(session: Session, column: Any, prefix: str) -> int:
    """The number after the highest external id like `ACC-000123` (re-runs continue after it)."""
    current = session.scalar(
        select(column).where(column.like(f"{prefix}-%")).order_by(func.length(column).desc(), column.desc()).limit(1)
    )
    if current is None:
        return 1
    suffix = current.split("-", 1)[1]
    return int(suffix) + 1 if suffix.isdigit() else 1


def inserted_ids(session: Session, id_column: Any, external_column: Any, above: int, prefix: str) -> list[int]:
    stmt = select(id_column).where(id_column > above, external_column.like(f"{prefix}-%")).order_by(id_column)
    return list(session.scalars(stmt))


def slug(text: str) -> str:
    """ASCII for e-mail addresses and domains: umlauts transliterated ("Jürgen Weiß" → "juergen-weiss")."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(TRANSLITERATION)).encode("ascii", "ignore").decode("ascii")
    )
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in ascii_text.lower())
    return "-".join(part for part in cleaned.split("-") if part)


def past_moment(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = max(0, int((end - start).total_seconds()))
    return start + dt.timedelta(seconds=rng.randint(0, span))


def phone_number(rng: random.Random, dialling_code: str, *, extension: bool = False) -> str:
    digits = 8 - len(dialling_code)
    number = str(rng.randint(10 ** (digits - 1), 10**digits - 1))
    if extension:
        return f"+49 {dialling_code} {number[:-1]}-{rng.randint(10, 399)}"
    return f"+49 {dialling_code} {number[:-1]}0"


def mobile_number(rng: random.Random) -> str:
    return f"+49 {rng.choice(MOBILE_PREFIXES)} {rng.randint(1_000_000, 99_999_999)}"


# ---------------------------------------------------------------------------------------- accounts


class AccountSeed(NamedTuple):
    """What the contact generator needs to know about a company."""

    id: int
    domain: str | None
    phone_code: str
    postcode: str | None
    city: str | None
    owner_id: int | None
    created_at: dt.datetime


INDUSTRY_WEIGHTS = (18, 10, 6, 10, 14, 12, 8, 6, 5, 6, 3, 2)
LEGAL_FORM_WEIGHTS = {
    "GmbH": 58,
    "GmbH & Co. KG": 15,
    "AG": 4,
    "KG": 4,
    "UG (haftungsbeschränkt)": 6,
    "e.K.": 5,
    "OHG": 2,
    "GbR": 2,
    "SE": 1,
    "Einzelunternehmen": 3,
}
LARGE_COMPANY_FORMS = ("AG", "SE", "GmbH", "GmbH & Co. KG")
REVENUE_BY_EMPLOYEES = ((10, 0), (50, 1), (250, 2), (1_000, 3))


def _region_team(postcode: str) -> str:
    return TEAM_NORTH if postcode[0] in "01234" else TEAM_SOUTH


def _revenue_class(rng: random.Random, employees: int) -> str:
    index = next((i for limit, i in REVENUE_BY_EMPLOYEES if employees < limit), 4)
    index = min(4, max(0, index + rng.choice((-1, 0, 0, 0, 0, 1))))
    return REVENUE_CLASSES[index]


def _legal_form(rng: random.Random, employees: int) -> str:
    if employees > 2_000:
        return rng.choice(LARGE_COMPANY_FORMS)
    forms = list(LEGAL_FORM_WEIGHTS)
    weights = list(LEGAL_FORM_WEIGHTS.values())
    form = rng.choices(forms, weights)[0]
    if employees > 50 and form in ("Einzelunternehmen", "GbR", "e.K.", "UG (haftungsbeschränkt)"):
        return "GmbH"
    return form


def _company_base_name(rng: random.Random, pools: Pools, industry: str, city: City) -> str:
    word = rng.choice(INDUSTRY_WORDS[industry])
    last = rng.choice(pools.last_names)
    pattern = rng.random()
    if pattern < 0.45:
        return f"{last} {word}"
    if pattern < 0.60:
        return f"{last} & {rng.choice(pools.last_names)}"
    if pattern < 0.75:
        return f"{rng.choice(BRAND_PREFIXES)}{rng.choice(BRAND_SUFFIXES)} {rng.choice(BRAND_NOUNS)}"
    if pattern < 0.88:
        return f"{word} {city.name.split(' ')[0]}"
    return last


def company_domain(base_name: str, name: str, city: str, taken: set[str]) -> str:
    """A web/e-mail domain of its own for a company (real domains are unique), added to `taken`.

    From the name without legal form ("schmidt-elektronik.de"). When another company already has
    it (namesakes such as two "Maschinenbau Berlin GmbH" are common in generated data), the first
    free of: name + city unless the name already contains it ("mueller-bau-koeln.de"), the full
    name with legal form ("mueller-bau-gmbh.de"), name + running number ("mueller-bau-2.de").
    Deterministic: depends only on the names and the order in which companies are generated.
    """
    base = slug(base_name)
    city_slug = slug(city.split(" ")[0])
    candidates = [base]
    if city_slug and f"-{city_slug}-" not in f"-{base}-":
        candidates.append(f"{base}-{slug(city)}")
    full = slug(name)
    if full != base:
        candidates.append(full)
    domain = next((f"{c}.de" for c in candidates if f"{c}.de" not in taken), None)
    number = 2
    while domain is None:
        candidate = f"{base}-{number}.de"
        domain = candidate if candidate not in taken else None
        number += 1
    taken.add(domain)
    return domain


def _taken_domains(run: DemoRun, start: int) -> set[str]:
    """Domains of companies seeded earlier (only when the table already has demo companies)."""
    if start <= 1:
        return set()
    websites = run.session.scalars(select(Account.website).where(Account.website.is_not(None)))
    return {website_domain(w) or "" for w in websites} - {""}


def account_rows(
    run: DemoRun, owners: Mapping[str, list[int]], manager_id: int, start: int
) -> Iterator[dict[str, Any]]:
    """Company rows ACC-<start>… combined from the pools; owners follow the postcode region."""
    rng = run.rng(f"accounts:{start}")
    taken = _taken_domains(run, start)
    pools = run.pools
    city_weights = [c.weight for c in CITIES]
    reference = run.reference
    for number in range(start, start + run.plan.accounts):
        city = rng.choices(CITIES, city_weights)[0]
        industry = rng.choices(INDUSTRIES, INDUSTRY_WEIGHTS)[0]
        employees = min(60_000, int(rng.lognormvariate(3.0, 1.5)) + 1)
        legal_form = _legal_form(rng, employees)
        base_name = _company_base_name(rng, pools, industry, city)
        name = base_name if legal_form == "Einzelunternehmen" else f"{base_name} {legal_form}"
        postcode = f"{rng.randint(city.postcode_from, city.postcode_to):05d}"
        domain = company_domain(base_name, name, city.name, taken) if rng.random() < 0.92 else None
        created = past_moment(rng, reference - DATA_SPAN, reference)
        key_account = employees > 1_000 or rng.random() < 0.05
        owner_id = manager_id if key_account else rng.choice(owners[_region_team(postcode)])
        row = {
            "external_id": f"ACC-{number:06d}",
            "name": name,
            "legal_form": legal_form,
            "industry": industry,
            "revenue_class": _revenue_class(rng, employees),
            "employees": employees,
            "website": f"https://www.{domain}" if domain else None,
            "phone": phone_number(rng, city.dialling_code),
            "email": f"{rng.choice(('info', 'kontakt', 'vertrieb', 'office'))}@{domain}" if domain else None,
            "street": f"{rng.choice(pools.streets)} {rng.randint(1, 180)}{rng.choice(('', '', '', '', 'a', 'b'))}",
            "postcode": postcode,
            "city": city.name,
            "country": "DE",
            "owner_id": owner_id,
            "notes": rng.choice(ACCOUNT_NOTES) if rng.random() < 0.1 else None,
            "version": 1,
            "created_at": created,
            "updated_at": created if rng.random() < 0.6 else past_moment(rng, created, reference),
        }
        yield row | match_keys_for_account(row)


@register_demo_step("users", Phase.SETUP)
def ensure_demo_users(run: DemoRun) -> None:
    """Teams and demo users (created through the audited services; existing ones are reused)."""
    teams = {name: _ensure_team(run, name) for name in DEMO_TEAMS}
    for spec in DEMO_USERS:
        with run.factory() as session:
            existing = session.scalar(select(User.id).where(User.username == spec.username))
        uow = UnitOfWork(run.factory, actor=SYSTEM, clock=run.clock)
        if existing is not None:
            run.users[spec.username] = get_user(uow, existing)
            continue
        email = f"{slug(spec.display_name.removeprefix('Dr. ')).replace('-', '.')}@{DEMO_EMAIL_DOMAIN}"
        values = {
            "username": spec.username,
            "display_name": spec.display_name,
            "role": spec.role,
            "email": email,
            "team_id": teams[spec.team] if spec.team else None,
        }
        run.users[spec.username] = create_user(uow, values, password=DEMO_PASSWORD)
        run.users_created += 1


def _ensure_team(run: DemoRun, name: str) -> int:
    uow = UnitOfWork(run.factory, actor=SYSTEM, clock=run.clock)
    with uow:
        uow.authorize("users.manage")
        team_id = uow.session.scalar(select(Team.id).where(Team.name == name))
        if team_id is not None:
            return team_id
        team = Team(name=name, version=1, created_at=uow.now, updated_at=uow.now)
        uow.session.add(team)
        uow.session.flush()
        uow.audit(entity="team", entity_id=team.id, action="created", changes=[audit.FieldChange("name", None, name)])
        uow.commit()
        return team.id


@register_demo_step("accounts", Phase.BULK)
def load_accounts(run: DemoRun) -> None:
    session = run.session
    owners = {team: [run.users[name].id for name in reps] for team, reps in REPS_BY_REGION.items()}
    start = next_number(session, Account.external_id, "ACC")
    above = session.scalar(select(func.max(Account.id))) or 0
    count = bulk_insert(session, Account, account_rows(run, owners, run.users[MANAGER].id, start))
    run.created["account"] = inserted_ids(session, Account.id, Account.external_id, above, "ACC")
    run.counts["Firmen"] = count
    run.bulk_imports.append(
        BulkImport("account", "accounts", "Firmen", count, f"ACC-{start:06d}", f"ACC-{start + count - 1:06d}")
    )


# ---------------------------------------------------------------------------------------- contacts

EMAIL_PATTERNS = ("{first}.{last}", "{f}.{last}", "{first}.{last}", "{last}")
FREE_MAIL_DOMAINS = ("gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de")
ACADEMIC_TITLES = (("Dr.", 0.07), ("Prof. Dr.", 0.01), ("Dipl.-Ing.", 0.02))


def _account_seeds(run: DemoRun) -> list[AccountSeed]:
    ids = run.created.get("account", [])
    if not ids:
        return []
    stmt = (
        select(
            Account.id,
            Account.website,
            Account.phone,
            Account.postcode,
            Account.city,
            Account.owner_id,
            Account.created_at,
        )
        .where(Account.id.between(ids[0], ids[-1]), Account.external_id.like("ACC-%"))
        .order_by(Account.id)
    )
    return [
        AccountSeed(
            row.id,
            row.website.removeprefix("https://www.") if row.website else None,
            row.phone.split(" ")[1] if row.phone else "30",
            row.postcode,
            row.city,
            row.owner_id,
            row.created_at,
        )
        for row in run.session.execute(stmt)
    ]


def _academic_title(rng: random.Random) -> str | None:
    draw = rng.random()
    for title, share in ACADEMIC_TITLES:
        if draw < share:
            return title
        draw -= share
    return None


def contact_email(first: str, last: str, domain: str) -> str:
    pattern = EMAIL_PATTERNS[zlib.crc32(domain.encode()) % len(EMAIL_PATTERNS)]
    first_slug, last_slug = slug(first).replace("-", ""), slug(last)
    return pattern.format(first=first_slug, f=first_slug[:1], last=last_slug) + "@" + domain


def contact_rows(
    run: DemoRun, seeds: list[AccountSeed], sales_rep_ids: list[int], start: int
) -> Iterator[dict[str, Any]]:
    """Person rows CON-<start>…: most work for one of the seeded companies and share its address."""
    rng = run.rng(f"contacts:{start}")
    pools = run.pools
    reference = run.reference
    today = reference.date()
    city_weights = [c.weight for c in CITIES]
    for number in range(start, start + run.plan.contacts):
        seed = rng.choice(seeds) if seeds and rng.random() < 0.96 else None
        gender = rng.random()
        if gender < 0.005:
            names = rng.choice((pools.female_first_names, pools.male_first_names))
            salutation, first, job = "Divers", rng.choice(names), 2
        elif gender < 0.46:
            salutation, first, job = "Frau", rng.choice(pools.female_first_names), 1
        else:
            salutation, first, job = "Herr", rng.choice(pools.male_first_names), 0
        last = rng.choice(pools.last_names)
        if seed is not None:
            email = contact_email(first, last, seed.domain) if seed.domain else None
            phone = phone_number(rng, seed.phone_code, extension=True) if rng.random() < 0.8 else None
            postcode, city_name, owner_id = seed.postcode, seed.city, seed.owner_id
            created = past_moment(rng, seed.created_at, reference)
        else:
            city = rng.choices(CITIES, city_weights)[0]
            email = f"{slug(first)}.{slug(last)}@{rng.choice(FREE_MAIL_DOMAINS)}"
            phone = phone_number(rng, city.dialling_code) if rng.random() < 0.5 else None
            postcode = f"{rng.randint(city.postcode_from, city.postcode_to):05d}"
            city_name, owner_id = city.name, rng.choice(sales_rep_ids)
            created = past_moment(rng, reference - DATA_SPAN, reference)
        birth_date = None
        if rng.random() < 0.25:
            birth_date = today - dt.timedelta(days=rng.randint(22 * 365, 64 * 365))
        row = {
            "external_id": f"CON-{number:07d}",
            "account_id": seed.id if seed else None,
            "salutation": salutation,
            "title": _academic_title(rng),
            "first_name": first,
            "last_name": last,
            "job_title": rng.choice(JOB_TITLES)[job],
            "email": email,
            "phone": phone,
            "mobile": mobile_number(rng) if rng.random() < 0.35 else None,
            "birth_date": birth_date,
            "postcode": postcode,
            "city": city_name,
            "country": "DE",
            "owner_id": owner_id,
            "version": 1,
            "created_at": created,
            "updated_at": created if rng.random() < 0.7 else past_moment(rng, created, reference),
        }
        yield row | match_keys_for_contact(row)


@register_demo_step("contacts", Phase.BULK)
def load_contacts(run: DemoRun) -> None:
    session = run.session
    sales_rep_ids = [run.users[name].id for reps in REPS_BY_REGION.values() for name in reps]
    start = next_number(session, Contact.external_id, "CON")
    above = session.scalar(select(func.max(Contact.id))) or 0
    count = bulk_insert(session, Contact, contact_rows(run, _account_seeds(run), sales_rep_ids, start))
    run.created["contact"] = inserted_ids(session, Contact.id, Contact.external_id, above, "CON")
    run.counts["Kontakte"] = count
    if count:
        last = f"CON-{start + count - 1:07d}"
        run.bulk_imports.append(BulkImport("contact", "contacts", "Kontakte", count, f"CON-{start:07d}", last))


# ---------------------------------------------------------------------------------------- change history


class Change(NamedTuple):
    """One planned edit, applied through the services in time order."""

    at: dt.datetime
    entity: str
    entity_id: int
    kind: str


ACCOUNT_CHANGES = ("move", "phone", "owner", "industry", "employees", "legal_form")
ACCOUNT_CHANGE_WEIGHTS = (25, 20, 15, 12, 18, 10)
CONTACT_CHANGES = ("phone", "mobile", "job_title", "email", "last_name", "title")
CONTACT_CHANGE_WEIGHTS = (25, 20, 20, 15, 12, 8)
# The first account of a run always gets a small story, so there is a known example to open.
SHOWCASE_CHANGES = ("employees", "move", "owner")
# Plausible corrections: a company filed under a neighbouring industry.
RELATED_INDUSTRIES = {
    "Maschinenbau": "Automobilzulieferer",
    "Automobilzulieferer": "Maschinenbau",
    "Chemie": "Medizintechnik",
    "Medizintechnik": "Elektrotechnik",
    "Elektrotechnik": "Maschinenbau",
    "IT-Dienstleistungen": "Elektrotechnik",
    "Handel": "Logistik",
    "Logistik": "Handel",
    "Lebensmittel": "Handel",
    "Bauwesen": "Energie",
    "Energie": "Bauwesen",
    "Finanzdienstleistungen": "IT-Dienstleistungen",
}
CONVERSIONS = {"UG (haftungsbeschränkt)": "GmbH", "GmbH": "GmbH & Co. KG", "KG": "GmbH & Co. KG", "e.K.": "GmbH"}

Edit = tuple[str, dict[str, Any], str]  # acting username, new values, reason


@register_demo_step("history", Phase.HISTORY)
def write_change_history(run: DemoRun) -> None:
    """Edits spread over the past year, written by demo users through update_account/update_contact."""
    rng = run.rng("history:" + ",".join(item.first_external_id for item in run.bulk_imports))
    changes = _plan_changes(run, rng)
    for change in sorted(changes):
        if change.entity == "account":
            account = get_account(run.uow(MANAGER, change.at), change.entity_id)
            username, values, reason = _account_edit(run, rng, change.kind, account)
            update_account(
                run.uow(username, change.at), account.id, values, expected_version=account.version, reason=reason
            )
        else:
            contact = get_contact(run.uow(MANAGER, change.at), change.entity_id)
            username, values, reason = _contact_edit(run, rng, change.kind, contact)
            update_contact(
                run.uow(username, change.at), contact.id, values, expected_version=contact.version, reason=reason
            )
    run.counts["Änderungen in der Änderungshistorie"] = len(changes)


def _plan_changes(run: DemoRun, rng: random.Random) -> list[Change]:
    account_ids, contact_ids = run.created.get("account", []), run.created.get("contact", [])
    total = run.plan.history
    planned: list[tuple[str, int, str]] = []
    if account_ids and total:
        planned += [("account", account_ids[0], kind) for kind in SHOWCASE_CHANGES[:total]]
    remaining = max(0, total - len(planned))
    contact_share = remaining * 2 // 5 if contact_ids else 0
    for _ in range(remaining - contact_share):
        planned.append(("account", rng.choice(account_ids), rng.choices(ACCOUNT_CHANGES, ACCOUNT_CHANGE_WEIGHTS)[0]))
    for _ in range(contact_share):
        planned.append(("contact", rng.choice(contact_ids), rng.choices(CONTACT_CHANGES, CONTACT_CHANGE_WEIGHTS)[0]))
    created = _created_at(run, planned)
    window_start = run.reference - HISTORY_WINDOW
    end = run.reference - dt.timedelta(hours=1)
    return [
        Change(past_moment(rng, max(window_start, created[(entity, entity_id)]), end), entity, entity_id, kind)
        for entity, entity_id, kind in planned
    ]


def _created_at(run: DemoRun, planned: list[tuple[str, int, str]]) -> dict[tuple[str, int], dt.datetime]:
    result: dict[tuple[str, int], dt.datetime] = {}
    with run.factory() as session:
        for entity, model in (("account", Account), ("contact", Contact)):
            ids = sorted({entity_id for e, entity_id, _ in planned if e == entity})
            for chunk in batched(ids, 500):
                stmt = select(model.id, model.created_at).where(model.id.in_(chunk))
                result.update({(entity, row.id): row.created_at for row in session.execute(stmt)})
    return result


def _editor(run: DemoRun, owner_id: int | None) -> str:
    """The owning sales rep edits their own records; everything else goes through the sales manager."""
    username = run.username_of(owner_id)
    reps = {name for names in REPS_BY_REGION.values() for name in names}
    return username if username in reps else MANAGER


def _account_edit(run: DemoRun, rng: random.Random, kind: str, account: AccountView) -> Edit:
    editor = _editor(run, account.owner_id)
    if kind == "legal_form" and account.legal_form in CONVERSIONS:
        new_form = CONVERSIONS[account.legal_form]
        base = account.name.removesuffix(f" {account.legal_form}")
        return editor, {"legal_form": new_form, "name": f"{base} {new_form}"}, "Umwandlung laut Handelsregister"
    if kind == "move":
        street = f"{rng.choice(run.pools.streets)} {rng.randint(1, 180)}"
        if rng.random() < 0.5 and account.postcode:
            city = next((c for c in CITIES if c.name == account.city), None)
            low, high = (city.postcode_from, city.postcode_to) if city else (10115, 99998)
            values: dict[str, Any] = {"street": street, "postcode": f"{rng.randint(low, high):05d}"}
            return editor, values, rng.choice(("Umzug laut Handelsregister", "Neue Anschrift laut Rechnungsstellung"))
        city = rng.choice(CITIES)
        values = {
            "street": street,
            "postcode": f"{rng.randint(city.postcode_from, city.postcode_to):05d}",
            "city": city.name,
            "phone": phone_number(rng, city.dialling_code),
        }
        return editor, values, "Umzug an neuen Standort laut Handelsregister"
    if kind == "owner":
        owner = run.username_of(account.owner_id)
        candidates = [n for names in REPS_BY_REGION.values() for n in names if n != owner]
        new_owner = run.users[rng.choice(candidates)].id
        reason = rng.choice(
            ("Gebietsneuordnung Vertrieb Nord/Süd", "Übergabe wegen Elternzeit", "Neuer Key-Account-Zuschnitt")
        )
        return MANAGER, {"owner_id": new_owner}, reason
    if kind == "industry":
        industry = RELATED_INDUSTRIES.get(account.industry or "", rng.choice(INDUSTRIES))
        return editor, {"industry": industry}, "Branche korrigiert (WZ-Schlüssel laut Handelsregister)"
    if kind == "employees":
        current = account.employees or 10
        employees = max(1, round(current * rng.uniform(0.8, 1.35)))
        employees = employees if employees != current else current + rng.randint(1, 5)
        values = {"employees": employees, "revenue_class": _revenue_class(rng, employees)}
        return editor, values, "Mitarbeiterzahl und Umsatz laut Jahresabschluss aktualisiert"
    code = account.phone.split(" ")[1] if account.phone else "30"
    return editor, {"phone": phone_number(rng, code)}, "Neue Rufnummer der Zentrale"


def _contact_edit(run: DemoRun, rng: random.Random, kind: str, contact: ContactView) -> Edit:
    editor = _editor(run, contact.owner_id)
    domain = contact.email.rsplit("@", 1)[1] if contact.email else None
    if kind == "email" and domain:
        email = f"{slug(contact.first_name)[:1]}.{slug(contact.last_name)}@{domain}"
        if email == contact.email:
            email = f"{slug(contact.first_name)}.{slug(contact.last_name)}@{domain}"
        return MARKETING, {"email": email}, "E-Mail-Adresse nach Unzustellbarkeit korrigiert"
    if kind == "last_name" and contact.salutation == "Frau":
        last = rng.choice([n for n in run.pools.last_names if n != contact.last_name])
        values: dict[str, Any] = {"last_name": last}
        if domain:
            values["email"] = contact_email(contact.first_name, last, domain)
        return editor, values, "Namensänderung nach Heirat"
    if kind == "job_title":
        forms = [t for t in JOB_TITLES if contact.job_title not in t]
        index = {"Herr": 0, "Frau": 1}.get(contact.salutation or "", 2)
        return editor, {"job_title": rng.choice(forms)[index]}, "Neue Position laut E-Mail-Signatur"
    if kind == "title" and not contact.title:
        return editor, {"title": "Dr."}, "Promotion abgeschlossen, Titel ergänzt"
    if kind == "mobile":
        return editor, {"mobile": mobile_number(rng)}, "Neue Mobilnummer mitgeteilt"
    code = contact.phone.split(" ")[1] if contact.phone else "30"
    return editor, {"phone": phone_number(rng, code, extension=True)}, "Neue Durchwahl laut E-Mail-Signatur"


def supplement_demo(
    factory: sessionmaker[Session],
    *,
    name: str,
    present: type[Base],
    skipped: str,
    bulk: Callable[[DemoRun], None],
    history: Callable[[DemoRun], None],
    seed: int = 42,
    clock: Clock = utc_now,
) -> DemoReport:
    """One capability's demo steps alone, for demo data seeded before the capability existed (an upgraded
    installation, the benchmark databases): every demo contact is a candidate. Nothing happens when the table
    `present` has rows already (`skipped` says so, with `{count}`)."""
    started = time.perf_counter()
    with factory() as session:
        existing = session.scalar(select(func.count()).select_from(present)) or 0
        demo_contacts = select(Contact.id).where(Contact.external_id.like("CON-%")).order_by(Contact.id)
        ids = [] if existing else list(session.scalars(demo_contacts))
    plan = DemoPlan(name, accounts=0, contacts=len(ids), history=0)
    reason = skipped.format(count=fmt_number(existing)) if existing else None
    if reason or not ids:
        return DemoReport(plan.name, seed, 0.0, skipped_reason=reason or "Es gibt keine Demokontakte.")
    run = DemoRun(factory, plan, seed, clock, clock(), Pools.draw(seed))
    ensure_demo_users(run)
    run.created["contact"] = ids
    with run.bulk_transaction():
        bulk_started = time.perf_counter()
        bulk(run)
        # What seed_demo does at the end of its bulk transaction: the audit entries, the event, fresh statistics.
        _record_bulk_imports(run)
        _refresh_statistics(run)
        bulk_seconds = time.perf_counter() - bulk_started
    history_started = time.perf_counter()
    history(run)
    return DemoReport(
        plan.name,
        seed,
        time.perf_counter() - started,
        tuple(run.counts.items()),
        users_total=len(run.users),
        users_created=run.users_created,
        phase_seconds=(("bulk", bulk_seconds), ("history", time.perf_counter() - history_started)),
        notes=tuple(run.notes),
    )


import core.demo_addresses  # noqa: E402,F401  (registers the "addresses" bulk step after the contacts)
import core.demo_duplicates  # noqa: E402,F401  (registers the "duplicates" and "duplicate_scan" steps last)
import core.demo_sales  # noqa: E402,F401  (registers the "sales" bulk step: deals, history, quotes, orders)
import core.demo_consent  # noqa: E402,F401 - registers the consent demo steps
import core.demo_gdpr  # noqa: E402,F401 - registers the "gdpr_requests" history step after the consent steps
import core.demo_segments  # noqa: E402,F401 - registers "segment_data" (bulk) and "segments" (history) after consent
