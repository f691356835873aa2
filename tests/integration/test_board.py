"""The pipeline board: counts, sums and weighted sums per stage and currency, recently closed deals,
stale and overdue flags, filters and the card limit — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.permissions import Actor, Role
from core.sales.board import BoardView, MoneyTotal, board
from core.sales.opportunities import lose_opportunity, move_stage, update_opportunity, win_opportunity
from core.sales.pipelines import list_reasons, update_stage
from core.uow import UnitOfWork
from db.models import Team
from tests.conftest import FrozenClock
from tests.factories.crm import make_account
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity, pipelines, stage_ids


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN, display_name="Anna Admin").actor()


def uow(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock)


def neu(factory: sessionmaker[Session], actor: Actor) -> int:
    return pipelines(factory, actor)["Neugeschäft"].id


def show(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock, **options: object) -> BoardView:
    return board(uow(factory, actor, clock), pipeline_id=neu(factory, actor), **options)  # type: ignore[arg-type]


def counts(view: BoardView) -> dict[str, int]:
    return {column.stage.name: column.count for column in view.columns}


def lost_reason(factory: sessionmaker[Session], actor: Actor) -> int:
    return list_reasons(UnitOfWork(factory, actor=actor), "lost")[0].id


def test_columns_count_and_sum_per_stage_with_weighted_amounts(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    make_opportunity(factory, admin, account_id=account.id, clock=clock, amount="10000")  # Qualifizierung 10 %
    make_opportunity(factory, admin, account_id=account.id, clock=clock, amount="2500.50")
    make_opportunity(
        factory, admin, account_id=account.id, clock=clock, amount="40000", stage_id=stages["Angebot"]
    )  # 50 %
    make_opportunity(
        factory,
        admin,
        account_id=account.id,
        clock=clock,
        amount="20000",
        stage_id=stages["Angebot"],
        probability_override=80,
    )

    view = show(factory, admin, clock)

    assert [c.stage.name for c in view.columns] == [
        "Qualifizierung",
        "Bedarfsanalyse",
        "Angebot",
        "Verhandlung",
        "Gewonnen",
        "Verloren",
    ]
    assert counts(view) == {
        "Qualifizierung": 2,
        "Bedarfsanalyse": 0,
        "Angebot": 2,
        "Verhandlung": 0,
        "Gewonnen": 0,
        "Verloren": 0,
    }
    assert view.column(stages["Qualifizierung"]).totals == (
        MoneyTotal("EUR", 2, Decimal("12500.50"), Decimal("1250.05")),
    )
    # 40,000 × 50 % + 20,000 × 80 % (the override wins on an open stage)
    assert view.column(stages["Angebot"]).totals == (MoneyTotal("EUR", 2, Decimal("60000.00"), Decimal("36000.00")),)
    assert view.column(stages["Bedarfsanalyse"]).totals == ()
    offer_cards = view.column(stages["Angebot"]).cards
    assert [(c.amount, c.probability, c.weighted_amount) for c in offer_cards] == [
        (Decimal("40000.00"), 50, Decimal("20000.00")),
        (Decimal("20000.00"), 80, Decimal("16000.00")),
    ]
    assert view.count == 4


def test_override_is_ignored_once_a_deal_is_won(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    opp = make_opportunity(factory, admin, account_id=account.id, clock=clock, amount="30000", probability_override=40)
    win_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version)

    won = show(factory, admin, clock).column(stages["Gewonnen"])

    assert won.totals == (MoneyTotal("EUR", 1, Decimal("30000.00"), Decimal("30000.00")),)
    assert won.cards[0].probability == 100


def test_currencies_are_summed_separately(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    for amount, currency in (("1000", "EUR"), ("2000", "CHF"), ("3000", "EUR"), ("500", "USD")):
        make_opportunity(factory, admin, account_id=account.id, clock=clock, amount=amount, currency=currency)

    column = show(factory, admin, clock).column(stages["Qualifizierung"])

    assert column.count == 4
    assert column.totals == (
        MoneyTotal("EUR", 2, Decimal("4000.00"), Decimal("400.00")),
        MoneyTotal("CHF", 1, Decimal("2000.00"), Decimal("200.00")),
        MoneyTotal("USD", 1, Decimal("500.00"), Decimal("50.00")),
    )


def test_closed_columns_show_only_deals_closed_in_the_last_days(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    old_win = make_opportunity(factory, admin, account_id=account.id, clock=clock, name="Alter Auftrag", amount="100")
    win_opportunity(uow(factory, admin, clock), old_win.id, expected_version=old_win.version)
    lost = make_opportunity(factory, admin, account_id=account.id, clock=clock, name="Verloren vor 20 Tagen")
    lose_opportunity(
        uow(factory, admin, clock), lost.id, expected_version=lost.version, reason_id=lost_reason(factory, admin)
    )
    clock.advance(days=20)
    new_win = make_opportunity(factory, admin, account_id=account.id, clock=clock, name="Neuer Auftrag", amount="200")
    win_opportunity(uow(factory, admin, clock), new_win.id, expected_version=new_win.version)
    clock.advance(days=15)  # old win: 35 days ago, lost: 35 days ago, new win: 15 days ago

    view = show(factory, admin, clock)
    assert counts(view)["Gewonnen"] == 1
    assert [c.name for c in view.column(stages["Gewonnen"]).cards] == ["Neuer Auftrag"]
    assert counts(view)["Verloren"] == 0
    assert view.closed_since == view.today - dt.timedelta(days=30)

    longer = show(factory, admin, clock, include_closed_days=40)
    assert counts(longer)["Gewonnen"] == 2
    assert [c.name for c in longer.column(stages["Gewonnen"]).cards] == ["Neuer Auftrag", "Alter Auftrag"], (
        "most recently closed first"
    )
    assert counts(longer)["Verloren"] == 1
    assert longer.column(stages["Gewonnen"]).totals[0].amount == Decimal("300.00")
    assert counts(show(factory, admin, clock, include_closed_days=0))["Gewonnen"] == 0


def test_stale_and_overdue_flags_days_in_stage(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    update_stage(uow(factory, admin, clock), stages["Qualifizierung"], {"stale_after_days": 21}, expected_version=None)
    account = make_account(factory, admin, clock=clock)
    quiet = make_opportunity(
        factory, admin, account_id=account.id, clock=clock, name="Ruhig", expected_close_date=dt.date(2026, 12, 1)
    )
    busy = make_opportunity(
        factory, admin, account_id=account.id, clock=clock, name="Aktiv", expected_close_date=dt.date(2027, 3, 1)
    )
    clock.advance(days=10)
    update_opportunity(uow(factory, admin, clock), busy.id, {"next_step": "Anruf"}, expected_version=busy.version)
    clock.advance(days=11)  # quiet: unchanged for 21 days, busy: 11 days; today 16.12.2026

    cards = {c.name: c for c in show(factory, admin, clock).column(stages["Qualifizierung"]).cards}

    assert (cards["Ruhig"].is_stale, cards["Ruhig"].days_unchanged, cards["Ruhig"].days_in_stage) == (True, 21, 21)
    assert (cards["Aktiv"].is_stale, cards["Aktiv"].days_unchanged, cards["Aktiv"].days_in_stage) == (False, 11, 21)
    assert cards["Ruhig"].is_overdue and not cards["Aktiv"].is_overdue
    assert cards["Ruhig"].id == quiet.id

    clock.advance(days=1)
    moved = move_stage(uow(factory, admin, clock), quiet.id, stage_id=stages["Angebot"], expected_version=quiet.version)
    card = show(factory, admin, clock).column(stages["Angebot"]).cards[0]
    assert (card.id, card.days_in_stage, card.is_stale, card.version) == (quiet.id, 0, False, moved.version)


def test_filters_by_owner_team_and_search(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    with factory.begin() as session:
        team = Team(name="Team Süd", version=1)
        session.add(team)
        session.flush()
        team_id = team.id
    rep = make_user(factory, Role.SALES_REP, display_name="Rita Reiter", team_id=team_id).actor()
    other = make_user(factory, Role.SALES_REP, display_name="Otto Ohne").actor()
    mueller = make_account(factory, admin, clock=clock, name="Müller Maschinenbau")
    schulz = make_account(factory, admin, clock=clock, name="Schulz Logistik")
    make_opportunity(factory, rep, account_id=mueller.id, clock=clock, name="Fräse 100% neu", amount="1000")
    make_opportunity(factory, rep, account_id=schulz.id, clock=clock, name="Lagerhalle", amount="2000")
    make_opportunity(factory, other, account_id=schulz.id, clock=clock, name="Stapler", amount="4000")

    def total(**options: object) -> Decimal:
        view = show(factory, admin, clock, **options)
        return sum((t.amount for c in view.columns for t in c.totals), Decimal(0))

    assert total() == Decimal("7000.00")
    assert total(owner_id=rep.user_id) == Decimal("3000.00")
    assert total(team_id=team_id) == Decimal("3000.00")
    assert total(search="schulz") == Decimal("6000.00"), "search covers the company name"
    assert total(search="  STAPLER ") == Decimal("4000.00")
    assert total(search="100%") == Decimal("1000.00"), "% is matched literally"
    assert total(search="schulz", owner_id=rep.user_id) == Decimal("2000.00")
    cards = [c for col in show(factory, admin, clock, owner_id=rep.user_id).columns for c in col.cards]
    assert {(c.owner_name, c.owner_initials) for c in cards} == {("Rita Reiter", "RR")}


def test_cards_are_limited_and_sorted_by_close_date_then_amount(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    for name, close, amount in (
        ("ohne Datum", None, "9000"),
        ("Januar klein", dt.date(2027, 1, 15), "100"),
        ("Januar groß", dt.date(2027, 1, 15), "5000"),
        ("Dezember", dt.date(2026, 12, 20), "10"),
        ("März", dt.date(2027, 3, 1), "700"),
    ):
        make_opportunity(
            factory, admin, account_id=account.id, clock=clock, name=name, expected_close_date=close, amount=amount
        )

    column = show(factory, admin, clock, cards_per_stage=3).column(stages["Qualifizierung"])

    assert [c.name for c in column.cards] == ["Dezember", "Januar groß", "Januar klein"]
    assert (column.count, column.hidden) == (5, 2)
    assert column.totals[0].amount == Decimal("14810.00"), "sums cover every deal, not only the cards shown"
    full = show(factory, admin, clock).column(stages["Qualifizierung"])
    assert full.cards[-1].name == "ohne Datum" and full.hidden == 0


def test_board_needs_read_permission_and_valid_options(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    viewer = make_user(factory, Role.VIEWER).actor()
    assert show(factory, viewer, clock).count == 0, "every role may read the board"
    api_key = Actor(user_id=None, name="ERP", scopes=frozenset({"accounts.read"}))
    with pytest.raises(PermissionDenied):
        board(uow(factory, api_key, clock), pipeline_id=neu(factory, admin))
    with pytest.raises(ValidationFailed) as bad:
        show(factory, admin, clock, cards_per_stage=0, include_closed_days=-1)
    assert set(bad.value.fields) == {"cards_per_stage", "include_closed_days"}
    with pytest.raises(NotFound):
        board(uow(factory, admin, clock), pipeline_id=999_999)
