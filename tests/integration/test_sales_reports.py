"""Funnel and forecast reports on a fixed dataset built through the real services, checked against
numbers computed by hand (the tables in the comments below show how)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.errors import PermissionDenied, ValidationFailed
from core.permissions import Actor, Role
from core.sales.forecast import forecast, forecast_totals
from core.sales.funnel import funnel, funnel_deals
from core.sales.opportunities import (
    create_opportunity,
    delete_opportunity,
    lose_opportunity,
    move_stage,
    reopen_opportunity,
    update_opportunity,
    win_opportunity,
)
from core.sales.pipelines import list_reasons
from core.uow import UnitOfWork
from db.models import Team
from tests.conftest import FrozenClock
from tests.factories.crm import make_account
from tests.factories.identity import make_user
from tests.factories.sales import pipelines

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
Q1_FROM, Q1_TO = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


def at(day: str, time: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Dataset:
    admin: Actor
    anna: int
    ben: int
    team: int
    neu: int  # pipeline Neugeschäft
    stage: dict[str, int]  # Neugeschäft stages by name
    deal: dict[str, int]


class Builder:
    """Runs the services as the admin with the clock set to each step's moment."""

    def __init__(self, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
        self.factory, self.admin, self.clock = factory, admin, clock
        self.versions: dict[int, int] = {}
        self.lost_reason = list_reasons(self.uow(), "lost")[0].id

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=self.admin, clock=self.clock)

    def create(self, when: dt.datetime, **values: object) -> int:
        self.clock.current = when
        view = create_opportunity(self.uow(), values)
        self.versions[view.id] = view.version
        return view.id

    def _keep(self, view: object) -> None:
        self.versions[view.id] = view.version  # type: ignore[attr-defined]

    def move(self, deal: int, when: dt.datetime, stage_id: int) -> None:
        self.clock.current = when
        self._keep(move_stage(self.uow(), deal, stage_id=stage_id, expected_version=self.versions[deal]))

    def win(self, deal: int, when: dt.datetime) -> None:
        self.clock.current = when
        self._keep(win_opportunity(self.uow(), deal, expected_version=self.versions[deal]))

    def lose(self, deal: int, when: dt.datetime) -> None:
        self.clock.current = when
        self._keep(lose_opportunity(self.uow(), deal, expected_version=self.versions[deal], reason_id=self.lost_reason))

    def reopen(self, deal: int, when: dt.datetime) -> None:
        self.clock.current = when
        self._keep(reopen_opportunity(self.uow(), deal, expected_version=self.versions[deal]))

    def update(self, deal: int, when: dt.datetime, values: dict[str, object]) -> None:
        self.clock.current = when
        self._keep(update_opportunity(self.uow(), deal, values, expected_version=self.versions[deal]))

    def delete(self, deal: int, when: dt.datetime) -> None:
        self.clock.current = when
        delete_opportunity(self.uow(), deal, expected_version=self.versions[deal])


