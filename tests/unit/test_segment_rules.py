"""Segment rule trees: structure, catalogue checks with German messages naming the place, limits, JSON Schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest

from core.errors import ValidationFailed
from core.segments.catalogue import CATALOGUE, VALUE_KINDS, ConditionSpec, catalogue, register_condition
from core.segments.conditions import ACTIVITY_TYPES, anniversary_days, fold, like_pattern, register_activity_type, shift
from core.segments.rules import MAX_CONDITIONS, MAX_DEPTH, Condition, Group, conditions, parse_rules, schema, walk

NEEDS_PERIOD = "braucht einen Zeitraum: Anzahl (1–3650) und Einheit (Tage oder Monate)"
NEEDS_DAYS = "braucht einen Zeitraum: Anzahl (0–366) und Einheit (Tage)"


def group(*children: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": negate, "children": list(children)}


def cond(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    node = {"type": "condition", "field": field, "operator": operator, **extra}
    if value is not None:
        node["value"] = value
    return node


def errors_of(data: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        parse_rules(data)
    return info.value.fields


def test_a_nested_tree_is_parsed_and_values_are_normalised() -> None:
    tree = parse_rules(
        group(
            cond("contact.city", "eq", "  Köln "),
            group(
                cond("revenue.won", "between", "10.000", value2="20000,5", amount=12, unit="months"),
                cond("contact.birth_date", "before", "31.12.1980"),
                cond("contact.tags", "any_of", ["VIP", "VIP", "Messe"]),
                cond("account.employees", "gt", "1.000"),
                op="or",
                negate=True,
            ),
        )
    )
    city, inner = tree.children
    assert isinstance(city, Condition) and city.value == "Köln"
    assert isinstance(inner, Group) and inner.op == "or" and inner.negate
    revenue, birth, tags, employees = inner.children
    assert isinstance(revenue, Condition)
    assert (revenue.value, revenue.value2, revenue.currency) == ("10000.00", "20000.50", "EUR")
    assert isinstance(birth, Condition) and birth.value == "1980-12-31"
    assert isinstance(tags, Condition) and tags.value == ["VIP", "Messe"]
    assert isinstance(employees, Condition) and employees.value == 1000
    assert [path for path, _ in walk(tree)] == [(1,), (2,), (2, 1), (2, 2), (2, 3), (2, 4)]
    assert len(conditions(tree)) == 5
    assert parse_rules(tree) == tree, "a parsed tree parses to itself (stored JSON round-trips)"
    assert parse_rules(tree.model_dump(mode="json")) == tree


def test_empty_groups_are_valid() -> None:
    tree = parse_rules(group(group(op="or"), group()))
    assert [child.children for child in tree.children] == [[], []]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            group(cond("contact.city", "eq", "Köln"), group(cond("account.employees", "between", 5))),
            {"2.1": "Bedingung 2.1: Operator „zwischen“ braucht zwei Werte"},
        ),
        (group(cond("contact.shoe_size", "eq", "42")), {"1": "Bedingung 1: unbekanntes Feld „contact.shoe_size“"}),
        (
            group(cond("contact.city", "gt", "A")),
            {
                "1": "Bedingung 1: Operator „gt“ passt nicht zu „Ort“ (erlaubt: ist, ist nicht, enthält, beginnt mit, "
                "in Liste, ist leer, ist nicht leer)"
            },
        ),
        (group(cond("account.employees", "lt", "viele")), {"1": "Bedingung 1: „viele“ ist keine Zahl"}),
        (
            group(cond("account.employees", "between", 50, value2=10)),
            {"1": "Bedingung 1: Operator „zwischen“: der erste Wert muss kleiner oder gleich dem zweiten sein"},
        ),
        (
            group(cond("contact.created_at", "after", "31.02.2026")),
            {"1": "Bedingung 1: „31.02.2026“ ist kein gültiges Datum (TT.MM.JJJJ)"},
        ),
        (group(cond("contact.city", "empty", "Köln")), {"1": "Bedingung 1: Operator „ist leer“ nimmt kein „value“"}),
        (group(cond("contact.city", "eq")), {"1": "Bedingung 1: Operator „ist“ braucht einen Wert"}),
        (
            group(cond("contact.city", "eq", ["Köln"])),
            {"1": "Bedingung 1: Operator „ist“ braucht einen einzelnen Wert, keine Liste"},
        ),
        (
            group(cond("contact.city", "in", [])),
            {"1": "Bedingung 1: Operator „in Liste“ braucht eine Liste mit mindestens einem Wert"},
        ),
        (
            group(cond("contact.salutation", "eq", "Dr.")),
            {"1": "Bedingung 1: „Dr.“ ist kein erlaubter Wert (erlaubt: Herr, Frau, Divers)"},
        ),
        (
            group(cond("activity.type", "within", "call")),
            {"1": f"Bedingung 1: Operator „in den letzten“ {NEEDS_PERIOD}"},
        ),
        (
            group(cond("activity.type", "ever", "fax")),
            {
                "1": "Bedingung 1: unbekannte Aktivität „fax“ (erlaubt: email_open, email_click, call, meeting, "
                "web_visit, form, event_registration, event_attendance)"
            },
        ),
        (
            group(cond("revenue.won", "gt", "1000")),
            {"1": f"Bedingung 1: „Gewonnener Umsatz der Firma“ {NEEDS_PERIOD}"},
        ),
        (
            group(cond("contact.birth_date", "anniversary_next", amount=2, unit="months")),
            {"1": f"Bedingung 1: Operator „Jahrestag in den nächsten“ {NEEDS_DAYS}"},
        ),
        (
            group(cond("contact.birth_date", "anniversary_next", amount=400, unit="days")),
            {"1": f"Bedingung 1: Operator „Jahrestag in den nächsten“ {NEEDS_DAYS}"},
        ),
        (
            group(cond("contact.created_at", "in_last", amount=0, unit="days")),
            {"1": f"Bedingung 1: Operator „in den letzten“ {NEEDS_PERIOD}"},
        ),
        (
            group(cond("consent", "allowed", "fax", value2="newsletter")),
            {"1": "Bedingung 1: unbekannter Kanal „fax“ (erlaubt: email, sms, phone, post)"},
        ),
        (group(cond("consent", "allowed", "email")), {"1": "Bedingung 1: Operator „erlaubt“ braucht zwei Werte"}),
        (group(cond("segment", "member", 0)), {"1": "Bedingung 1: „0“ ist keine gültige Nummer"}),
        (group(cond("contact.city", "eq", "Köln", currency="EUR")), {"1": "Bedingung 1: „Ort“ nimmt keine Währung"}),
        (
            group(cond("contact.has_account", "is_true", True)),
            {"1": "Bedingung 1: Operator „trifft zu“ nimmt kein „value“"},
        ),
    ],
)
def test_condition_errors_name_the_place_in_german(data: dict[str, Any], expected: dict[str, str]) -> None:
    assert errors_of(data) == expected


def test_every_bad_condition_is_reported_at_once() -> None:
    data = group(cond("contact.city", "eq", "Köln"), cond("x", "eq", 1), group(cond("account.employees", "gt")))
    assert errors_of(data) == {
        "2": "Bedingung 2: unbekanntes Feld „x“",
        "3.1": "Bedingung 3.1: Operator „>“ braucht einen Wert",
    }
    with pytest.raises(ValidationFailed, match="^Bedingung 2: unbekanntes Feld „x“; Bedingung 3.1"):
        parse_rules(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], {"regel": "Regel: muss ein JSON-Objekt (eine Gruppe) sein"}),
        ({"type": "group", "op": "xor"}, {"regel": "Regel: „op“: ungültiger Wert (erlaubt: 'and' or 'or')"}),
        (group({"type": "rule"}), {"1": "Eintrag 1: „type“ muss „group“ oder „condition“ sein"}),
        (group({"field": "contact.city"}), {"1": "Eintrag 1: „type“ fehlt (group oder condition)"}),
        (group({"type": "condition", "operator": "eq"}), {"1": "Bedingung 1: „field“: Pflichtfeld"}),
        (
            group(group({"type": "group", "negate": "vielleicht"})),
            {"1.1": "Gruppe 1.1: „negate“: muss ja/nein sein (true/false)"},
        ),
        (
            group(cond("contact.city", "eq", "Köln", sql="DROP TABLE contacts")),
            {"1": "Bedingung 1: „sql“: unbekanntes Feld"},
        ),
        (
            group(cond("contact.created_at", "in_last", amount="drei", unit="days")),
            {"1": "Bedingung 1: „amount“: keine ganze Zahl"},
        ),
    ],
)
def test_structure_errors_name_the_place(data: Any, expected: dict[str, str]) -> None:
    assert errors_of(data) == expected


def nested(levels: int) -> dict[str, Any]:
    tree = group(cond("contact.city", "eq", "Köln"))
    for _ in range(levels - 1):
        tree = group(tree)
    return tree


def test_depth_is_limited() -> None:
    assert parse_rules(nested(MAX_DEPTH))
    assert errors_of(nested(MAX_DEPTH + 1)) == {"regel": "Regel: höchstens 6 Gruppenebenen (hier 7)"}


def test_a_hostile_document_is_refused_before_it_is_parsed() -> None:
    assert errors_of(nested(20_000)) == {"regel": "Regel: höchstens 6 Gruppenebenen (hier 20000)"}


def test_the_number_of_conditions_is_limited() -> None:
    many = [cond("contact.city", "eq", f"Ort {i}") for i in range(MAX_CONDITIONS)]
    assert len(conditions(parse_rules(group(*many[:25], group(*many[25:]))))) == MAX_CONDITIONS
    assert errors_of(group(*many, cond("contact.city", "empty"))) == {
        "regel": "Regel: höchstens 50 Bedingungen (hier 51)"
    }


def test_schema_lists_every_field_and_operator_and_validates_documents() -> None:
    document = schema()
    properties = document["$defs"]["Condition"]["properties"]
    assert properties["field"]["enum"] == sorted(catalogue())
    assert {"eq", "between", "in_last", "anniversary_next", "any_of", "allowed", "member"} <= set(
        properties["operator"]["enum"]
    )
    jsonschema.validate(group(cond("contact.city", "eq", "Köln"), group(op="or", negate=True)), document)
    for bad in (group(cond("contact.shoe_size", "eq", "42")), {"type": "group", "children": [{"type": "x"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, document)


def test_every_catalogue_entry_is_complete() -> None:
    for key, spec in catalogue().items():
        assert spec.key == key and spec.label_de and spec.label_en and spec.group_label and spec.group_label_en, key
        assert spec.allowed_operators, key
        assert all(op.label_de and op.label_en for op in spec.allowed_operators), key


def test_a_condition_key_and_operators_are_checked_on_registration() -> None:
    spec = CATALOGUE["contact.city"]
    with pytest.raises(ValueError, match="registered twice"):
        register_condition(spec)
    with pytest.raises(ValueError, match="do not exist"):
        register_condition(ConditionSpec("probe.x", "x", "x", "x", "text", spec.compile, operators=("gt",)))
    with pytest.raises(ValueError, match="unknown value kind"):
        register_condition(ConditionSpec("probe.y", "y", "y", "y", "colour", spec.compile))
    assert "probe.x" not in CATALOGUE and "probe.y" not in CATALOGUE and "colour" not in VALUE_KINDS


def test_a_module_adds_activity_types() -> None:
    rules = group(cond("activity.type", "ever", "webinar"))
    assert "1" in errors_of(rules)
    register_activity_type("webinar", "Webinar besucht", "Webinar attended")
    try:
        assert parse_rules(rules).children[0].value == "webinar"  # type: ignore[union-attr]
    finally:
        del ACTIVITY_TYPES["webinar"]


def test_folding_covers_ascii_and_german_umlauts_only() -> None:
    assert fold("ÄRZTE Über ÖL straße ẞ É") == "ärzte über öl straße ẞ É"


def test_like_prefilter_patterns_escape_and_let_every_umlaut_through() -> None:
    assert like_pattern("Köln") == "k_ln"
    assert like_pattern("50% ÜBER_x\\") == "50\\% _ber\\_x\\\\"


def test_periods_clamp_month_ends() -> None:
    assert shift(dt.date(2026, 3, 31), -1, "months") == dt.date(2026, 2, 28)
    assert shift(dt.date(2026, 11, 25), 10, "days") == dt.date(2026, 12, 5)
    moment = dt.datetime(2026, 5, 31, 9, 30, tzinfo=dt.timezone.utc)
    assert shift(moment, -3, "months") == dt.datetime(2026, 2, 28, 9, 30, tzinfo=dt.timezone.utc)


def test_anniversaries_wrap_the_year_and_place_29_february_on_the_28th() -> None:
    assert anniversary_days(dt.date(2026, 12, 30), 3) == ["01-01", "01-02", "12-30", "12-31"]
    assert "02-29" in anniversary_days(dt.date(2027, 2, 27), 1)
    assert anniversary_days(dt.date(2028, 2, 28), 0) == ["02-28"], "in a leap year 29 February is its own day"
    assert len(anniversary_days(dt.date(2026, 1, 1), 366)) == 366, "every day of the year, 29 February included"
