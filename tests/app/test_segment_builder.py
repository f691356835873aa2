"""Segment-Editor (AppTest): conditions and a subgroup with the live count equal to `count_preview`, the plain-language
summary and sample, an invalid value with its German message instead of a count, NOT and OR, saving a new segment with
exactly the built rule JSON (and its first calculation), static segments without rules, edit mode (`?id=`) saving a
new version, a stale version refused with the input kept, and roles without `segments.write`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.contacts import create_contact
from core.database import session_factory
from core.formatting import fmt_number
from core.permissions import Role
from core.segments.recalc import recalculate
from core.segments.rules import parse_rules
from core.segments.service import (
    SegmentView,
    count_preview,
    create_segment,
    get_segment,
    member_history,
    update_segment,
)
from core.uow import UnitOfWork
from tests.app.conftest import AppData, LoggedIn

BUILDER = "pages/segment_builder.py"
DETAIL = "pages/segment_detail.py"
TOWN, OTHER_TOWN = "Segmenthausen", "Andersdorf"
_seq = itertools.count(1)


@dataclass(frozen=True)
class People:
    """Three contacts in TOWN (a woman leading purchasing, a man leading engineering, a technician) and a woman
    leading in OTHER_TOWN; no other contact lives in either town."""

    leader_woman: int
    leader_man: int
    technician: int
    elsewhere: int


def uow(app_data: AppData, role: Role = Role.ADMIN) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor())


@pytest.fixture(scope="module")
def people(app_data: AppData) -> People:
    def person(first: str, last: str, salutation: str, job: str, city: str) -> int:
        values = {"first_name": first, "last_name": last, "salutation": salutation, "job_title": job, "city": city}
        return create_contact(uow(app_data, Role.MARKETING), values).id

    return People(
        leader_woman=person("Sabine", "Segmentfrau", "Frau", "Leiterin Einkauf", TOWN),
        leader_man=person("Bernd", "Segmentmann", "Herr", "Leiter Technik", TOWN),
        technician=person("Tim", "Segmenttechnik", "Herr", "Techniker", TOWN),
        elsewhere=person("Anna", "Anderswo", "Frau", "Leiterin Vertrieb", OTHER_TOWN),
    )


def group(*children: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def cond(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "condition", "field": field, "operator": operator, "value": value, **extra}


def normalised(rules: dict[str, Any]) -> dict[str, Any]:
    return parse_rules(rules).model_dump(mode="json", exclude_none=True)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def unique(name: str) -> str:
    return f"{name} {next(_seq)}"


def count_shown(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Passende Kontakte")


def texts(at: AppTest) -> str:
    """Markdown and captions as read (the page escapes markdown characters in values)."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]).replace("\\", "")


def step_title(at: AppTest) -> str:
    return at.get("progress")[0].text


def open_builder(logged_in: LoggedIn, role: Role = Role.MARKETING, segment_id: int | None = None) -> AppTest:
    at = logged_in(role)
    if segment_id is not None:
        at.query_params["id"] = str(segment_id)
    at.switch_page(BUILDER).run()
    assert_clean(at)
    return at


def to_rules(at: AppTest, name: str) -> AppTest:
    at.text_input(key="segb__name").input(name).run()
    at.button(key="segb__next").click().run()
    assert_clean(at)
    assert step_title(at) == "Schritt 2 von 3: Regeln"
    return at


def run(widget: Any) -> AppTest:
    at = widget.run()
    assert_clean(at)
    return at


def town_and_women_or_leaders(at: AppTest) -> AppTest:
    """Ort ist TOWN und (Anrede ist Frau oder Position enthält „leiter“), checking the count after each step."""
    run(at.button(key="segb__rule__add_condition").click())
    run(at.selectbox(key="segb__rule_1__field").set_value("contact.city"))
    run(at.text_input(key="segb__rule_1__value").input(TOWN))
    assert count_shown(at) == "3"
    run(at.button(key="segb__rule__add_group").click())
    assert count_shown(at) == "–", "the subgroup's new condition has no value yet"
    run(at.selectbox(key="segb__rule_2_1__field").set_value("contact.salutation"))
    run(at.selectbox(key="segb__rule_2_1__value").set_value("Frau"))
    assert count_shown(at) == "1"
    run(at.button(key="segb__rule_2__add_condition").click())
    run(at.selectbox(key="segb__rule_2_2__field").set_value("contact.job_title"))
    run(at.selectbox(key="segb__rule_2_2__operator").set_value("contains"))
    return run(at.text_input(key="segb__rule_2_2__value").input("leiter"))