@pytest.fixture
def data(factory: sessionmaker[Session], clock: FrozenClock) -> Dataset:
    """The deals (times UTC, 09:00 unless noted; amounts EUR unless noted; N = now = 01.06.2026 09:00):

    deal          owner pipeline / path                                                  now
    D1 skip       Anna  Q 05.01 → A 15.01 (skips B) → won 04.02                        won 10.000
    D2 backward   Anna  Q 10.01 → B 15.01 → V 20.01 (skips A) → B 30.01 (back)        open B 20.000
    D3 lost       Anna  Q 12.01 → B 19.01 → lost 02.02                                  lost 5.000
    D4 reopened   Anna  Q 20.01 → V 30.01 → won 09.02 → reopened 14.02 (into V)        open V 30.000
    D5 comeback   Anna  Q 01.02 (40.000; 04.02 revised to 50.000) → B 07.02 → lost 11.02
                        → reopened 13.02 (into B) → won 19.02                           won 50.000
    D6 outside    Anna  Q 31.12.2025 22:30 UTC (= 23:30 Berlin, before the period) → A 10.01   open A 99.000
    D7 deleted    Anna  Q 25.01 → B 28.01, deleted 01.02                                  —
    D8 CHF        Anna  Q 15.01 → A 25.01                                               open A CHF 60.000
    D9 new year   Ben   Q 31.12.2025 23:30 UTC (= 01.01.2026 00:30 Berlin, inside) → B 10.01 23:30
                        → lost 20.01 23:30                                              lost 8.000
    D10 direct    Ben   created directly in B 10.03 → A 20.03                           open A 12.000
    D11 other     Anna  pipeline Bestandskunden, Bedarf erkannt 15.02                    open 15.000
    D12 late      Anna  Q 31.03 22:30 UTC (= 01.04 00:30 Berlin, after the period)       open Q 3.000
    """
    admin = make_user(factory, Role.ADMIN).actor()
    with factory.begin() as session:
        team = Team(name="Team Berichte", version=1)
        session.add(team)
        session.flush()
        team_id = team.id
    anna = make_user(factory, Role.SALES_REP, display_name="Anna Adler").id
    ben = make_user(factory, Role.SALES_REP, display_name="Ben Becker", team_id=team_id).id
    clock.current = at("2025-12-01")
    account = make_account(factory, admin, clock=clock).id
    all_pipelines = pipelines(factory, admin)
    neu = all_pipelines["Neugeschäft"]
    s = {st.name: st.id for st in neu.stages}
    bestand = {st.name: st.id for st in all_pipelines["Bestandskunden"].stages}
    b = Builder(factory, admin, clock)

    def deal(name: str, when: dt.datetime, owner: int, amount: str, **values: object) -> int:
        return b.create(when, name=name, account_id=account, owner_id=owner, amount=amount, **values)

    d: dict[str, int] = {}
    d["D6"] = deal("D6 außerhalb", at("2025-12-31", "22:30"), anna, "99000", expected_close_date=dt.date(2026, 6, 30))
    d["D9"] = deal("D9 Neujahr", at("2025-12-31", "23:30"), ben, "8000")
    d["D1"] = deal("D1 übersprungen", at("2026-01-05"), anna, "10000", probability_override=90)
    b.move(d["D6"], at("2026-01-10"), s["Angebot"])
    d["D2"] = deal("D2 zurück", at("2026-01-10"), anna, "20000", expected_close_date=dt.date(2026, 6, 15))
    b.move(d["D9"], at("2026-01-10", "23:30"), s["Bedarfsanalyse"])
    d["D3"] = deal("D3 verloren", at("2026-01-12"), anna, "5000")
    b.move(d["D1"], at("2026-01-15"), s["Angebot"])
    b.move(d["D2"], at("2026-01-15"), s["Bedarfsanalyse"])
    d["D8"] = deal("D8 Franken", at("2026-01-15"), anna, "60000", currency="CHF", expected_close_date=dt.date(2026, 5, 20))
    b.move(d["D3"], at("2026-01-19"), s["Bedarfsanalyse"])
    b.move(d["D2"], at("2026-01-20"), s["Verhandlung"])
    d["D4"] = deal(
        "D4 wiedereröffnet",
        at("2026-01-20"),
        anna,
        "30000",
        probability_override=60,
        forecast_category_override="best_case",
        expected_close_date=dt.date(2026, 7, 10),
    )
    b.lose(d["D9"], at("2026-01-20", "23:30"))
    d["D7"] = deal("D7 gelöscht", at("2026-01-25"), anna, "77000")
    b.move(d["D8"], at("2026-01-25"), s["Angebot"])
    b.move(d["D7"], at("2026-01-28"), s["Bedarfsanalyse"])
    b.move(d["D2"], at("2026-01-30"), s["Bedarfsanalyse"])
    b.move(d["D4"], at("2026-01-30"), s["Verhandlung"])
    d["D5"] = deal("D5 Comeback", at("2026-02-01"), anna, "40000")
    b.delete(d["D7"], at("2026-02-01"))
    b.lose(d["D3"], at("2026-02-02"))
    b.win(d["D1"], at("2026-02-04"))
    b.update(d["D5"], at("2026-02-04"), {"amount": "50000"})
    b.move(d["D5"], at("2026-02-07"), s["Bedarfsanalyse"])
    b.win(d["D4"], at("2026-02-09"))
    b.lose(d["D5"], at("2026-02-11"))
    b.reopen(d["D5"], at("2026-02-13"))
    b.reopen(d["D4"], at("2026-02-14"))
    d["D11"] = deal(
        "D11 Bestand",
        at("2026-02-15"),
        anna,
        "15000",
        stage_id=bestand["Bedarf erkannt"],
        expected_close_date=dt.date(2026, 5, 31),
    )
    b.win(d["D5"], at("2026-02-19"))
    d["D10"] = deal("D10 direkt", at("2026-03-10"), ben, "12000", stage_id=s["Bedarfsanalyse"], expected_close_date=dt.date(2026, 6, 5))
    b.move(d["D10"], at("2026-03-20"), s["Angebot"])
    d["D12"] = deal("D12 spät", at("2026-03-31", "22:30"), anna, "3000")
    clock.current = NOW
    return Dataset(admin, anna, ben, team_id, neu.id, s, d)


