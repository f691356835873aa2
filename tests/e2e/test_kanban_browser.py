"""The pipeline board in a real browser: deals made through the services, one card dragged with the mouse
to another stage, one moved to Verloren through the reason dialog, the lane counts following each move.

Screenshots (1440x900): test-artifacts/kanban-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest
from playwright.sync_api import Locator, Page, expect

from core.database import session_factory
from core.permissions import SYSTEM
from core.sales.opportunities import OpportunityView, create_opportunity, get_opportunity
from core.sales.pipelines import list_pipelines
from core.uow import UnitOfWork
from tests.e2e.conftest import Servers
from tests.e2e.test_browser import expect_no_exception, heading, idle, log_in, open_from_sidebar, shot

pytestmark = pytest.mark.e2e

NS = "pipeline_kanban"
TAG = "Kanbantest"


def uow(servers: Servers) -> UnitOfWork:
    return UnitOfWork(session_factory(servers.env["CRM_DATABASE_URL"]), actor=SYSTEM)


def first_ids(servers: Servers) -> tuple[int, int]:
    """The demo admin (owner of the test deals) and a company to attach them to."""
    path = servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (admin_id,) = db.execute("SELECT id FROM users WHERE username = 'demo.admin'").fetchone()
        (account_id,) = db.execute("SELECT id FROM accounts ORDER BY id LIMIT 1").fetchone()
    return int(admin_id), int(account_id)


def lane(page: Page, stage_id: int) -> Locator:
    return page.locator(f".st-key-{NS}__lane-{stage_id}")


def card(page: Page, opportunity_id: int) -> Locator:
    return page.locator(f".st-key-{NS}__card-{opportunity_id}")


def expect_count(page: Page, stage_id: int, count: int) -> None:
    """The number badge next to the stage name."""
    expect(lane(page, stage_id).get_by_text(re.compile(rf"^{count}$")).first).to_be_visible()


def test_cards_move_by_drag_and_drop_and_through_the_lost_dialog(page: Page, servers: Servers) -> None:
    admin_id, account_id = first_ids(servers)
    stages = {s.name: s.id for s in {p.name: p for p in list_pipelines(uow(servers))}["Neugeschäft"].stages}
    close = dt.date.today() + dt.timedelta(days=40)

    def make(name: str, amount: str, stage: str, **values: object) -> OpportunityView:
        data = {"name": f"{TAG} {name}", "account_id": account_id, "owner_id": admin_id, "amount": amount}
        return create_opportunity(
            uow(servers), data | {"stage_id": stages[stage], "expected_close_date": close} | values
        )

    drehbank = make("Drehbank", "48000", "Qualifizierung")
    make("Fräszentrum", "125000", "Qualifizierung", expected_close_date=dt.date.today() - dt.timedelta(days=3))
    roboter = make("Roboterzelle", "310000", "Angebot", probability_override=70)
    make("Wartungsvertrag", "18500", "Verhandlung", currency="CHF")

    log_in(page, servers, "demo.admin")
    open_from_sidebar(page, "Pipeline")
    expect(heading(page, "Pipeline")).to_be_visible()
    idle(page)
    page.get_by_label("Suche").fill(TAG)
    page.get_by_label("Suche").press("Enter")
    idle(page)
    expect(card(page, drehbank.id)).to_be_visible()
    expect_no_exception(page)
    for stage, count in (
        ("Qualifizierung", 2),
        ("Bedarfsanalyse", 0),
        ("Angebot", 1),
        ("Verhandlung", 1),
        ("Verloren", 0),
    ):
        expect_count(page, stages[stage], count)
    expect(lane(page, stages["Angebot"])).to_contain_text("310.000,00 €\ngewichtet 217.000,00 €")
    expect(card(page, drehbank.id)).to_contain_text("48.000,00 €")
    page.get_by_label("Suche").blur()
    page.wait_for_timeout(300)
    shot(page, "kanban-01-board")

    # Drag and drop: Drehbank from Qualifizierung to Bedarfsanalyse.
    card(page, drehbank.id).drag_to(lane(page, stages["Bedarfsanalyse"]))
    expect(page.get_by_test_id("stToast").filter(has_text="steht jetzt in „Bedarfsanalyse“")).to_be_visible()
    idle(page)
    expect(lane(page, stages["Bedarfsanalyse"]).locator(f".st-key-{NS}__card-{drehbank.id}")).to_be_visible()
    expect_count(page, stages["Qualifizierung"], 1)
    expect_count(page, stages["Bedarfsanalyse"], 1)
    assert get_opportunity(uow(servers), drehbank.id).stage_name == "Bedarfsanalyse"

    # Verloren asks for the reason in a dialog first.
    card(page, roboter.id).drag_to(lane(page, stages["Verloren"]))
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("wird als verloren abgeschlossen")).to_be_visible()
    idle(page)
    dialog.get_by_role("button", name="Verloren").click()
    expect(dialog.get_by_text("Bitte einen Verlustgrund wählen.")).to_be_visible()
    idle(page)
    assert get_opportunity(uow(servers), roboter.id).status == "open"
    dialog.get_by_role("combobox", name=re.compile("^Verlustgrund")).click()
    page.get_by_role("option", name="Preis zu hoch").click()
    idle(page)
    shot(page, "kanban-02-verloren-dialog")
    dialog.get_by_role("button", name="Verloren").click()
    expect(page.get_by_test_id("stToast").filter(has_text="steht jetzt in „Verloren“")).to_be_visible()
    idle(page)
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect_count(page, stages["Angebot"], 0)
    expect_count(page, stages["Verloren"], 1)
    lost = get_opportunity(uow(servers), roboter.id)
    assert (lost.status, lost.close_reason) == ("lost", "Preis zu hoch")

    # The keyboard alternative: the → button on the card.
    card(page, drehbank.id).locator(f".st-key-{NS}__forward-{drehbank.id}").get_by_role("button").click()
    expect(page.get_by_test_id("stToast").filter(has_text="steht jetzt in „Angebot“")).to_be_visible()
    idle(page)
    expect_count(page, stages["Angebot"], 1)
    expect_no_exception(page)
    page.wait_for_timeout(300)
    shot(page, "kanban-03-nach-verschieben")

    # The card's title opens the deal.
    card(page, drehbank.id).get_by_role("link", name=f"{TAG} Drehbank").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(f"{TAG} Drehbank"))).to_be_visible()
    assert re.search(rf"opportunity-detail\?id={drehbank.id}$", page.url), page.url
    idle(page)
    expect_no_exception(page)