EXPECTED = group(
    cond("contact.city", "eq", TOWN),
    group(cond("contact.salutation", "eq", "Frau"), cond("contact.job_title", "contains", "leiter"), op="or"),
)


def test_conditions_and_a_subgroup_update_the_count_summary_and_sample(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    at = to_rules(open_builder(logged_in), unique("Entscheiderinnen"))
    assert count_shown(at) != "–" and "Alle Kontakte" in texts(at), "an empty rule counts every contact"
    at = town_and_women_or_leaders(at)

    tree = at.session_state["segb__tree"]
    assert normalised(tree) == normalised(EXPECTED), "the subgroup under AND combines with OR"
    assert count_shown(at) == str(count_preview(uow(app_data), tree)) == "2"
    assert (
        "Kontakte, für die gilt: Ort ist „Segmenthausen“ und (Anrede ist „Frau“ oder Position enthält „leiter“)"
        in texts(at)
    )
    sample = at.dataframe[0].value
    assert list(sample["Name"]) == ["Sabine Segmentfrau", "Bernd Segmentmann"]
    assert not at.button(key="segb__next").disabled

    # NOT on the subgroup: the town's contacts that are neither women nor leaders.
    run(at.toggle(key="segb__rule_2__negate").set_value(True))
    assert count_shown(at) == "1"
    assert list(at.dataframe[0].value["Name"]) == ["Tim Segmenttechnik"]
    assert "nicht (Anrede ist „Frau“ oder Position enthält „leiter“)" in texts(at)

    # OR at the top: everyone in the town or not (women or leaders) — the live count follows.
    run(at.button_group(key="segb__rule__op").set_value("or"))
    tree = at.session_state["segb__tree"]
    assert tree["op"] == "or" and tree["children"][1]["negate"] is True
    assert count_shown(at) == fmt_number(count_preview(uow(app_data), tree))

    # Removing the subgroup leaves the town alone.
    run(at.button(key="segb__rule_2__remove").click())
    assert normalised(at.session_state["segb__tree"]) == normalised(group(cond("contact.city", "eq", TOWN), op="or"))
    assert count_shown(at) == "3"


def test_an_invalid_value_shows_the_german_message_instead_of_a_count(logged_in: LoggedIn, people: People) -> None:
    at = to_rules(open_builder(logged_in), unique("Ungültig"))
    run(at.button(key="segb__rule__add_condition").click())
    run(at.selectbox(key="segb__rule_1__field").set_value("account.employees"))
    run(at.selectbox(key="segb__rule_1__operator").set_value("between"))
    run(at.number_input(key="segb__rule_1__value").set_value(50))
    run(at.number_input(key="segb__rule_1__value2").set_value(10))

    message = "Operator „zwischen“: der erste Wert muss kleiner oder gleich dem zweiten sein"
    assert count_shown(at) == "–", "no stale count for an invalid rule"
    assert any(message in m.value for m in at.markdown), "the message stands next to the condition"
    assert any(f"Bedingung 1: {message}" in w.value.replace("\\", "") for w in at.warning), "and beside the editor"
    assert at.button(key="segb__next").disabled
    assert at.session_state["segb__tree"]["children"][0] == cond("account.employees", "between", 50, value2=10)

    run(at.number_input(key="segb__rule_1__value2").set_value(500))
    assert count_shown(at) != "–"
    assert not at.button(key="segb__next").disabled


def test_saving_creates_the_segment_with_exactly_that_rule_json_and_calculates_it(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    name = unique("Entscheider Segmenthausen")
    at = town_and_women_or_leaders(to_rules(open_builder(logged_in), name))
    built = at.session_state["segb__tree"]
    run(at.button(key="segb__next").click())
    assert step_title(at) == "Schritt 3 von 3: Prüfen und speichern"
    assert next(m.value for m in at.metric if m.label == "Passende Kontakte jetzt") == "2"
    run(at.button(key="segb__save").click())

    assert at.query_params["id"], "the segment page opens with the new segment's id"
    saved = get_segment(uow(app_data), int(at.query_params["id"]))
    assert saved.name == name and saved.kind == "dynamic"
    assert saved.rules == normalised(built) == normalised(EXPECTED)
    assert saved.member_count == 2 and saved.last_refreshed_at is not None, "the first calculation ran"
    assert not [k for k in at.session_state if str(k).startswith("segb__")], "the draft is gone"


def test_a_static_segment_skips_the_rules(logged_in: LoggedIn, app_data: AppData) -> None:
    name = unique("Messebesucher")
    at = open_builder(logged_in)
    at.text_input(key="segb__name").input(name)
    at.text_area(key="segb__description").input("Besucher unseres Messestands")
    run(at.radio(key="segb__kind").set_value("static"))
    run(at.button(key="segb__next").click())
    assert step_title(at) == "Schritt 2 von 2: Prüfen und speichern"
    assert any("Mitglieder von Hand oder per CSV-Datei" in i.value for i in at.info)
    run(at.button(key="segb__save").click())
    saved = get_segment(uow(app_data), int(at.query_params["id"]))
    assert (saved.name, saved.kind, saved.rules, saved.description) == (
        name,
        "static",
        None,
        "Besucher unseres Messestands",
    )


def test_a_name_is_needed_and_a_taken_name_is_refused_with_the_input_kept(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    taken = create_segment(uow(app_data), name=unique("Vergeben"), rules=group()).name
    at = open_builder(logged_in)
    run(at.button(key="segb__next").click())
    assert step_title(at) == "Schritt 1 von 3: Grunddaten"
    assert any("Bitte einen Namen angeben." in m.value for m in at.markdown)

    at = to_rules(at, taken.upper())
    run(at.button(key="segb__rule__add_condition").click())
    run(at.selectbox(key="segb__rule_1__field").set_value("contact.city"))
    run(at.text_input(key="segb__rule_1__value").input(TOWN))
    run(at.button(key="segb__next").click())
    run(at.button(key="segb__save").click())
    assert any(f"Ein Segment mit dem Namen „{taken.upper()}“ gibt es bereits." in e.value for e in at.error)
    assert at.session_state["segb__basics"]["name"] == taken.upper()
    assert normalised(at.session_state["segb__tree"]) == normalised(group(cond("contact.city", "eq", TOWN)))


def existing(app_data: AppData, name: str) -> SegmentView:
    return create_segment(uow(app_data), name=name, rules=group(cond("contact.city", "eq", TOWN)), description="alt")


def test_edit_mode_loads_the_segment_and_saves_a_new_version(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    segment = existing(app_data, unique("Bestand"))
    at = open_builder(logged_in, Role.SALES_MANAGER, segment.id)
    assert at.title[0].value.endswith(f"Segment „{segment.name}“ bearbeiten")
    assert at.text_input(key="segb__name").value == segment.name
    assert at.radio(key="segb__kind").disabled, "the kind of a segment stays"
    run(at.button(key="segb__next").click())
    assert at.selectbox(key="segb__rule_1__field").value == "contact.city"
    assert at.text_input(key="segb__rule_1__value").value == TOWN
    assert count_shown(at) == "3"

    run(at.text_input(key="segb__rule_1__value").input(OTHER_TOWN))
    assert count_shown(at) == "1"
    run(at.button(key="segb__next").click())
    run(at.button(key="segb__save").click())

    saved = get_segment(uow(app_data), segment.id)
    assert at.query_params["id"] == str(segment.id)
    assert saved.version == segment.version + 1
    assert saved.rules == normalised(group(cond("contact.city", "eq", OTHER_TOWN)))
    assert (saved.name, saved.description, saved.member_count) == (segment.name, "alt", 1)


def test_renaming_keeps_the_membership_without_a_new_calculation(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    segment = existing(app_data, unique("Umbenennen"))
    recalculate(uow(app_data), segment.id)
    at = open_builder(logged_in, Role.ADMIN, segment.id)
    renamed = unique("Umbenannt")
    at.text_input(key="segb__name").input(renamed)
    run(at.button(key="segb__next").click())
    run(at.button(key="segb__next").click())
    run(at.button(key="segb__save").click())

    saved = get_segment(uow(app_data), segment.id)
    assert (saved.name, saved.member_count, saved.rules) == (renamed, 3, segment.rules)
    assert len(member_history(uow(app_data), segment.id)) == 1, "the rules did not change: no second run"


def test_a_change_by_someone_else_meanwhile_is_refused_and_the_input_kept(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    segment = existing(app_data, unique("Umkämpft"))
    at = open_builder(logged_in, Role.MARKETING, segment.id)
    run(at.button(key="segb__next").click())
    run(at.text_input(key="segb__rule_1__value").input(OTHER_TOWN))
    run(at.button(key="segb__next").click())
    update_segment(uow(app_data), segment.id, {"description": "von jemand anderem"}, expected_version=segment.version)
    run(at.button(key="segb__save").click())

    assert any("inzwischen" in e.value for e in at.error)
    assert at.session_state["segb__tree"]["children"][0]["value"] == OTHER_TOWN
    assert get_segment(uow(app_data), segment.id).rules == normalised(group(cond("contact.city", "eq", TOWN)))

    run(at.button(key="segb__reload").click())  # start over from what is stored now
    assert at.text_area(key="segb__description").value == "von jemand anderem"
    run(at.button(key="segb__next").click())
    assert at.text_input(key="segb__rule_1__value").value == TOWN


def test_a_missing_segment_is_named(logged_in: LoggedIn) -> None:
    at = open_builder(logged_in, Role.MARKETING, 999_999)
    assert any("Segment Nr. 999999 gibt es nicht" in w.value for w in at.warning)


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.COMPLIANCE, Role.VIEWER])
def test_roles_without_segments_write_cannot_open_the_builder(logged_in: LoggedIn, role: Role) -> None:
    at = open_builder(logged_in, role)
    assert any("Diese Seite ist für Ihre Rolle nicht freigegeben." in e.value for e in at.error)
    assert not [w for w in at.text_input if w.key == "segb__name"]


def test_the_builder_speaks_english(logged_in: LoggedIn) -> None:
    at = logged_in(Role.ADMIN, lang="en")
    at.switch_page(BUILDER).run()
    assert_clean(at)
    assert at.title[0].value.endswith("New segment")
    at = to_rules_en(at)
    run(at.button(key="segb__rule__add_condition").click())
    assert at.selectbox(key="segb__rule_1__field").format_func("contact.city") == "City · Contact"
    assert at.selectbox(key="segb__rule_1__operator").format_func("contains") == "contains"
    run(at.selectbox(key="segb__rule_1__field").set_value("contact.city"))
    run(at.text_input(key="segb__rule_1__value").input(TOWN))
    assert f"Contacts for whom: City is “{TOWN}”" in texts(at), "the summary speaks the UI's language"
    assert "Kontakte, für die gilt" not in texts(at)


def to_rules_en(at: AppTest) -> AppTest:
    at.text_input(key="segb__name").input(unique("English"))
    return run(at.button(key="segb__next").click())


def test_a_saved_segment_is_offered_to_the_next_rule_at_once(
    logged_in: LoggedIn, app_data: AppData, people: People
) -> None:
    name = unique("Referenz")
    at = to_rules(open_builder(logged_in), name)
    run(at.button(key="segb__rule__add_condition").click())
    run(at.selectbox(key="segb__rule_1__field").set_value("segment"))  # the segment choices are read (and cached)
    assert name not in at.selectbox(key="segb__rule_1__value").options
    run(at.selectbox(key="segb__rule_1__field").set_value("contact.city"))
    run(at.text_input(key="segb__rule_1__value").input(TOWN))
    run(at.button(key="segb__next").click())
    run(at.button(key="segb__save").click())
    saved = int(at.query_params["id"])

    again = to_rules(open_builder(logged_in), unique("Mit Referenz"))
    run(again.button(key="segb__rule__add_condition").click())
    run(again.selectbox(key="segb__rule_1__field").set_value("segment"))
    assert name in again.selectbox(key="segb__rule_1__value").options
    run(again.selectbox(key="segb__rule_1__value").set_value(saved))
    assert count_shown(again) == "3", "the new segment's three stored members"