def report_uow(factory: sessionmaker[Session], actor: Actor) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=lambda: NOW)


def test_funnel_counts_values_conversion_drop_off_and_days(factory: sessionmaker[Session], data: Dataset) -> None:
    """Cohort (created 01.01.–31.03.2026 Berlin, Neugeschäft, EUR): D1 D2 D3 D4 D5 D9 D10 = 135.000.
    D6/D12 lie outside the local period, D7 was deleted, D8 is CHF, D11 is another pipeline.

    highest rank reached (created/moved/reopened/won rows) and current status:
        D1 won-rank/won · D2 V/open · D3 B/lost · D4 won-rank/open · D5 won-rank/won · D9 B/lost · D10 B→A/open
    stage           reached (deals)                  count value    → next (count, value)        drop-off
    Qualifizierung  all 7                              7  135.000    7/7 = 1,   135/135 = 1        0  0
    Bedarfsanalyse  all 7 (D1 skipped it; D10 created there) 7  135.000  5/7,  122/135          2  13.000 (D3, D9)
    Angebot         D1 D2 D4 D5 D10                    5  122.000    4/5,       110/122            1  12.000 (D10)
    Verhandlung     D1 D2 D4 D5                        4  110.000    2/4,        60/110            2  50.000 (D2, D4)
    Gewonnen        D1 D5 (D4 reopened: not won)       2   60.000
    Ø days in stage, per deal summed over its stays, open end = 01.06.2026 09:00:
        Q: D1 10, D2 5, D3 7, D4 10, D5 3+3 (revised row keeps the stay), D9 10      → 48/6 = 8
        B: D2 5 + 122 (back on 30.01), D3 14, D5 4 + 6 (after reopening), D9 10, D10 10 → 171/5 = 34,2
        A: D1 20, D10 73                                                            → 93/2 = 46,5
        V: D2 10, D4 10 + 107 (reopened 14.02)                                      → 127/2 = 63,5
    win rate: won D1 D5 (60.000) vs lost D3 D9 (13.000) → 2/4 = 0,5 and 60/73 by value;
    days to close: D1 30, D3 21, D5 18 (created → won 19.02), D9 20 → 89/4 = 22,25.
    """
    result = funnel(report_uow(factory, data.admin), pipeline_id=data.neu, created_from=Q1_FROM, created_to=Q1_TO)
    rows = [
        (s.name, s.reached_count, s.reached_value, s.dropped_count, s.dropped_value)
        for s in result.stages
    ]
    assert rows == [
        ("Qualifizierung", 7, Decimal("135000.00"), 0, Decimal("0.00")),
        ("Bedarfsanalyse", 7, Decimal("135000.00"), 2, Decimal("13000.00")),
        ("Angebot", 5, Decimal("122000.00"), 1, Decimal("12000.00")),
        ("Verhandlung", 4, Decimal("110000.00"), 2, Decimal("50000.00")),
        ("Gewonnen", 2, Decimal("60000.00"), 0, Decimal("0.00")),
    ]
    conversions = [(s.conversion_to_next, s.conversion_to_next_value) for s in result.stages]
    assert conversions == [
        (1.0, 1.0),
        (pytest.approx(5 / 7), pytest.approx(122 / 135)),
        (pytest.approx(4 / 5), pytest.approx(110 / 122)),
        (pytest.approx(2 / 4), pytest.approx(60 / 110)),
        (None, None),
    ]
    days = [s.avg_days_in_stage for s in result.stages]
    assert days == [pytest.approx(8.0), pytest.approx(34.2), pytest.approx(46.5), pytest.approx(63.5), None]
    assert (result.cohort_count, result.cohort_value, result.open_count) == (7, Decimal("135000.00"), 3)
    assert (result.won_count, result.won_value, result.lost_count, result.lost_value) == (
        2,
        Decimal("60000.00"),
        2,
        Decimal("13000.00"),
    )
    assert result.win_rate == pytest.approx(0.5)
    assert result.win_rate_value == pytest.approx(60 / 73)
    assert result.avg_days_to_close == pytest.approx(22.25)
    assert (result.pipeline_name, result.currency) == ("Neugeschäft", "EUR")


