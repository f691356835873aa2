"""Demo sales data: two years of deals with their stage history, contact roles, quotes and orders.

Bulk step after the companies, contacts, addresses and planted duplicates:

- a product catalogue of 25 German B2B products and services (three at 7 % VAT), inserted once;
- `DEALS_PER_ACCOUNT` deals per company of the run (small 800, large 500,000), created over the two
  years before the run's reference time, more of them recently; most in Neugeschäft, deals of existing
  customers in Bestandskunden; amounts log-normal by company size, a few in CHF;
- every deal walks its pipeline in a small simulation: conversion per stage (`FLOWS`), gamma-distributed
  days in stage with occasional stalls, skipped stages, backward moves, lost reasons by stage, reopened
  lost deals, and reviews that revise amount, probability and close date (slipped close dates). What
  would happen after the reference time has not happened yet, so the recent deals are open in every
  stage with close dates in the coming months, some of them stale;
- each change is a row of the append-only stage history (about six per deal), the deal's stage,
  status, closing fields, `stage_entered_at`, `updated_at` and `version` follow from its last rows;
- 1–3 contacts of the company with roles (one primary), and for every deal that reached the quote stage
  a primary quote with 1–5 lines priced by core.sales.pricing (the deal's amount follows the quote):
  accepted with an order for won deals, declined for lost ones, sent for open ones.

Ids of deals and quotes are reserved up front (core.imports.bulk.reserve_ids), so each chunk of deals
is written table by table without reading back (PostgreSQL: COPY; SQLite: the driver's executemany).
Audit: one `bulk_imported` entry per entity, recorded by the demo framework (core/demo.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.demo import (
    MANAGER,
    REPS_BY_REGION,
    BulkImport,
    DemoRun,
    Phase,
    batched,
    bulk_insert,
    next_number,
    register_demo_step,
)
from core.formatting import DISPLAY_TZ
from core.imports.bulk import insert_rows, larger_page_cache, reserve_ids
from core.sales.pricing import PricedLine, QuoteTotals, line_net, quote_totals
from db.base import Base
from db.models import (
    Account,
    Contact,
    DealReason,
    Opportunity,
    OpportunityContact,
    OpportunityStageEvent,
    Pipeline,
    PipelineStage,
    Product,
    Quote,
    QuoteLine,
    SalesOrder,
)

DEALS_PER_ACCOUNT = {"tiny": 2.0, "small": 2.0, "medium": 2.5, "large": 2.5}
DEAL_WINDOW_DAYS = 730
GROWTH = 0.5  # the last month sees 1.5 times as many new deals as the first
CHUNK = 5_000
EXISTING_CUSTOMER_SHARE = 0.4  # companies that also get Bestandskunden deals
EXISTING_PIPELINE_SHARE = 0.25
CHF_SHARE = 0.02
CHF_PER_EUR = Decimal("0.96")
OTHER_OWNER_SHARE = 0.15
MANAGER_ACTS_SHARE = 0.12
STALL_SHARE = 0.08
BACKWARD_SHARE = 0.06  # per stage decision after the first stage; about 5 % of all deals move back
REOPEN_SHARE = 0.025  # of lost deals; about 2 % of all deals
REVIEW_EVERY_DAYS = 15.0  # mean days between reviews of an open deal (revised rows)
OVERDUE_KEPT_SHARE = 0.5  # open deals past their close date that nobody has pushed yet
WON_REASON_SHARE = 0.9
SLIP_ON_MOVE_SHARE = 0.7  # a deal moved on after its close date gets a new one
MINUTE = 1 / 1440  # simulation time is in days relative to the reference time
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)


T = TypeVar("T")


class Weighted(Generic[T]):
    """A weighted choice prepared once (random.choices sums the weights again on every call)."""

    def __init__(self, weights: Mapping[T, float]) -> None:
        self.items = tuple(weights)
        self.cumulative = tuple(itertools.accumulate(weights.values()))

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class Flow(NamedTuple):
    """What happens to deals in an open stage: the share that moves on (the rest is lost there),
    the mean days spent in it, and the share of those moving on that skip the next stage."""

    advance: float
    mean_days: float
    skip: float = 0.0


FLOWS: dict[str, dict[str, Flow]] = {
    "Neugeschäft": {
        "Qualifizierung": Flow(0.60, 14, 0.06),
        "Bedarfsanalyse": Flow(0.55, 21),
        "Angebot": Flow(0.60, 24, 0.08),
        "Verhandlung": Flow(0.55, 18),
    },
    "Bestandskunden": {
        "Bedarf erkannt": Flow(0.75, 14),
        "Angebot": Flow(0.70, 18, 0.10),
        "Verhandlung": Flow(0.70, 12),
    },
}
DEFAULT_FLOW = Flow(0.6, 14)
QUOTE_STAGE = "Angebot"


class ProductSpec(NamedTuple):
    sku: str
    name: str
    unit: str
    price: Decimal
    vat: int
    description: str


def _product(sku: str, name: str, unit: str, price: str, vat: int, description: str) -> ProductSpec:
    return ProductSpec(sku, name, unit, Decimal(price), vat, description)


PRODUCTS: tuple[ProductSpec, ...] = (
    _product("SW-ERP", "ERP-Lizenz Professional", "Lizenz", "1290.00", 19, "Nutzerlizenz für 12 Monate inkl. Updates"),
    _product("SW-CRM", "CRM-Lizenz Business", "Lizenz", "780.00", 19, "Nutzerlizenz für 12 Monate"),
    _product("SW-BI", "Reporting- und BI-Modul", "Lizenz", "540.00", 19, "Zusatzmodul je Nutzer für 12 Monate"),
    _product("SW-MES", "MES-Basismodul Fertigung", "Pauschal", "24500.00", 19, "Betriebsdatenerfassung, Feinplanung"),
    _product("SW-DMS", "Dokumentenmanagement Standard", "Lizenz", "360.00", 19, "Revisionssichere Ablage je Nutzer"),
    _product("HW-SRV", "Server Rack 2 HE inkl. Montage", "Stück", "8900.00", 19, "2 CPUs, 256 GB RAM, 8 TB SSD"),
    _product("HW-TERM", "Industrie-Terminal 15 Zoll", "Stück", "2450.00", 19, "IP65, Touch, Wandhalterung"),
    _product("HW-SCAN", "Handscanner mit Ladestation", "Stück", "690.00", 19, "1D/2D-Codes, Funkreichweite 100 m"),
    _product("HW-NET", "Netzwerk-Switch 48 Port", "Stück", "3200.00", 19, "Layer 3, PoE+, 4 × 10G-Uplink"),
    _product("DL-BER", "Beratung", "Tag", "1350.00", 19, "Beratertag vor Ort oder remote (8 Stunden)"),
    _product("DL-PM", "Projektmanagement", "Tag", "1180.00", 19, "Projektleitung je Tag"),
    _product("DL-IMPL", "Implementierung und Konfiguration", "Tag", "1250.00", 19, "Einrichtung je Tag"),
    _product("DL-DATA", "Datenmigration Altsystem", "Pauschal", "6800.00", 19, "Stamm- und Bewegungsdaten übernehmen"),
    _product("DL-SCHUL", "Anwenderschulung vor Ort", "Tag", "1450.00", 19, "Bis zu 8 Teilnehmende je Tag"),
    _product("DL-WEB", "Webinar-Schulung", "Stück", "190.00", 19, "Je Teilnehmerin oder Teilnehmer, 3 Stunden"),
    _product("DL-STD", "Technischer Support nach Aufwand", "Stunde", "145.00", 19, "Abrechnung im 15-Minuten-Takt"),
    _product("WT-SUP", "Supportvertrag Standard", "Monat", "450.00", 19, "Servicezeiten Mo–Fr 8–18 Uhr"),
    _product("WT-PREM", "Supportvertrag Premium 24/7", "Monat", "1150.00", 19, "Reaktionszeit 2 Stunden, 24/7"),
    _product("WT-HW", "Hardware-Wartung", "Jahr", "1900.00", 19, "Vor-Ort-Austausch am nächsten Werktag"),
    _product("CL-HOST", "Cloud-Hosting Business", "Monat", "620.00", 19, "Rechenzentrum in Frankfurt am Main"),
    _product("CL-BACK", "Backup-Service", "Monat", "85.00", 19, "Je TB, tägliche Sicherung, 30 Tage Aufbewahrung"),
    _product("SEC-AUD", "IT-Sicherheitsaudit", "Pauschal", "9500.00", 19, "Prüfung nach BSI IT-Grundschutz"),
    _product("PUB-HB", "Anwenderhandbuch (gedruckt)", "Stück", "49.00", 7, "Gebundene Ausgabe, 320 Seiten"),
    _product("PUB-FB", "Fachbuch Digitale Fertigung", "Stück", "59.90", 7, "3. Auflage"),
    _product("PUB-ABO", "Fachzeitschrift Industrie 4.0", "Jahr", "129.00", 7, "Jahresabonnement, 10 Ausgaben"),
)


class Topic(NamedTuple):
    """What a deal is about: its name and the products its quote is made of (the first is the main one)."""

    name: str
    skus: tuple[str, ...]


NEW_BUSINESS_TOPICS = Weighted({
    Topic("ERP-Einführung", ("SW-ERP", "DL-IMPL", "DL-PM", "DL-DATA", "DL-SCHUL", "WT-SUP")): 14,
    Topic("CRM-Einführung", ("SW-CRM", "DL-IMPL", "DL-SCHUL", "CL-HOST", "DL-WEB")): 11,
    Topic("MES-Pilot Fertigung", ("SW-MES", "HW-TERM", "DL-IMPL", "DL-BER")): 6,
    Topic("Scanner-Rollout Lager", ("HW-SCAN", "HW-TERM", "DL-IMPL", "WT-HW")): 6,
    Topic("Serverraum-Modernisierung", ("HW-SRV", "HW-NET", "DL-IMPL", "WT-HW")): 7,
    Topic("Cloud-Migration", ("CL-HOST", "CL-BACK", "DL-BER", "DL-DATA")): 9,
    Topic("IT-Sicherheitsaudit", ("SEC-AUD", "DL-BER", "DL-STD")): 6,
    Topic("Dokumentenmanagement", ("SW-DMS", "DL-IMPL", "DL-SCHUL", "PUB-HB")): 8,
    Topic("Reporting und BI", ("SW-BI", "DL-BER", "DL-SCHUL")): 6,
    Topic("Schulungsprogramm", ("DL-SCHUL", "DL-WEB", "PUB-HB", "PUB-FB")): 5,
    Topic("Rahmenvertrag Beratung", ("DL-BER", "DL-PM")): 6,
    Topic("Supportvertrag", ("WT-SUP", "WT-PREM", "DL-STD")): 6,
})
EXISTING_CUSTOMER_TOPICS = Weighted({
    Topic("Lizenzerweiterung ERP", ("SW-ERP", "DL-SCHUL")): 12,
    Topic("Verlängerung Supportvertrag", ("WT-SUP", "WT-HW")): 12,
    Topic("Upgrade Premium-Support", ("WT-PREM", "DL-STD")): 6,
    Topic("Zusatzmodul Reporting", ("SW-BI", "DL-IMPL")): 8,
    Topic("Hardware-Erneuerung", ("HW-TERM", "HW-SCAN", "WT-HW")): 8,
    Topic("Folgeschulung", ("DL-SCHUL", "DL-WEB", "PUB-HB")): 6,
    Topic("Fachliteratur-Paket", ("PUB-FB", "PUB-ABO", "PUB-HB")): 2,
    Topic("Backup-Erweiterung", ("CL-BACK", "CL-HOST")): 5,
})
NAME_SUFFIXES = ("", "", "", " Standort {city}", " {year}", " Phase 2", " Werk Nord", " Zentrale", " {city}")
LEAD_SOURCES = Weighted({
    "Website": 22,
    "Empfehlung": 15,
    "Messe": 12,
    "Kaltakquise": 14,
    "Partner": 10,
    "Kampagne": 12,
    "Bestandskunde": 4,
    "Sonstiges": 3,
})
EXISTING_LEAD_SOURCES = Weighted({"Bestandskunde": 80, "Empfehlung": 8, "Kampagne": 7, "Website": 5})
CAMPAIGNS = (
    "Webinar-Reihe Digitalisierung {year}",
    "Frühjahrsaktion {year}",
    "Newsletter Herbst {year}",
    "Hausmesse {year}",
    "Anwendertag {year}",
)
COMPETITORS = (
    "Nordwerk Software GmbH",
    "Systemhaus Becker & Partner",
    "DataLogic Solutions AG",
    "Rheinsoft GmbH",
    "ProIndustrie IT GmbH",
    "Alpenland Digital AG",
    "Hanse Consulting GmbH",
    "Interne IT des Kunden",
)
COMPETITOR_SHARE = 0.4
NEXT_STEPS = (
    ("Erstgespräch vereinbaren", "Bedarf und Budget klären", "Ansprechpartner im Einkauf ermitteln"),
    ("Workshop vor Ort durchführen", "Anforderungskatalog abstimmen", "Demo-Termin vereinbaren"),
    ("Angebot nachfassen", "Rückfragen zum Angebot klären", "Referenzbesuch organisieren"),
    ("Vertragsentwurf an die Rechtsabteilung", "Konditionen mit dem Einkauf verhandeln", "Unterschrift einholen"),
)
WON_NEXT_STEPS = ("Übergabe an das Projektteam", "Kick-off-Termin abstimmen", "Rechnung und Lieferung anstoßen")
LOST_NEXT_STEPS = ("In sechs Monaten erneut ansprechen", "Newsletter-Verteiler aufnehmen")
DESCRIPTIONS = (
    "Ablösung des Altsystems aus dem Jahr {old}, rund {users} Anwender an {sites} Standorten.",
    "Ausschreibung über den Einkauf, Entscheidung durch die Geschäftsführung.",
    "Kunde wünscht eine schrittweise Einführung, Start mit der Pilotabteilung ({users} Anwender).",
    "Budget im Wirtschaftsplan {year} eingestellt, Förderung über Digitalbonus geprüft.",
    "Kontakt entstand über die Empfehlung eines Bestandskunden.",
)
DESCRIPTION_SHARE = 0.35
# Lost reasons by stage: early deals fade out, late ones lose on price or to a competitor.
LOST_WEIGHTS_EARLY = {
    "Keine Rückmeldung": 30,
    "Kein Bedarf mehr": 25,
    "Kein Budget": 20,
    "Projekt verschoben": 15,
    "Wettbewerber gewählt": 5,
    "Preis zu hoch": 3,
    "Sonstiges": 2,
}
LOST_WEIGHTS_LATE = {
    "Preis zu hoch": 30,
    "Wettbewerber gewählt": 30,
    "Projekt verschoben": 12,
    "Kein Budget": 10,
    "Keine Rückmeldung": 8,
    "Kein Bedarf mehr": 5,
    "Sonstiges": 5,
}
WON_WEIGHTS = {
    "Preis-Leistung": 30,
    "Funktionsumfang": 25,
    "Beziehung und Vertrauen": 20,
    "Service und Support": 12,
    "Referenzen": 10,
    "Sonstiges": 3,
}
COMPETITOR_REASON = "Wettbewerber gewählt"
LOST_OTHER_TEXTS = (
    "Kunde setzt das Projekt intern um",
    "Insolvenz des Kunden",
    "Nach Fusion entscheidet die Konzernmutter",
    "Ansprechpartner hat das Unternehmen verlassen",
    "Anforderungen passen nicht zu unserem Portfolio",
    "Ausschreibung formal nicht erfüllt",
)
LOST_NOTES = (
    "Wettbewerber rund {percent} % günstiger",
    "Entscheidung auf das nächste Geschäftsjahr vertagt",
    "Budget wurde für andere Projekte verwendet",
)
WON_OTHER_TEXTS = ("Kurze Lieferzeit", "Empfehlung der Konzernmutter", "Förderprogramm nutzbar")
PRIMARY_ROLES = Weighted({"Entscheider": 45, "Fachbereich": 25, "Einkauf": 20, "Technik": 10})
CONTACT_COUNTS = Weighted({1: 50, 2: 35, 3: 15})
LINE_COUNTS = Weighted({1: 20, 2: 30, 3: 25, 4: 15, 5: 10})
OTHER_ROLES = ("Einkauf", "Fachbereich", "Technik", "Anwender", "Beeinflusser", "Sonstige")
QUOTE_VALID_DAYS = 30
QUOTE_DISCOUNTS = Weighted({Decimal(0): 80, Decimal(2): 8, Decimal(3): 7, Decimal(5): 5})
LINE_DISCOUNTS = Weighted({Decimal(0): 70, Decimal(5): 12, Decimal(10): 10, Decimal(15): 6, Decimal(20): 2})
QUOTE_INTRODUCTION = (
    "Sehr geehrte Damen und Herren,\n\nvielen Dank für das freundliche Gespräch. "
    "Gerne unterbreiten wir Ihnen folgendes Angebot."
)
QUOTE_TERMS = "Zahlbar innerhalb von 30 Tagen ohne Abzug. Es gelten unsere Allgemeinen Geschäftsbedingungen."
DECLINE_REASONS = {"Preis zu hoch": "Preis zu hoch", COMPETITOR_REASON: "Anderer Anbieter beauftragt"}


# ---------------------------------------------------------------------------------------- reference data


class StageRef(NamedTuple):
    id: int
    pipeline_id: int
    name: str
    kind: str
    probability: int


@dataclass(frozen=True)
class PipelinePlan:
    """A pipeline as the simulation walks it: open stages in order with their flows, the quote stage."""

    id: int
    name: str
    open: tuple[StageRef, ...]
    won: StageRef
    lost: StageRef
    flows: tuple[Flow, ...]
    quote_index: int


@dataclass(frozen=True)
class ReasonTable:
    """Active reasons of one kind with the weights to draw them by (by stage for lost reasons)."""

    ids: tuple[int, ...]
    labels: tuple[str, ...]
    needs_text: tuple[bool, ...]
    early: Weighted[int]
    late: Weighted[int]

    def draw(self, rng: random.Random, late: bool) -> int:
        """The index of a reason: by the weights for late stages (from the quote on) or early ones."""
        return (self.late if late else self.early).draw(rng)


class AccountInfo(NamedTuple):
    id: int
    owner_id: int | None
    employees: int
    city: str | None
    created: float  # days relative to the reference time (negative: before)


class CatalogueItem(NamedTuple):
    id: int
    spec: ProductSpec


def load_pipeline_plans(session: Session) -> list[PipelinePlan]:
    """Active pipelines with at least one open, a won and a lost stage; the default pipeline first."""
    pipelines = session.execute(
        select(Pipeline.id, Pipeline.name, Pipeline.is_default)
        .where(Pipeline.is_active.is_(True))
        .order_by(Pipeline.is_default.desc(), Pipeline.position, Pipeline.id)
    ).all()
    stages = session.execute(
        select(
            PipelineStage.id,
            PipelineStage.pipeline_id,
            PipelineStage.name,
            PipelineStage.kind,
            PipelineStage.probability,
        ).order_by(PipelineStage.pipeline_id, PipelineStage.position, PipelineStage.id)
    ).all()
    plans = []
    for pipeline in pipelines:
        own = [StageRef(*row) for row in stages if row.pipeline_id == pipeline.id]
        open_stages = tuple(s for s in own if s.kind == "open")
        won = next((s for s in own if s.kind == "won"), None)
        lost = next((s for s in own if s.kind == "lost"), None)
        if not open_stages or won is None or lost is None:
            continue
        flows = FLOWS.get(pipeline.name, {})
        names = [s.name for s in open_stages]
        quote_index = names.index(QUOTE_STAGE) if QUOTE_STAGE in names else len(names) // 2
        plans.append(
            PipelinePlan(
                pipeline.id,
                pipeline.name,
                open_stages,
                won,
                lost,
                tuple(flows.get(s.name, DEFAULT_FLOW) for s in open_stages),
                quote_index,
            )
        )
    return plans


def load_reasons(session: Session, kind: str, early: Mapping[str, int], late: Mapping[str, int]) -> ReasonTable:
    rows = session.execute(
        select(DealReason.id, DealReason.label, DealReason.needs_text)
        .where(DealReason.kind == kind, DealReason.is_active.is_(True))
        .order_by(DealReason.position, DealReason.id)
    ).all()
    return ReasonTable(
        tuple(r.id for r in rows),
        tuple(r.label for r in rows),
        tuple(bool(r.needs_text) for r in rows),
        Weighted({i: early.get(r.label, 2) for i, r in enumerate(rows)}),
        Weighted({i: late.get(r.label, 2) for i, r in enumerate(rows)}),
    )


def ensure_products(run: DemoRun) -> dict[str, CatalogueItem]:
    """The catalogue by SKU; products missing from the table are inserted (a second seed reuses them)."""
    session = run.session
    existing = dict(session.execute(select(Product.sku, Product.id)).tuples().all())
    created = run.reference - dt.timedelta(days=DEAL_WINDOW_DAYS + 30)
    missing = [p for p in PRODUCTS if p.sku not in existing]
    rows = [
        {
            "sku": p.sku,
            "name": p.name,
            "description": p.description,
            "unit": p.unit,
            "unit_price": p.price,
            "vat_rate": Decimal(p.vat),
            "is_active": True,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        for p in missing
    ]
    if rows:
        insert_rows(session, Product, rows)
        run.counts["Produkte"] = len(rows)
        first, last = missing[0].sku, missing[-1].sku
        run.bulk_imports.append(BulkImport("product", "products", "Produkte", len(rows), first, last))
    ids = dict(session.execute(select(Product.sku, Product.id)).tuples().all())
    return {p.sku: CatalogueItem(ids[p.sku], p) for p in PRODUCTS}


# ---------------------------------------------------------------------------------------- one deal


class Step(NamedTuple):
    """One history row before it gets its database ids: times in days relative to the reference time."""

    kind: str
    from_stage: StageRef | None
    to_stage: StageRef
    at: float
    amount: Decimal
    probability: int
    close: dt.date
    actor_id: int | None


class LinePlan(NamedTuple):
    item: CatalogueItem
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    net: Decimal


@dataclass
class QuotePlan:
    lines: list[LinePlan]
    discount: Decimal
    totals: QuoteTotals
    sent_at: float


@dataclass
class Deal:
    """A simulated deal: the rows of the opportunity, its history, its contacts and its quote follow from it."""

    number: int
    account: AccountInfo
    pipeline: PipelinePlan
    owner_id: int | None
    topic: Topic
    currency: str
    amount: Decimal
    close: dt.date
    steps: list[Step] = field(default_factory=list)
    stage: StageRef | None = None
    index: int = 0
    override: int | None = None
    reason_index: int | None = None
    reason_text: str | None = None
    quote: QuotePlan | None = None
    reopened: bool = False
    moved_back: bool = False

    @property
    def probability(self) -> int:
        stage = self.stage
        assert stage is not None
        return self.override if self.override is not None and stage.kind == "open" else stage.probability

    @property
    def last_at(self) -> float:
        return self.steps[-1].at


@dataclass
class SalesContext:
    """Everything the deal simulation draws from, loaded once per run."""

    rng: random.Random
    today: dt.date
    pipelines: list[PipelinePlan]
    lost: ReasonTable
    won: ReasonTable
    catalogue: dict[str, CatalogueItem]
    accounts: list[AccountInfo]
    customers: list[AccountInfo]
    sellers: list[int]
    manager_id: int | None

    def actor(self, owner_id: int | None) -> int | None:
        if self.manager_id is not None and self.rng.random() < MANAGER_ACTS_SHARE:
            return self.manager_id
        return owner_id

    def date_at(self, at: float) -> dt.date:
        return self.today + dt.timedelta(days=math.floor(at))


def simulate(ctx: SalesContext, number: int, created: float) -> Deal:
    """A deal created `created` days before the reference time, walked through its pipeline up to now."""
    rng = ctx.rng
    existing = len(ctx.pipelines) > 1 and rng.random() < EXISTING_PIPELINE_SHARE
    pipeline = ctx.pipelines[1] if existing else ctx.pipelines[0]
    account = _account_for(ctx, ctx.customers if existing and ctx.customers else ctx.accounts, created)
    created = max(created, account.created + rng.uniform(3, 30))
    created = min(created, -MINUTE)
    owner = account.owner_id
    if owner not in ctx.sellers or rng.random() < OTHER_OWNER_SHARE:
        owner = rng.choice(ctx.sellers) if ctx.sellers else owner
    topics = EXISTING_CUSTOMER_TOPICS if existing else NEW_BUSINESS_TOPICS
    topic = topics.draw(rng)
    currency = "CHF" if rng.random() < CHF_SHARE else "EUR"
    cycle = sum(f.mean_days for f in pipeline.flows) * rng.uniform(0.8, 1.7)
    deal = Deal(
        number=number,
        account=account,
        pipeline=pipeline,
        owner_id=owner,
        topic=topic,
        currency=currency,
        amount=_estimate(rng, account.employees, existing),
        close=ctx.date_at(created + cycle),
    )
    _walk(ctx, deal, created)
    return deal


def _account_for(ctx: SalesContext, accounts: Sequence[AccountInfo], created: float) -> AccountInfo:
    """A company that already existed when the deal was created (if one is found in a few draws)."""
    account = ctx.rng.choice(accounts)
    for _ in range(4):
        if account.created < created:
            break
        account = ctx.rng.choice(accounts)
    return account


def _estimate(rng: random.Random, employees: int, existing: bool) -> Decimal:
    """First estimate of a deal's value: log-normal around a median that grows with the company's size."""
    median = 4_000 * max(1, employees) ** 0.4 * (0.6 if existing else 1.0)
    value = min(500_000.0, max(5_000.0, median * rng.lognormvariate(0, 0.7)))
    step = 500 if value >= 20_000 else 100
    return Decimal(int(round(value / step) * step))


def _add(deal: Deal, ctx: SalesContext, kind: str, to_stage: StageRef, at: float, actor_id: int | None) -> None:
    """Append a history row; a stage move of a deal past its close date also moves the close date."""
    from_stage = deal.stage
    at = max(at, deal.last_at + MINUTE) if deal.steps else at
    deal.stage = to_stage
    day = ctx.date_at(at)
    if kind in ("moved", "reopened") and deal.close < day and ctx.rng.random() < SLIP_ON_MOVE_SHARE:
        deal.close = day + dt.timedelta(days=ctx.rng.randint(14, 45))
    deal.steps.append(Step(kind, from_stage, to_stage, at, deal.amount, deal.probability, deal.close, actor_id))


def _walk(ctx: SalesContext, deal: Deal, created: float) -> None:
    rng = ctx.rng
    pipeline = deal.pipeline
    stages = pipeline.open
    _add(deal, ctx, "created", stages[0], created, deal.owner_id)
    at = created
    while True:
        flow = pipeline.flows[deal.index]
        days = rng.gammavariate(2.0, flow.mean_days / 2)
        if rng.random() < STALL_SHARE:
            days *= rng.uniform(2.5, 6.0)
        leave = at + max(0.1, days)
        _review(ctx, deal, until=min(leave, 0.0))
        if leave >= 0:
            _review_overdue(ctx, deal)
            return
        at = max(leave, deal.last_at + MINUTE)
        actor = ctx.actor(deal.owner_id)
        if deal.index > 0 and not deal.moved_back and rng.random() < BACKWARD_SHARE:
            deal.moved_back = True
            deal.index -= 1
            _add(deal, ctx, "moved", stages[deal.index], at, actor)
            continue
        if rng.random() < flow.advance:
            target = deal.index + 1
            if target < len(stages) and target != pipeline.quote_index and rng.random() < flow.skip:
                target += 1
            if target >= len(stages):
                _close(ctx, deal, won=True, at=at, actor=actor)
                return
            deal.index = target
            if target >= pipeline.quote_index and deal.quote is None:
                deal.quote = _quote(ctx, deal, at)
                deal.amount = deal.quote.totals.net
            _add(deal, ctx, "moved", stages[target], at, actor)
            continue
        _close(ctx, deal, won=False, at=at, actor=actor)
        comeback = at + rng.uniform(20, 120)
        if deal.reopened or rng.random() >= REOPEN_SHARE or comeback >= 0:
            return
        deal.reopened = True
        deal.reason_index = deal.reason_text = None
        _add(deal, ctx, "reopened", stages[deal.index], comeback, deal.owner_id)
        at = comeback


def _review(ctx: SalesContext, deal: Deal, *, until: float) -> None:
    """Pipeline reviews while the deal stays in its stage: close date, amount or probability revised."""
    rng = ctx.rng
    at = deal.last_at + rng.expovariate(1 / REVIEW_EVERY_DAYS)
    while at < until:
        stage = deal.stage
        assert stage is not None
        draw = rng.random()
        if draw < 0.5:
            base = max(deal.close, ctx.date_at(at))
            deal.close = base + dt.timedelta(days=rng.randint(7, 45))
        elif draw < 0.7 and deal.quote is None:
            factor = Decimal(str(round(rng.uniform(0.8, 1.25), 2)))
            deal.amount = max(Decimal(1000), (deal.amount * factor / 100).quantize(Decimal(1)) * 100)
        elif draw < 0.82:
            shift = rng.choice((-20, -15, -10, 10, 15))
            deal.override = min(95, max(5, stage.probability + shift))
        else:
            earlier = deal.close - dt.timedelta(days=rng.randint(3, 20))
            deal.close = max(earlier, ctx.date_at(at) + dt.timedelta(days=3))
        _add(deal, ctx, "revised", stage, at, ctx.actor(deal.owner_id))
        at += rng.expovariate(1 / REVIEW_EVERY_DAYS)


def _review_overdue(ctx: SalesContext, deal: Deal) -> None:
    """An open deal past its close date: most owners have pushed the date out, some have not yet."""
    rng = ctx.rng
    if deal.close >= ctx.today or rng.random() < OVERDUE_KEPT_SHARE:
        return
    start = max(deal.last_at, float((deal.close - ctx.today).days))
    at = rng.uniform(start, 0.0) if start < 0 else -MINUTE
    deal.close = ctx.today + dt.timedelta(days=rng.randint(7, 120))
    assert deal.stage is not None
    _add(deal, ctx, "revised", deal.stage, min(at, -MINUTE), deal.owner_id)


def _close(ctx: SalesContext, deal: Deal, *, won: bool, at: float, actor: int | None) -> None:
    rng = ctx.rng
    reasons = ctx.won if won else ctx.lost
    late = deal.index >= deal.pipeline.quote_index
    deal.reason_index = deal.reason_text = None
    if reasons.ids and (not won or rng.random() < WON_REASON_SHARE):
        deal.reason_index = reasons.draw(rng, late)
        if reasons.needs_text[deal.reason_index]:
            deal.reason_text = rng.choice(WON_OTHER_TEXTS if won else LOST_OTHER_TEXTS)
        elif not won and rng.random() < 0.15:
            deal.reason_text = rng.choice(LOST_NOTES).format(percent=rng.choice((8, 10, 12, 15, 20)))
    _add(deal, ctx, "won" if won else "lost", deal.pipeline.won if won else deal.pipeline.lost, at, actor)


# ---------------------------------------------------------------------------------------- quotes


def _quote(ctx: SalesContext, deal: Deal, at: float) -> QuotePlan:
    """1–5 lines from the deal's topic whose total comes near the deal's current estimate."""
    rng = ctx.rng
    skus = list(deal.topic.skus)
    count = min(len(skus), LINE_COUNTS.draw(rng))
    chosen = [skus[0], *rng.sample(skus[1:], count - 1)] if count > 1 else [skus[0]]
    weights = [rng.uniform(0.5, 1.5) * (2.5 if i == 0 else 1.0) for i in range(len(chosen))]
    total_weight = sum(weights)
    target = float(deal.amount)
    lines = []
    for sku, weight in zip(chosen, weights):
        item = ctx.catalogue[sku]
        price = _price(item.spec.price, deal.currency)
        quantity = _quantity(item.spec.unit, target * weight / total_weight / float(price))
        discount = LINE_DISCOUNTS.draw(rng)
        lines.append(LinePlan(item, quantity, price, discount, line_net(quantity, price, discount)))
    discount = QUOTE_DISCOUNTS.draw(rng)
    priced = [PricedLine(ln.quantity, ln.unit_price, Decimal(ln.item.spec.vat), ln.discount) for ln in lines]
    return QuotePlan(lines, discount, quote_totals(priced, discount), at)


def _price(price: Decimal, currency: str) -> Decimal:
    return price if currency == "EUR" else (price * CHF_PER_EUR).quantize(Decimal("0.05"))


def _quantity(unit: str, wanted: float) -> Decimal:
    if unit == "Pauschal":
        return Decimal(1)
    if unit == "Tag":
        return Decimal(max(1.0, round(wanted * 2) / 2)).quantize(Decimal("0.5"))
    if unit == "Monat":
        return Decimal(min(60, max(12, 12 * round(wanted / 12))))
    return Decimal(min(5_000, max(1, round(wanted))))


# ---------------------------------------------------------------------------------------- rows


@dataclass
class Numbering:
    """Quote and order numbers as core.sales.quotes.next_number gives them (AN-2026-00042), continuing after
    those in the table; its counters in app_settings need no update (it also looks at the table)."""

    session: Session
    column: Any
    prefix: str
    next: dict[int, int] = field(default_factory=dict)
    first: str | None = None
    last: str | None = None

    def take(self, year: int) -> str:
        if year not in self.next:
            pattern = f"{self.prefix}-{year}-%"
            stmt = select(self.column).where(self.column.like(pattern))
            highest = self.session.scalar(stmt.order_by(func.length(self.column).desc(), self.column.desc()).limit(1))
            self.next[year] = int(highest.rsplit("-", 1)[1]) + 1 if highest else 1
        number = f"{self.prefix}-{year}-{self.next[year]:05d}"
        self.next[year] += 1
        self.first = min(self.first or number, number)
        self.last = max(self.last or number, number)
        return number


@dataclass
class Writer:
    """Turns simulated deals into rows and inserts them chunk by chunk; counts what it wrote."""

    run: DemoRun
    ctx: SalesContext
    contacts: dict[int, list[int]]
    quotes: Numbering
    orders: Numbering
    counts: dict[str, int] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    mornings: dict[int, dt.datetime] = field(default_factory=dict)

    @property
    def postgresql(self) -> bool:
        return self.run.session.get_bind().dialect.name == "postgresql"

    def moment(self, at: float) -> dt.datetime:
        """A time in office hours (07–17 UTC) on the day of `at`; a weekend's work is logged on Friday."""
        day = math.floor(at)
        start = self.mornings.get(day)
        if start is None:
            start = self.run.reference + dt.timedelta(days=day, hours=7)
            start -= dt.timedelta(days=max(0, start.weekday() - 4))
            self.mornings[day] = start
        return start + dt.timedelta(hours=10 * (at - day))

    def times(self, deal: Deal) -> list[dt.datetime]:
        """Strictly increasing timestamps of the deal's steps, after its company was created, before the reference."""
        reference = self.run.reference
        limit = reference - dt.timedelta(minutes=1)
        floor = reference + dt.timedelta(days=deal.account.created, minutes=1)
        times: list[dt.datetime] = []
        for step in deal.steps:
            moment = max(min(self.moment(step.at), limit), times[-1] + SECOND if times else floor)
            times.append(moment)
        return times

    def write(self, deals: Sequence[Deal]) -> None:
        session = self.run.session
        opp_ids = reserve_ids(session, Opportunity, len(deals))
        self.ids += opp_ids
        quote_ids = reserve_ids(session, Quote, sum(d.quote is not None for d in deals))
        tables: dict[type[Base], list[dict[str, Any]]] = {
            Opportunity: [],
            OpportunityStageEvent: [],
            OpportunityContact: [],
            Quote: [],
            QuoteLine: [],
            SalesOrder: [],
        }
        next_quote = iter(quote_ids)
        for deal, opp_id in zip(deals, opp_ids):
            times = self.times(deal)
            tables[Opportunity].append(self.opportunity_row(deal, opp_id, times))
            tables[OpportunityStageEvent].extend(self.history_rows(deal, opp_id, times))
            roles = self.role_rows(deal, opp_id, times[0])
            tables[OpportunityContact].extend(roles)
            if deal.quote is not None:
                primary = next((r["contact_id"] for r in roles if r["is_primary"]), None)
                quote, lines, order = self.quote_rows(deal, opp_id, next(next_quote), primary, times)
                tables[Quote].append(quote)
                tables[QuoteLine].extend(lines)
                if order is not None:
                    tables[SalesOrder].append(order)
        for model, rows in tables.items():
            _insert(session, model, rows)
            self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + len(rows)

    def opportunity_row(self, deal: Deal, opp_id: int, times: Sequence[dt.datetime]) -> dict[str, Any]:
        rng = self.ctx.rng
        stage = deal.stage
        assert stage is not None
        last_change = max(i for i, s in enumerate(deal.steps) if s.kind != "revised")
        closed = stage.kind != "open"
        reasons = self.ctx.won if stage.kind == "won" else self.ctx.lost
        reason_id = reasons.ids[deal.reason_index] if closed and deal.reason_index is not None else None
        reason_label = reasons.labels[deal.reason_index] if reason_id is not None else None
        year = times[0].year
        sources = EXISTING_LEAD_SOURCES if deal.pipeline is not self.ctx.pipelines[0] else LEAD_SOURCES
        lead_source = sources.draw(rng)
        competitor = None
        if reason_label == COMPETITOR_REASON or rng.random() < COMPETITOR_SHARE:
            competitor = rng.choice(COMPETITORS)
        suffix = rng.choice(NAME_SUFFIXES).format(city=deal.account.city or "Hauptsitz", year=year)
        return {
            "id": opp_id,
            "external_id": f"OPP-{deal.number:07d}",
            "name": f"{deal.topic.name}{suffix}",
            "account_id": deal.account.id,
            "owner_id": deal.owner_id,
            "pipeline_id": deal.pipeline.id,
            "stage_id": stage.id,
            "status": stage.kind,
            "amount": deal.amount,
            "currency": deal.currency,
            "probability_override": deal.override,
            "forecast_category_override": self._category_override(deal),
            "expected_close_date": deal.close,
            "closed_date": times[last_change].astimezone(DISPLAY_TZ).date() if closed else None,
            "lead_source": lead_source,
            "campaign": rng.choice(CAMPAIGNS).format(year=year) if lead_source == "Kampagne" else None,
            "competitor": competitor,
            "next_step": self._next_step(deal),
            "won_reason_id": reason_id if stage.kind == "won" else None,
            "lost_reason_id": reason_id if stage.kind == "lost" else None,
            "close_reason_text": deal.reason_text if closed else None,
            "description": self._description(deal, year) if rng.random() < DESCRIPTION_SHARE else None,
            "stage_entered_at": times[last_change],
            "version": len(deal.steps),
            "created_at": times[0],
            "updated_at": times[-1],
        }

    def _category_override(self, deal: Deal) -> str | None:
        stage = deal.stage
        if stage is None or stage.kind != "open" or deal.index < deal.pipeline.quote_index:
            return None
        return "commit" if self.ctx.rng.random() < 0.05 else None

    def _next_step(self, deal: Deal) -> str | None:
        rng = self.ctx.rng
        stage = deal.stage
        assert stage is not None
        if stage.kind == "won":
            return rng.choice(WON_NEXT_STEPS) if rng.random() < 0.5 else None
        if stage.kind == "lost":
            return rng.choice(LOST_NEXT_STEPS) if rng.random() < 0.2 else None
        position = min(len(NEXT_STEPS) - 1, deal.index + (len(NEXT_STEPS) - len(deal.pipeline.open)))
        return rng.choice(NEXT_STEPS[position]) if rng.random() < 0.85 else None

    def _description(self, deal: Deal, year: int) -> str:
        rng = self.ctx.rng
        users = max(3, min(400, deal.account.employees // rng.randint(2, 6)))
        return rng.choice(DESCRIPTIONS).format(
            old=year - rng.randint(8, 18), users=users, sites=rng.randint(2, 5), year=year
        )

    def history_rows(self, deal: Deal, opp_id: int, times: Sequence[dt.datetime]) -> Iterator[dict[str, Any]]:
        for step, at in zip(deal.steps, times):
            yield {
                "opportunity_id": opp_id,
                "pipeline_id": step.to_stage.pipeline_id,
                "kind": step.kind,
                "from_stage_id": step.from_stage.id if step.from_stage else None,
                "to_stage_id": step.to_stage.id,
                "occurred_at": at,
                "amount": step.amount,
                "currency": deal.currency,
                "probability": step.probability,
                "expected_close_date": step.close,
                "actor_id": step.actor_id,
            }

    def role_rows(self, deal: Deal, opp_id: int, created: dt.datetime) -> list[dict[str, Any]]:
        rng = self.ctx.rng
        people = self.contacts.get(deal.account.id, [])
        if not people:
            return []
        count = min(len(people), CONTACT_COUNTS.draw(rng))
        chosen = rng.sample(people, count)
        roles = [PRIMARY_ROLES.draw(rng)]
        roles += rng.sample([r for r in OTHER_ROLES if r != roles[0]], count - 1)
        return [
            {
                "opportunity_id": opp_id,
                "contact_id": contact_id,
                "role": role,
                "is_primary": i == 0,
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
            for i, (contact_id, role) in enumerate(zip(chosen, roles))
        ]

    def quote_rows(
        self, deal: Deal, opp_id: int, quote_id: int, contact_id: int | None, times: Sequence[dt.datetime]
    ) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
        plan = deal.quote
        stage = deal.stage
        assert plan is not None and stage is not None
        sent = times[next(i for i, s in enumerate(deal.steps) if s.at >= plan.sent_at)]
        quote_date = sent.astimezone(DISPLAY_TZ).date()
        status = {"won": "angenommen", "lost": "abgelehnt"}.get(stage.kind, "versendet")
        decided = times[-1] if stage.kind != "open" else None
        lost_reason = stage.kind == "lost" and deal.reason_index is not None
        reason = self.ctx.lost.labels[deal.reason_index] if lost_reason else None
        totals = plan.totals
        quote = {
            "id": quote_id,
            "number": self.quotes.take(quote_date.year),
            "opportunity_id": opp_id,
            "account_id": deal.account.id,
            "contact_id": contact_id,
            "status": status,
            "is_primary": True,
            "quote_date": quote_date,
            "valid_until": quote_date + dt.timedelta(days=QUOTE_VALID_DAYS),
            "currency": deal.currency,
            "discount_percent": plan.discount,
            "net_total": totals.net,
            "vat_total": totals.vat_total,
            "gross_total": totals.gross,
            "introduction": QUOTE_INTRODUCTION,
            "terms": QUOTE_TERMS,
            "sent_at": sent,
            "decided_at": decided,
            "decline_reason": DECLINE_REASONS.get(reason or "", reason) if status == "abgelehnt" else None,
            "version": 1 if decided is None else 2,
            "created_at": sent,
            "updated_at": decided or sent,
        }
        lines = [
            {
                "quote_id": quote_id,
                "position": position,
                "product_id": line.item.id,
                "description": line.item.spec.name,
                "quantity": line.quantity,
                "unit": line.item.spec.unit,
                "unit_price": line.unit_price,
                "discount_percent": line.discount,
                "vat_rate": Decimal(line.item.spec.vat),
                "net_amount": line.net,
            }
            for position, line in enumerate(plan.lines, start=1)
        ]
        order = None
        if stage.kind == "won" and decided is not None:
            order_date = decided.astimezone(DISPLAY_TZ).date()
            order = {
                "number": self.orders.take(order_date.year),
                "quote_id": quote_id,
                "opportunity_id": opp_id,
                "account_id": deal.account.id,
                "contact_id": contact_id,
                "status": "aufgegeben",
                "order_date": order_date,
                "currency": deal.currency,
                "net_total": totals.net,
                "vat_total": totals.vat_total,
                "gross_total": totals.gross,
                "lines": self._order_lines(lines),
                "cancelled_at": None,
                "cancel_reason": None,
                "version": 1,
                "created_at": decided,
                "updated_at": decided,
            }
        return quote, lines, order

    def _order_lines(self, lines: Sequence[Mapping[str, Any]]) -> Any:
        """The quote's lines as core.sales.orders copies them (decimals as exact text); COPY takes JSON text."""
        copied = [
            {key: format(value, "f") if isinstance(value, Decimal) else value for key, value in line.items()}
            for line in ({key: value for key, value in line.items() if key != "quote_id"} for line in lines)
        ]
        return json.dumps(copied, ensure_ascii=False) if self.postgresql else copied


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: COPY. SQLite: the driver's executemany, except for orders, whose JSON lines
    (unhashable, so not for insert_rows' value cache) go through Core's executemany."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql" or model is SalesOrder:
        bulk_insert(session, model, rows)
    else:
        insert_rows(session, model, rows)


# ---------------------------------------------------------------------------------------- the step


def deal_count(run: DemoRun) -> int:
    return round(len(run.created.get("account", [])) * DEALS_PER_ACCOUNT.get(run.plan.name, 2.0))


def creation_days(rng: random.Random, count: int) -> list[float]:
    """Creation times (days before the reference time, ascending) over the window, growing by `GROWTH`."""
    # Inverse of the CDF of the density 1 + GROWTH·x on [0, 1] (x: share of the window elapsed).
    scale = 1 + GROWTH / 2
    positions = sorted(
        (math.sqrt(1 + 2 * GROWTH * scale * rng.random()) - 1) / GROWTH for _ in range(count)
    )
    return [(x - 1) * DEAL_WINDOW_DAYS for x in positions]


def _accounts(run: DemoRun) -> list[AccountInfo]:
    ids = run.created.get("account", [])
    if not ids:
        return []
    stmt = (
        select(Account.id, Account.owner_id, Account.employees, Account.city, Account.created_at)
        .where(Account.id.between(ids[0], ids[-1]), Account.external_id.like("ACC-%"))
        .order_by(Account.id)
    )
    reference = run.reference
    return [
        AccountInfo(row.id, row.owner_id, row.employees or 10, row.city, (row.created_at - reference) / DAY)
        for row in run.session.execute(stmt)
    ]


def _contacts_by_account(run: DemoRun) -> dict[int, list[int]]:
    ids = run.created.get("contact", [])
    result: dict[int, list[int]] = {}
    if not ids:
        return result
    stmt = (
        select(Contact.account_id, Contact.id)
        .where(Contact.id.between(ids[0], ids[-1]), Contact.account_id.is_not(None))
        .order_by(Contact.id)
    )
    for account_id, contact_id in run.session.execute(stmt):
        result.setdefault(account_id, []).append(contact_id)
    return result


def _sellers(run: DemoRun) -> list[int]:
    names = [name for reps in REPS_BY_REGION.values() for name in reps] + [MANAGER]
    return [run.users[name].id for name in names if name in run.users]


LABELS = {
    "opportunities": ("opportunity", "Verkaufschancen"),
    "opportunity_stage_events": ("opportunity_stage_event", "Einträge der Phasenhistorie"),
    "opportunity_contacts": ("opportunity_contact", "Kontaktrollen in Verkaufschancen"),
    "quotes": ("quote", "Angebote"),
    "quote_lines": ("quote_line", "Angebotspositionen"),
    "sales_orders": ("sales_order", "Aufträge"),
}


@register_demo_step("sales", Phase.BULK)
def load_sales(run: DemoRun) -> None:
    session = run.session
    count = deal_count(run)
    pipelines = load_pipeline_plans(session)
    accounts = _accounts(run)
    if not count or not pipelines or not accounts:
        return
    catalogue = ensure_products(run)
    start = next_number(session, Opportunity.external_id, "OPP")
    rng = run.rng(f"sales:{start}")
    customers = [a for a in accounts if rng.random() < EXISTING_CUSTOMER_SHARE]
    ctx = SalesContext(
        rng=rng,
        today=run.reference.date(),
        pipelines=pipelines,
        lost=load_reasons(session, "lost", LOST_WEIGHTS_EARLY, LOST_WEIGHTS_LATE),
        won=load_reasons(session, "won", WON_WEIGHTS, WON_WEIGHTS),
        catalogue=catalogue,
        accounts=accounts,
        customers=customers,
        sellers=_sellers(run),
        manager_id=run.users[MANAGER].id if MANAGER in run.users else None,
    )
    writer = Writer(
        run,
        ctx,
        _contacts_by_account(run),
        Numbering(session, Quote.number, "AN"),
        Numbering(session, SalesOrder.number, "AU"),
    )
    days = creation_days(rng, count)
    with larger_page_cache(session):
        for chunk in batched(enumerate(days, start), CHUNK):
            writer.write([simulate(ctx, number, created) for number, created in chunk])
    run.created["opportunity"] = writer.ids
    _report(run, writer, start, count)


def _report(run: DemoRun, writer: Writer, start: int, count: int) -> None:
    first, last = f"OPP-{start:07d}", f"OPP-{start + count - 1:07d}"
    ranges = {
        "quotes": (writer.quotes.first, writer.quotes.last),
        "sales_orders": (writer.orders.first, writer.orders.last),
    }
    for table, (entity, label) in LABELS.items():
        rows = writer.counts.get(table, 0)
        if not rows:
            continue
        low, high = ranges.get(table, (first, last))
        run.counts[label] = rows
        run.bulk_imports.append(BulkImport(entity, table, label, rows, low or first, high or last))
