"""Trichteranalyse and Umsatzprognose pages on deals of their own owner (the app database is shared by all
AppTests, so every assertion filters on that owner)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.database import session_factory
from core.permissions import SYSTEM, Role
from core.sales.opportunities import create_opportunity, lose_opportunity, move_stage, win_opportunity
from core.sales.pipelines import list_pipelines, list_reasons
from core.uow import UnitOfWork
from core.users import create_user
from tests.app.conftest import PASSWORD, AppData, LoggedIn
from tests.conftest import FrozenClock

FUNNEL = "pages/funnel_report.py"
FORECAST = "pages/forecast_report.py"
UTC = dt.timezone.utc


@dataclass(frozen=True)
class ReportDeals:
    owner_id: int
    won: int
    open_late: int


@pytest.fixture(scope="module")
def deals(app_data: AppData) -> ReportDeals:
    """Owner „Rita Report“ (a sales rep of her own), deals made through the services:

    R1 created 02.03.2026 → Angebot → won 01.04.2026 (closed date 20.11.2026)   10.000 €
    R2 created 04.05.2026 → Bedarfsanalyse → lost 01.06.2026                       20.000 €
    R3 created 01.07.2026 → Verhandlung, open, expected close 15.12.2026           30.000 € (75 % → 22.500 €)
    R4 created 01.09.2026, Qualifizierung, open, expected close 10.02.2027         40.000 € (10 % →  4.000 €)
    """
    factory = session_factory(app_data.url)
    clock = FrozenClock(dt.datetime(2026, 3, 2, 9, tzinfo=UTC))
    manager = app_data.users[Role.SALES_MANAGER].actor()
    owner = create_user(
        UnitOfWork(factory, actor=SYSTEM),
        {"username": "test.report-owner", "display_name": "Rita Report", "role": Role.SALES_REP},
        password=PASSWORD,
    )
    stages = {s.name: s.id for s in list_pipelines(UnitOfWork(factory, actor=manager))[0].stages}
    lost_reason = list_reasons(UnitOfWork(factory, actor=manager), "lost")[0].id

    def uow() -> UnitOfWork:
        return UnitOfWork(factory, actor=manager, clock=clock)

    def create(day: str, name: str, amount: str, **values: object) -> tuple[int, int]:
        clock.current = dt.datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=UTC)
        view = create_opportunity(
            uow(), {"name": name, "account_id": app_data.account.id, "owner_id": owner.id, "amount": amount, **values}
        )
        return view.id, view.version

    def at(day: str) -> None:
        clock.current = dt.datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=UTC)

    r1, version = create("2026-03-02", "R1 Bericht gewonnen", "10000")
    at("2026-03-10")
    version = move_stage(uow(), r1, stage_id=stages["Angebot"], expected_version=version).version
    at("2026-04-01")
    win_opportunity(uow(), r1, expected_version=version, closed_date=dt.date(2026, 11, 20))
    r2, version = create("2026-05-04", "R2 Bericht verloren", "20000")
    at("2026-05-10")
    version = move_stage(uow(), r2, stage_id=stages["Bedarfsanalyse"], expected_version=version).version
    at("2026-06-01")
    lose_opportunity(uow(), r2, expected_version=version, reason_id=lost_reason)
    r3, version = create("2026-07-01", "R3 Bericht Verhandlung", "30000", expected_close_date=dt.date(2026, 12, 15))
    at("2026-07-15")
    move_stage(uow(), r3, stage_id=stages["Verhandlung"], expected_version=version)
    create("2026-09-01", "R4 Bericht neu", "40000", expected_close_date=dt.date(2027, 2, 10))
    # The pages' cached lookups (owners) may have been read in this process before Rita existed: made through the
    # services, not a page, nothing cleared them.
    st.cache_data.clear()
    return ReportDeals(owner.id, r1, r3)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Babel separates amount and currency with a no-break space; compare with a plain one."""
    return frame.map(lambda v: v.replace("\xa0", " ") if isinstance(v, str) else v)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value.replace("\xa0", " ") for m in at.metric}


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return plain(next(df.value for df in at.dataframe if column in df.value.columns))


def open_page(logged_in: LoggedIn, page: str, role: Role = Role.SALES_MANAGER, **options: object) -> AppTest:
    at = logged_in(role, **options)
    at.switch_page(page).run()
    assert_clean(at)
    return at