def test_funnel_filters_owner_team_and_currency(factory: sessionmaker[Session], data: Dataset) -> None:
    """Ben: D9 (B, lost) and D10 (A, open). Team = Ben's team. CHF: D8 alone (Q → A, open)."""
    def reached(**options: object) -> list[int]:
        result = funnel(
            report_uow(factory, data.admin), pipeline_id=data.neu, created_from=Q1_FROM, created_to=Q1_TO, **options  # type: ignore[arg-type]
        )
        return [s.reached_count for s in result.stages]

    assert reached(owner_id=data.ben) == [2, 2, 1, 0, 0]
    assert reached(team_id=data.team) == [2, 2, 1, 0, 0]
    assert reached(owner_id=data.anna) == [5, 5, 4, 4, 2]
    assert reached(currency="CHF") == [1, 1, 1, 0, 0]
    chf = funnel(report_uow(factory, data.admin), pipeline_id=data.neu, created_from=Q1_FROM, created_to=Q1_TO, currency="CHF")
    assert chf.stage(data.stage["Angebot"]).reached_value == Decimal("60000.00")
    assert chf.win_rate is None and chf.avg_days_to_close is None, "no closed deal in the CHF cohort"
    empty = funnel(
        report_uow(factory, data.admin), pipeline_id=data.neu, created_from=dt.date(2025, 1, 1), created_to=dt.date(2025, 6, 30)
    )
    assert empty.cohort_count == 0 and all(s.reached_count == 0 and s.conversion_to_next is None for s in empty.stages)


def test_funnel_drill_down_lists_the_deals_behind_a_bar(factory: sessionmaker[Session], data: Dataset) -> None:
    def names(stage: str, which: str) -> list[tuple[str, str, str, Decimal]]:
        frame = funnel_deals(
            report_uow(factory, data.admin),
            pipeline_id=data.neu,
            created_from=Q1_FROM,
            created_to=Q1_TO,
            stage_id=data.stage[stage],
            which=which,  # type: ignore[arg-type]
        )
        return [(r.name, r.stage_name, r.status, r.amount) for r in frame.itertuples()]

    assert names("Verhandlung", "dropped") == [
        ("D4 wiedereröffnet", "Verhandlung", "open", Decimal("30000.00")),
        ("D2 zurück", "Bedarfsanalyse", "open", Decimal("20000.00")),
    ]
    assert names("Gewonnen", "reached") == [
        ("D5 Comeback", "Gewonnen", "won", Decimal("50000.00")),
        ("D1 übersprungen", "Gewonnen", "won", Decimal("10000.00")),
    ]
    assert [n for n, *_ in names("Bedarfsanalyse", "dropped")] == ["D9 Neujahr", "D3 verloren"]
    assert len(names("Bedarfsanalyse", "reached")) == 7
    frame = funnel_deals(
        report_uow(factory, data.admin),
        pipeline_id=data.neu,
        created_from=Q1_FROM,
        created_to=Q1_TO,
        stage_id=data.stage["Angebot"],
        which="reached",
        owner_id=data.ben,
    )
    assert frame[["name", "owner_name", "currency"]].values.tolist() == [["D10 direkt", "Ben Becker", "EUR"]]
    with pytest.raises(ValidationFailed) as after_won:
        funnel_deals(
            report_uow(factory, data.admin),
            pipeline_id=data.neu,
            created_from=Q1_FROM,
            created_to=Q1_TO,
            stage_id=data.stage["Gewonnen"],
            which="dropped",
        )
    assert "which" in after_won.value.fields
    with pytest.raises(ValidationFailed) as lost_stage:
        funnel_deals(
            report_uow(factory, data.admin),
            pipeline_id=data.neu,
            created_from=Q1_FROM,
            created_to=Q1_TO,
            stage_id=data.stage["Verloren"],
            which="reached",
        )
    assert "stage_id" in lost_stage.value.fields


