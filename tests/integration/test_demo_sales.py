"""Demo sales data (core/demo_sales.py): deals in every stage, a history that explains each deal,
quotes priced by the pricing rules, orders only for won deals, bulk audit entries, determinism.

The small seed runs once per backend (module fixture, rolled back at the end); the tests only read it.
Tests that seed again do so in a savepoint on the same connection and roll it back.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from core import audit
from core.demo import MANAGER, REPS_BY_REGION, DemoReport, seed_demo
from core.demo_sales import DEAL_WINDOW_DAYS, PRODUCTS
from core.formatting import DISPLAY_TZ
from core.sales.pricing import PricedLine, line_net, quote_totals
from db.models import (
    Account,
    AuditEntry,
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
    User,
)
from tests.conftest import FrozenClock

SMALL_DEALS = 800
SALES_ENTITIES = {
    "product",
    "opportunity",
    "opportunity_stage_event",
    "opportunity_contact",
    "quote",
    "quote_line",
    "sales_order",
}


@dataclass(frozen=True)
class Seeded:
    connection: Connection
    factory: sessionmaker[Session]
    report: DemoReport
    now: dt.datetime


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[Seeded]:
    """The small demo data (with its change history and planted duplicates), once per backend."""
    connection = engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    clock = FrozenClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc))
    report = seed_demo(factory, size="small", seed=5, clock=clock)
    try:
        yield Seeded(connection, factory, report, clock.current)
    finally:
        transaction.rollback()
        connection.close()


def rows(factory: sessionmaker[Session], stmt: Any) -> list[Any]:
    with factory() as session:
        return list(session.execute(stmt).all())


def stages(factory: sessionmaker[Session]) -> dict[int, Any]:
    stmt = select(PipelineStage, Pipeline.name).join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
    return {stage.id: (stage, pipeline) for stage, pipeline in rows(factory, stmt)}


def test_deals_fill_every_stage_of_both_pipelines_with_consistent_status(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    by_id = stages(factory)
    deals = rows(factory, select(Opportunity))
    users = dict(rows(factory, select(User.id, User.username)))
    demo_accounts = {a for (a,) in rows(factory, select(Account.id).where(Account.external_id.like("ACC-%")))}

    assert seeded.report.count("Verkaufschancen") == len(deals) == SMALL_DEALS
    per_stage = Counter(deal.stage_id for (deal,) in deals)
    assert set(per_stage) == set(by_id), "every stage of both pipelines has deals"
    assert all(by_id[deal.stage_id][0].kind == deal.status for (deal,) in deals)
    assert all(by_id[deal.stage_id][0].pipeline_id == deal.pipeline_id for (deal,) in deals)
    per_pipeline = Counter(by_id[deal.stage_id][1] for (deal,) in deals)
    assert per_pipeline["Neugeschäft"] > 2 * per_pipeline["Bestandskunden"] > 0
    sellers = {MANAGER, *(name for reps in REPS_BY_REGION.values() for name in reps)}
    assert {users[deal.owner_id] for (deal,) in deals} == sellers
    assert {deal.account_id for (deal,) in deals} <= demo_accounts
    assert {deal.currency for (deal,) in deals} == {"EUR", "CHF"}
    assert all(Decimal(1000) <= deal.amount <= Decimal(1_000_000) for (deal,) in deals)

    window_start = now - dt.timedelta(days=DEAL_WINDOW_DAYS + 1)
    assert all(window_start <= deal.created_at <= deal.updated_at < now for (deal,) in deals)
    open_deals = [deal for (deal,) in deals if deal.status == "open"]
    today = now.astimezone(DISPLAY_TZ).date()
    coming = [d for d in open_deals if d.expected_close_date >= today]
    assert len(coming) >= 0.7 * len(open_deals), "open deals close in the coming months"
    assert max(d.expected_close_date for d in open_deals) <= today + dt.timedelta(days=400)
    stale = [
        d
        for d in open_deals
        if (now - d.updated_at).days >= (by_id[d.stage_id][0].stale_after_days or 10_000)
    ]
    assert 0 < len(stale) < len(open_deals) / 2, "some open deals are stale"
    assert 0.05 < len(open_deals) / len(deals) < 0.2


def test_closed_deals_carry_their_date_and_reasons(seeded: Seeded) -> None:
    factory = seeded.factory
    reasons = {r.id: r for (r,) in rows(factory, select(DealReason))}
    deals = [deal for (deal,) in rows(factory, select(Opportunity))]
    won = [d for d in deals if d.status == "won"]
    lost = [d for d in deals if d.status == "lost"]

    for deal in deals:
        if deal.status == "open":
            assert (deal.closed_date, deal.won_reason_id, deal.lost_reason_id, deal.close_reason_text) == (
                None,
                None,
                None,
                None,
            )
            continue
        assert deal.closed_date == deal.stage_entered_at.astimezone(DISPLAY_TZ).date()
        reason_id = deal.won_reason_id if deal.status == "won" else deal.lost_reason_id
        other = deal.lost_reason_id if deal.status == "won" else deal.won_reason_id
        assert other is None
        if reason_id is not None:
            assert reasons[reason_id].kind == deal.status
            assert not reasons[reason_id].needs_text or deal.close_reason_text
    assert all(d.lost_reason_id is not None for d in lost), "a lost deal always has its reason"
    assert sum(d.won_reason_id is not None for d in won) > 0.8 * len(won)
    lost_labels = Counter(reasons[d.lost_reason_id].label for d in lost)
    assert len(lost_labels) == 7 and lost_labels["Sonstiges"] < lost_labels["Keine Rückmeldung"]
    assert 0.1 < len(won) / (len(won) + len(lost)) < 0.35, "a plausible win rate"
    assert all(
        d.competitor for d in lost if reasons[d.lost_reason_id].label == "Wettbewerber gewählt"
    ), "a deal lost to a competitor names it"


def test_history_explains_each_deals_stage_amount_and_timestamps(seeded: Seeded) -> None:
    factory, now = seeded.factory, seeded.now
    by_id = stages(factory)
    deals = {deal.id: deal for (deal,) in rows(factory, select(Opportunity))}
    history: dict[int, list[OpportunityStageEvent]] = defaultdict(list)
    for (event,) in rows(factory, select(OpportunityStageEvent).order_by(OpportunityStageEvent.id)):
        history[event.opportunity_id].append(event)

    assert set(history) == set(deals)
    assert seeded.report.count("Einträge der Phasenhistorie") == sum(len(h) for h in history.values())
    kinds: Counter[str] = Counter()
    backward = skipped = slipped = 0
    for deal_id, events in history.items():
        deal = deals[deal_id]
        first, last = events[0], events[-1]
        assert (first.kind, first.from_stage_id, first.occurred_at) == ("created", None, deal.created_at)
        for previous, event in zip(events, events[1:]):
            assert event.occurred_at > previous.occurred_at
            assert event.from_stage_id == previous.to_stage_id
            kinds[event.kind] += 1
            source, target = by_id[event.from_stage_id][0], by_id[event.to_stage_id][0]
            if event.kind == "revised":
                assert event.to_stage_id == event.from_stage_id and source.kind == "open"
                slipped += event.expected_close_date > previous.expected_close_date
            elif event.kind == "moved":
                assert source.kind == target.kind == "open"
                backward += target.position < source.position
                skipped += target.position > source.position + 1
            elif event.kind == "reopened":
                assert source.kind == "lost" and target.kind == "open"
            else:
                assert event.kind == target.kind and source.kind == "open"
        assert last.to_stage_id == deal.stage_id and last.pipeline_id == deal.pipeline_id
        assert (last.amount, last.currency, last.expected_close_date) == (
            deal.amount,
            deal.currency,
            deal.expected_close_date,
        )
        stage = by_id[deal.stage_id][0]
        expected = deal.probability_override if stage.kind == "open" and deal.probability_override is not None else None
        assert last.probability == (stage.probability if expected is None else expected)
        assert last.occurred_at == deal.updated_at < now
        changes = [e for e in events if e.kind != "revised"]
        assert changes[-1].occurred_at == deal.stage_entered_at
        assert deal.version == len(events)
        assert all(e.actor_id is not None for e in events)
    assert min(backward, skipped, slipped, kinds["reopened"]) > 0
    assert backward / len(deals) < 0.1 and kinds["reopened"] / len(deals) < 0.05
    assert 5 < sum(len(h) for h in history.values()) / len(deals) < 8, "about six rows per deal"


def test_contact_roles_name_one_primary_contact_of_the_deals_company(seeded: Seeded) -> None:
    factory = seeded.factory
    stmt = (
        select(OpportunityContact, Contact.account_id, Opportunity.account_id.label("deal_account"))
        .join(Contact, Contact.id == OpportunityContact.contact_id)
        .join(Opportunity, Opportunity.id == OpportunityContact.opportunity_id)
    )
    roles = rows(factory, stmt)
    per_deal: dict[int, list[OpportunityContact]] = defaultdict(list)
    for role, contact_account, deal_account in roles:
        assert contact_account == deal_account
        per_deal[role.opportunity_id].append(role)

    assert len(per_deal) > 0.9 * SMALL_DEALS
    for deal_roles in per_deal.values():
        assert 1 <= len(deal_roles) <= 3
        assert sum(r.is_primary for r in deal_roles) == 1
        assert len({r.role for r in deal_roles}) == len(deal_roles) == len({r.contact_id for r in deal_roles})
    assert Counter(r.role for r, _, _ in roles if r.is_primary).most_common(1)[0][0] == "Entscheider"


def test_quotes_follow_the_pricing_rules_and_orders_exist_only_for_won_deals(seeded: Seeded) -> None:
    factory = seeded.factory
    by_id = stages(factory)
    deals = {deal.id: deal for (deal,) in rows(factory, select(Opportunity))}
    quotes = {quote.id: quote for (quote,) in rows(factory, select(Quote))}
    lines: dict[int, list[QuoteLine]] = defaultdict(list)
    for (line,) in rows(factory, select(QuoteLine).order_by(QuoteLine.quote_id, QuoteLine.position)):
        lines[line.quote_id].append(line)
    orders = [order for (order,) in rows(factory, select(SalesOrder))]
    products = {p.id: p for (p,) in rows(factory, select(Product))}
    roles = {(r.opportunity_id, r.contact_id) for (r,) in rows(factory, select(OpportunityContact))}

    assert len(products) == len(PRODUCTS) == 25
    assert Counter(p.vat_rate for p in products.values()) == {Decimal(19): 22, Decimal(7): 3}
    assert len({q.opportunity_id for q in quotes.values()}) == len(quotes) > 0.3 * SMALL_DEALS
    for quote in quotes.values():
        deal = deals[quote.opportunity_id]
        quote_lines = lines[quote.id]
        assert [ln.position for ln in quote_lines] == list(range(1, len(quote_lines) + 1)) and len(quote_lines) <= 5
        for line in quote_lines:
            assert line.net_amount == line_net(line.quantity, line.unit_price, line.discount_percent)
            product = products[line.product_id]
            assert (line.description, line.unit, line.vat_rate) == (product.name, product.unit, product.vat_rate)
        totals = quote_totals(
            [PricedLine(ln.quantity, ln.unit_price, ln.vat_rate, ln.discount_percent) for ln in quote_lines],
            quote.discount_percent,
        )
        assert (quote.net_total, quote.vat_total, quote.gross_total) == (totals.net, totals.vat_total, totals.gross)
        assert quote.is_primary and quote.account_id == deal.account_id and quote.currency == deal.currency
        assert deal.amount == quote.net_total, "the deal's amount follows its primary quote"
        assert quote.contact_id is None or (deal.id, quote.contact_id) in roles
        assert quote.number.startswith(f"AN-{quote.quote_date.year}-") and len(quote.number) == 13
        assert quote.valid_until > quote.quote_date >= deal.created_at.astimezone(DISPLAY_TZ).date()
        expected = {"won": "angenommen", "lost": "abgelehnt", "open": "versendet"}[deal.status]
        assert quote.status == expected
        assert (quote.decided_at is not None) == (deal.status != "open")
    reached = {
        e.opportunity_id
        for (e,) in rows(factory, select(OpportunityStageEvent))
        if by_id[e.to_stage_id][0].name == "Angebot"
    }
    assert {q.opportunity_id for q in quotes.values()} == reached, "a quote for every deal that reached Angebot"

    won = {deal_id for deal_id, deal in deals.items() if deal.status == "won"}
    assert {order.opportunity_id for order in orders} == won and len(orders) == len(won)
    for order in orders:
        quote, deal = quotes[order.quote_id], deals[order.opportunity_id]
        assert quote.opportunity_id == deal.id and quote.status == "angenommen"
        assert (order.net_total, order.vat_total, order.gross_total) == (
            quote.net_total,
            quote.vat_total,
            quote.gross_total,
        )
        assert order.order_date == deal.closed_date and order.status == "aufgegeben"
        assert order.number.startswith(f"AU-{order.order_date.year}-")
        assert [Decimal(line["net_amount"]) for line in order.lines] == [ln.net_amount for ln in lines[quote.id]]
    assert len({o.number for o in orders}) == len(orders)


def test_the_seed_is_audited_in_bulk_and_the_chain_verifies(seeded: Seeded) -> None:
    with seeded.factory() as session:
        bulk = select(AuditEntry.entity, AuditEntry.reason).where(AuditEntry.action == "bulk_imported")
        entries = dict(session.execute(bulk).tuples().all())
        per_entity = Counter(
            session.scalars(select(AuditEntry.entity).where(AuditEntry.action == "bulk_imported")).all()
        )
        verification = audit.verify_chain(session)

    assert set(entries) >= SALES_ENTITIES
    assert all(per_entity[entity] == 1 for entity in SALES_ENTITIES)
    assert "800 Verkaufschancen" in str(entries["opportunity"])
    assert "(OPP-0000001 bis OPP-0000800)" in str(entries["opportunity"])
    assert verification.ok, verification.describe()


def deal_snapshot(factory: sessionmaker[Session], after: str) -> list[tuple[Any, ...]]:
    """Deals numbered after `after` with their history and quote, named by external ids (not database ids)."""
    account, owner, stage = aliased(Account), aliased(User), aliased(PipelineStage)
    deals = select(
        Opportunity.external_id,
        account.external_id,
        owner.username,
        stage.name,
        Opportunity.status,
        Opportunity.amount,
        Opportunity.currency,
        Opportunity.expected_close_date,
        Opportunity.closed_date,
        Opportunity.created_at,
        Opportunity.updated_at,
        Opportunity.name,
        Opportunity.lead_source,
        Quote.number,
        Quote.gross_total,
        func.count(OpportunityStageEvent.id),
        func.max(OpportunityStageEvent.occurred_at),
    )
    stmt = (
        deals.join(account, account.id == Opportunity.account_id)
        .join(owner, owner.id == Opportunity.owner_id)
        .join(stage, stage.id == Opportunity.stage_id)
        .outerjoin(Quote, Quote.opportunity_id == Opportunity.id)
        .join(OpportunityStageEvent, OpportunityStageEvent.opportunity_id == Opportunity.id)
        .where(Opportunity.external_id > after)
        .group_by(*deals.selected_columns[:15])
        .order_by(Opportunity.external_id)
    )
    return [tuple(row) for row in rows(factory, stmt)]


def seed_again(seeded: Seeded, seed: int) -> tuple[DemoReport, list[tuple[Any, ...]], int]:
    """A tiny seed on top of the small one in a savepoint (rolled back): report, its deals, products."""
    savepoint = seeded.connection.begin_nested()
    try:
        clock = FrozenClock(seeded.now)
        report = seed_demo(seeded.factory, size="tiny", seed=seed, clock=clock, history=0, duplicates=False)
        with seeded.factory() as session:
            products = session.scalar(select(func.count()).select_from(Product)) or 0
        return report, deal_snapshot(seeded.factory, f"OPP-{SMALL_DEALS:07d}"), products
    finally:
        savepoint.rollback()


def test_same_seed_gives_the_same_deals_and_a_second_seed_continues_the_numbers(seeded: Seeded) -> None:
    report, first, products = seed_again(seeded, 11)
    _, again, _ = seed_again(seeded, 11)
    _, other, _ = seed_again(seeded, 12)

    assert first == again and first != other
    assert [row[0] for row in first] == [f"OPP-{n:07d}" for n in range(SMALL_DEALS + 1, SMALL_DEALS + 41)]
    assert report.count("Verkaufschancen") == 40 and report.count("Produkte") == 0
    assert products == len(PRODUCTS), "the catalogue is reused"
    assert all(row[1] > "ACC-000402" for row in first), "deals of the new companies"