def test_funnel_page_shows_key_figures_stages_and_the_deals_behind_a_bar(
    logged_in: LoggedIn, deals: ReportDeals
) -> None:
    at = open_page(logged_in, FUNNEL)
    assert at.date_input(key="funnel__from").value == dt.date(2025, 11, 26), "default: the last twelve months"
    assert at.date_input(key="funnel__to").value == dt.date(2026, 11, 25)
    at.selectbox(key="funnel__owner").set_value(deals.owner_id).run()
    assert_clean(at)
    # Reached: Q all 4; B R1 R2 R3 (R1 skipped B); A and V R1 R3; won R1.
    # R1 won (30 days), R2 lost (28 days): 1 of 2 closed won, 10.000 of 30.000 by value.
    assert metrics(at) == {
        "Angelegt im Zeitraum": "4",
        "Gewinnquote (Anzahl)": "50,0 %",
        "Gewinnquote (Wert)": "33,3 %",
        "Ø Tage bis Abschluss": "29,0",
    }
    table = table_with(at, "Erreicht")
    assert table[["Phase", "Erreicht", "Abgang"]].values.tolist() == [
        ["Qualifizierung", "4", "1"],
        ["Bedarfsanalyse", "3", "1"],
        ["Angebot", "2", "0"],
        ["Verhandlung", "2", "1"],
        ["Gewonnen", "1", "–"],
    ]
    assert table["Konversion zur nächsten Phase"].tolist() == ["75,0 %", "66,7 %", "100,0 %", "50,0 %", "–"]
    assert table["Wert erreicht"].tolist()[0] == "100.000,00 €"

    at.selectbox(key="funnel__drill_stage").select("Verhandlung").run()
    at.segmented_control(key="funnel__drill_which").set_value("dropped").run()
    assert_clean(at)
    drill = table_with(at, "Verkaufschance")
    assert drill[["Verkaufschance", "Firma", "Aktuelle Phase", "Wert"]].values.tolist() == [
        ["R3 Bericht Verhandlung", "Müller Maschinenbau", "Verhandlung", "30.000,00 €"]
    ]
    assert "id" not in drill.columns, "no raw ids"

    key = f"funnel__deals_{at.selectbox(key='funnel__drill_stage').value}_dropped"
    assert at.button(key=f"{key}__open").disabled, "nothing chosen yet"
    at.selectbox(key=f"{key}__pick").set_value(deals.open_late).run()
    at.button(key=f"{key}__open").click().run()
    assert_clean(at)
    assert at.session_state["opportunity_detail__id"] == deals.open_late
    assert at.query_params["id"] == str(deals.open_late), "the detail page reads the deal from ?id="
    at.switch_page("pages/opportunity_detail.py").run()
    assert_clean(at)
    assert "R3 Bericht Verhandlung" in at.title[0].value


def test_funnel_page_empty_state_and_period_error(logged_in: LoggedIn, deals: ReportDeals) -> None:
    at = open_page(logged_in, FUNNEL, Role.VIEWER)
    at.selectbox(key="funnel__owner").set_value(deals.owner_id)
    at.date_input(key="funnel__from").set_value(dt.date(2024, 1, 1))
    at.date_input(key="funnel__to").set_value(dt.date(2024, 12, 31)).run()
    assert_clean(at)
    assert metrics(at)["Angelegt im Zeitraum"] == "0"
    assert any("keine Verkaufschancen angelegt" in i.value for i in at.info)
    assert not at.dataframe, "no table without deals"
    at.date_input(key="funnel__from").set_value(dt.date(2025, 1, 1)).run()
    assert any("darf nicht vor dem Beginn" in e.value for e in at.error)


def test_forecast_page_shows_kpis_pivot_and_downloads(logged_in: LoggedIn, deals: ReportDeals) -> None:
    at = open_page(logged_in, FORECAST, Role.SALES_REP)
    assert at.date_input(key="forecast__from").value == dt.date(2026, 10, 1), "current quarter and the next three"
    assert at.date_input(key="forecast__to").value == dt.date(2027, 9, 30)
    at.selectbox(key="forecast__owner").set_value(deals.owner_id).run()
    assert_clean(at)
    assert metrics(at) == {"Offen": "70.000 €", "Gewichtet": "26.500 €", "Gewonnen": "10.000 €", "Erwartet": "36.500 €"}
    pivot = table_with(at, "Phase")
    assert list(pivot.columns) == ["Phase", "Verantwortlich", "2026-11", "2026-12", "2027-02", "Summe"]
    assert pivot.values.tolist() == [
        ["Qualifizierung", "Rita Report", "–", "–", "4.000,00 €", "4.000,00 €"],
        ["Verhandlung", "Rita Report", "–", "22.500,00 €", "–", "22.500,00 €"],
        ["Gewonnen", "Rita Report", "–", "–", "–", "–"],
        ["Summe", "", "–", "22.500,00 €", "4.000,00 €", "26.500,00 €"],
    ]
    at.selectbox(key="forecast__measure").set_value("won_amount")
    at.segmented_control(key="forecast__period").set_value("quarter").run()
    assert_clean(at)
    pivot = table_with(at, "Phase")
    assert list(pivot.columns) == ["Phase", "Verantwortlich", "2026-Q4", "2027-Q1", "Summe"]
    assert pivot.values.tolist()[-1] == ["Summe", "", "10.000,00 €", "–", "10.000,00 €"]
    assert {b.key for b in at.download_button} >= {"forecast__csv", "forecast__xlsx", "forecast__pdf"}


def test_forecast_page_in_english_and_empty(logged_in: LoggedIn, deals: ReportDeals) -> None:
    at = open_page(logged_in, FORECAST, Role.ADMIN, lang="en")
    at.selectbox(key="forecast__owner").set_value(deals.owner_id).run()
    assert metrics(at)["Weighted"] == "€26,500"
    at.date_input(key="forecast__from").set_value(dt.date(2030, 1, 1))
    at.date_input(key="forecast__to").set_value(dt.date(2030, 12, 31)).run()
    assert_clean(at)
    assert any("no open or won opportunities" in i.value for i in at.info)
    assert not at.metric