def test_forecast_by_month_owner_and_stage(factory: sessionmaker[Session], data: Dataset) -> None:
    """Current state; open deals by expected close date, won deals by closed date, lost/deleted left out.

    period  owner  stage (category)                   cur  deals          open     weighted (probability)  won
    2026-02 Anna   Gewonnen (closed)                  EUR  D1, D5             0    0                        60.000
    2026-05 Anna   Angebot (best_case)                CHF  D8            60.000    30.000 (50 %)
    2026-05 Anna   Bedarf erkannt (pipeline)          EUR  D11           15.000     4.500 (30 %)
    2026-06 Anna   Bedarfsanalyse (pipeline)          EUR  D2            20.000     5.000 (25 %)
    2026-06 Anna   Angebot (best_case)                EUR  D6            99.000    49.500 (50 %)
    2026-06 Ben    Angebot (best_case)                EUR  D10           12.000     6.000 (50 %)
    2026-07 Anna   Verhandlung (override best_case)   EUR  D4            30.000    18.000 (override 60 %)
    D12 has no expected close date; D1's override of 90 % does not apply to a won deal.
    """
    frame = forecast(report_uow(factory, data.admin), period="month", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 7, 31))
    rows = frame[
        ["period", "owner_name", "stage_name", "forecast_category", "currency", "count", "open_amount", "weighted_amount", "won_amount"]
    ].values.tolist()
    d = Decimal
    assert rows == [
        ["2026-02", "Anna Adler", "Gewonnen", "closed", "EUR", 2, d("0.00"), d("0.00"), d("60000.00")],
        ["2026-05", "Anna Adler", "Angebot", "best_case", "CHF", 1, d("60000.00"), d("30000.00"), d("0.00")],
        ["2026-05", "Anna Adler", "Bedarf erkannt", "pipeline", "EUR", 1, d("15000.00"), d("4500.00"), d("0.00")],
        ["2026-06", "Anna Adler", "Bedarfsanalyse", "pipeline", "EUR", 1, d("20000.00"), d("5000.00"), d("0.00")],
        ["2026-06", "Anna Adler", "Angebot", "best_case", "EUR", 1, d("99000.00"), d("49500.00"), d("0.00")],
        ["2026-06", "Ben Becker", "Angebot", "best_case", "EUR", 1, d("12000.00"), d("6000.00"), d("0.00")],
        ["2026-07", "Anna Adler", "Verhandlung", "best_case", "EUR", 1, d("30000.00"), d("18000.00"), d("0.00")],
    ]
    assert set(frame["owner_id"]) == {data.anna, data.ben}

    totals = forecast_totals(frame, by=("period",))
    assert totals[["period", "currency", "count", "open_amount", "weighted_amount", "won_amount"]].values.tolist() == [
        ["2026-02", "EUR", 2, d("0.00"), d("0.00"), d("60000.00")],
        ["2026-05", "CHF", 1, d("60000.00"), d("30000.00"), d("0.00")],
        ["2026-05", "EUR", 1, d("15000.00"), d("4500.00"), d("0.00")],
        ["2026-06", "EUR", 3, d("131000.00"), d("60500.00"), d("0.00")],
        ["2026-07", "EUR", 1, d("30000.00"), d("18000.00"), d("0.00")],
    ]
    by_owner = forecast_totals(frame, by=("owner_name",))
    assert by_owner[["owner_name", "currency", "open_amount", "weighted_amount", "won_amount"]].values.tolist() == [
        ["Anna Adler", "CHF", d("60000.00"), d("30000.00"), d("0.00")],
        ["Anna Adler", "EUR", d("164000.00"), d("77000.00"), d("60000.00")],
        ["Ben Becker", "EUR", d("12000.00"), d("6000.00"), d("0.00")],
    ]


