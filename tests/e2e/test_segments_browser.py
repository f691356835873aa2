"""Segment-Editor end to end in a real browser: the marketing user builds a segment with two groups — Ort ist Köln
and a subgroup „Anrede ist Frau oder Position enthält leiter“ — and sees the live count change after every condition
(each number checked against the database through the core count), an unfinished condition shows its German message
instead of a count, saves, and lands on the segment page whose size is the stored membership.
Screenshots: test-artifacts/segment-builder-*.png."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from core.database import session_factory
from core.formatting import fmt_number
from core.permissions import SYSTEM
from core.segments.service import count_preview
from core.uow import UnitOfWork
from tests.e2e.conftest import ARTIFACTS, Servers
from tests.e2e.test_browser import expect_no_exception, heading, idle, log_in, open_from_sidebar

pytestmark = pytest.mark.e2e

NS = "segb"
CITY = "Köln"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"segment-builder-{name}.png"), animations="disabled", full_page=True)


def settle(page: Page) -> None:
    """The run an interaction started is over: while Streamlit redraws, the last run's elements stay as stale copies
    (a moved button can then be there twice)."""
    idle(page)
    expect(page.locator("[data-stale='true']")).to_have_count(0)


def widget(page: Page, path: str, attr: str) -> Locator:
    """A widget of the rule editor by its key: path "" is the whole rule, "_2_1" the first condition of group 2."""
    return page.locator(f".st-key-{NS}__rule{path}__{attr}:not([data-stale='true'])")


def pick(page: Page, path: str, attr: str, option: str, search: str | None = None) -> None:
    """Choose `option` in a selectbox of the rule editor and check that the box shows it.

    A pick that lands while the previous interaction's rerun still redraws the editor can be dropped by Streamlit
    (the box shows its old value); the pick is then made once more, as a user would."""
    box = widget(page, path, attr)
    for _ in range(2):
        box.get_by_role("combobox").click()
        page.keyboard.type(search or option.split(" · ")[0])  # the list is long and drawn lazily: filter it first
        page.get_by_role("option", name=option, exact=True).click()
        settle(page)
        if box.get_by_role("combobox").input_value() == option:
            return
    expect(box.get_by_role("combobox")).to_have_value(option)


def type_into(page: Page, path: str, attr: str, text: str) -> None:
    box = widget(page, path, attr).get_by_role("textbox")
    box.fill(text)
    box.press("Enter")
    settle(page)


def click(page: Page, path: str, attr: str) -> None:
    widget(page, path, attr).get_by_role("button").click()
    settle(page)


def live_count(page: Page) -> Locator:
    return page.locator(f".st-key-{NS}__preview").get_by_test_id("stMetricValue")


def database_count(servers: Servers, rules: dict[str, Any]) -> int:
    return count_preview(UnitOfWork(session_factory(servers.env["CRM_DATABASE_URL"]), actor=SYSTEM), rules)


def hand_count(servers: Servers, *where: str) -> int:
    """The same count written by hand in SQL: contacts meeting `where` (ASCII values, so SQLite's lower() folds
    enough), minus those whose processing is restricted now (Art. 18: in no segment)."""
    restricted = (
        "SELECT contact_id FROM processing_restrictions WHERE kind = 'restriction'"
        " AND started_at <= datetime('now') AND (lifted_at IS NULL OR lifted_at > datetime('now'))"
    )
    sql = f"SELECT count(*) FROM contacts c WHERE c.id NOT IN ({restricted})" + "".join(f" AND ({w})" for w in where)
    with sqlite3.connect(servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return int(db.execute(sql).fetchone()[0])


SQL_IN_CITY = "lower(c.city) = lower('Köln')"
SQL_WOMEN = "c.salutation = 'Frau'"
SQL_LEADERS = "instr(lower(c.job_title), 'leiter') > 0"


def stored_segment(servers: Servers, name: str) -> tuple[int, int, int]:
    """(id, stored size, member rows) of the segment called `name`."""
    path = servers.env["CRM_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT s.id, s.member_count, (SELECT count(*) FROM segment_members m WHERE m.segment_id = s.id)"
            " FROM segments s WHERE s.name = ?",
            (name,),
        ).fetchone()
    assert row, f"segment {name!r} was not saved"
    return int(row[0]), int(row[1]), int(row[2])


def facet(page: Page, label: str) -> Locator:
    """The value of a header key figure (a bordered block: caption, then the bold value)."""
    return page.locator(
        f"xpath=//div[@data-testid='stCaptionContainer']/p[normalize-space()='{label}']"
        "/ancestor::div[@data-testid='stVerticalBlock'][1]//strong"
    )


def group(*children: dict[str, Any], op: str = "and") -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": False, "children": list(children)}


def cond(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"type": "condition", "field": field, "operator": operator, "value": value}


IN_CITY = cond("contact.city", "eq", CITY)
WOMEN = cond("contact.salutation", "eq", "Frau")
LEADERS = cond("contact.job_title", "contains", "leiter")


def expect_count(page: Page, servers: Servers, rules: dict[str, Any], *where: str) -> int:
    """The live count shows what core counts for `rules`, and that is what the hand-written SQL counts."""
    expected = database_count(servers, rules)
    assert expected == hand_count(servers, *where)
    expect(live_count(page)).to_have_text(fmt_number(expected))
    settle(page)
    expect_no_exception(page)
    return expected


def test_build_a_two_group_segment_with_live_counts_and_open_it(page: Page, servers: Servers) -> None:
    name = "Kölner Entscheiderinnen und Leitung"
    log_in(page, servers, "demo.marketing")
    open_from_sidebar(page, "Segment-Editor")
    expect(heading(page, "Neues Segment")).to_be_visible()
    idle(page)
    page.get_by_label("Name *").fill(name)
    page.get_by_label("Beschreibung").fill("Einladung zum Branchenabend in Köln")
    page.get_by_text("Art", exact=True).click()  # leave the text area, so its value reaches the app
    settle(page)
    shot(page, "01-basics")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Schritt 2 von 3: Regeln")).to_be_visible()
    idle(page)
    everyone = expect_count(page, servers, group())

    click(page, "", "add_condition")
    pick(page, "_1", "field", "Ort · Kontakt")
    type_into(page, "_1", "value", CITY)
    in_city = expect_count(page, servers, group(IN_CITY), SQL_IN_CITY)
    shot(page, "02-first-condition")

    click(page, "", "add_group")
    expect(live_count(page)).to_have_text("–")  # the subgroup's new condition has no value yet
    expect(widget(page, "_2", "box").get_by_text("Operator „ist“ braucht einen Wert")).to_be_visible()
    pick(page, "_2_1", "field", "Anrede · Kontakt")
    pick(page, "_2_1", "value", "Frau")
    women = expect_count(page, servers, group(IN_CITY, group(WOMEN, op="or")), SQL_IN_CITY, SQL_WOMEN)
    click(page, "_2", "add_condition")
    pick(page, "_2_2", "field", "Position · Kontakt")
    pick(page, "_2_2", "operator", "enthält")
    expect(live_count(page)).to_have_text("–")
    unfinished = re.compile(r"Bedingung 2\.2: Operator „enthält“ braucht einen Wert")
    expect(page.locator(f".st-key-{NS}__preview").get_by_text(unfinished)).to_be_visible()
    shot(page, "03-unfinished-condition")
    type_into(page, "_2_2", "value", "leiter")
    final = group(IN_CITY, group(WOMEN, LEADERS, op="or"))
    size = expect_count(page, servers, final, SQL_IN_CITY, f"{SQL_WOMEN} OR {SQL_LEADERS}")
    assert everyone > in_city > size > women > 0, "every condition changed the count"
    preview = page.locator(f".st-key-{NS}__preview")
    expect(
        preview.get_by_text(
            "Kontakte, für die gilt: Ort ist „Köln“ und (Anrede ist „Frau“ oder Position enthält „leiter“)"
        )
    ).to_be_visible()
    expect(preview.get_by_test_id("stDataFrame")).to_be_visible()
    shot(page, "04-two-groups")

    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Schritt 3 von 3: Prüfen und speichern")).to_be_visible()
    idle(page)
    shot(page, "05-review")
    page.get_by_role("button", name="Segment anlegen").click()

    expect(heading(page, name)).to_be_visible()
    idle(page)
    expect_no_exception(page)
    segment_id, stored, members = stored_segment(servers, name)
    assert stored == members == size, "the first calculation stored exactly the counted contacts"
    assert re.search(rf"[?&]id={segment_id}\b", page.url)
    expect(facet(page, "Größe")).to_have_text(fmt_number(size))
    expect(facet(page, "Per E-Mail erreichbar")).to_have_text(re.compile(r"^\d[\d.]*$"))  # counted on save
    shot(page, "06-segment-page")