def test_forecast_by_quarter_with_filters(factory: sessionmaker[Session], data: Dataset) -> None:
    """Quarters 2026-Q1..Q3: Q1 the won deals, Q2 everything due April–June, Q3 D4; then filters."""
    def quarters(**options: object) -> list[list[object]]:
        frame = forecast(
            report_uow(factory, data.admin),
            period="quarter",
            date_from=dt.date(2026, 1, 1),
            date_to=dt.date(2026, 9, 30),
            **options,  # type: ignore[arg-type]
        )
        totals = forecast_totals(frame, by=("period",))
        return totals[["period", "currency", "count", "open_amount", "weighted_amount", "won_amount"]].values.tolist()

    d = Decimal
    assert quarters() == [
        ["2026-Q1", "EUR", 2, d("0.00"), d("0.00"), d("60000.00")],
        ["2026-Q2", "CHF", 1, d("60000.00"), d("30000.00"), d("0.00")],
        ["2026-Q2", "EUR", 4, d("146000.00"), d("65000.00"), d("0.00")],
        ["2026-Q3", "EUR", 1, d("30000.00"), d("18000.00"), d("0.00")],
    ]
    assert quarters(pipeline_id=data.neu, owner_id=data.ben) == [["2026-Q2", "EUR", 1, d("12000.00"), d("6000.00"), d("0.00")]]
    assert quarters(team_id=data.team) == quarters(owner_id=data.ben)
    assert quarters(pipeline_id=data.neu)[2] == ["2026-Q2", "EUR", 3, d("131000.00"), d("60500.00"), d("0.00")]
    empty = forecast(report_uow(factory, data.admin), period="month", date_from=dt.date(2030, 1, 1), date_to=dt.date(2030, 3, 31))
    assert empty.empty and list(empty.columns)[:3] == ["period", "owner_id", "owner_name"]
    assert forecast_totals(empty).empty


def test_reports_need_reports_read_and_valid_periods(factory: sessionmaker[Session], data: Dataset) -> None:
    compliance = make_user(factory, Role.COMPLIANCE).actor()
    with pytest.raises(PermissionDenied):
        funnel(report_uow(factory, compliance), pipeline_id=data.neu, created_from=Q1_FROM, created_to=Q1_TO)
    with pytest.raises(PermissionDenied):
        funnel_deals(
            report_uow(factory, compliance),
            pipeline_id=data.neu,
            created_from=Q1_FROM,
            created_to=Q1_TO,
            stage_id=data.stage["Angebot"],
            which="reached",
        )
    with pytest.raises(PermissionDenied):
        forecast(report_uow(factory, compliance), period="month", date_from=Q1_FROM, date_to=Q1_TO)
    viewer = make_user(factory, Role.VIEWER).actor()
    assert funnel(report_uow(factory, viewer), pipeline_id=data.neu, created_from=Q1_FROM, created_to=Q1_TO).cohort_count == 7

    with pytest.raises(ValidationFailed) as backwards:
        funnel(report_uow(factory, data.admin), pipeline_id=data.neu, created_from=Q1_TO, created_to=Q1_FROM)
    assert backwards.value.fields == {"created_to": "darf nicht vor dem Beginn des Zeitraums liegen"}
    with pytest.raises(ValidationFailed) as currency:
        funnel(report_uow(factory, data.admin), pipeline_id=data.neu, created_from=Q1_FROM, created_to=Q1_TO, currency="XYZ")
    assert "currency" in currency.value.fields
    with pytest.raises(ValidationFailed) as period:
        forecast(report_uow(factory, data.admin), period="week", date_from=Q1_FROM, date_to=Q1_TO)  # type: ignore[arg-type]
    assert "period" in period.value.fields
    with pytest.raises(ValidationFailed) as too_long:
        forecast(report_uow(factory, data.admin), period="month", date_from=dt.date(2020, 1, 1), date_to=dt.date(2026, 1, 1))
    assert "vier Jahre" in too_long.value.fields["date_to"]
