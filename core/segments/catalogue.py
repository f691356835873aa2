"""The condition catalogue: every field a segment rule may test, its operators and how it becomes SQL.

A module adds its conditions with `register_condition(ConditionSpec(...))` (the built-ins are in
core/segments/conditions.py). A spec names a value kind; the kind fixes which operators exist, what input each
operator takes (`Shape`) and how one value is checked and normalised. `compile(ctx, condition)` returns a
two-valued SQL condition over `contacts.id` (never NULL: a NULL column must yield FALSE, so that NOT of a
group is exactly the complement of the group).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from core.formatting import DISPLAY_TZ
from core.sales.pricing import to_decimal

if TYPE_CHECKING:
    from core.segments.rules import Condition

MAX_TEXT = 200
MAX_LIST = 1000
MAX_AMOUNT = 3650
UNITS: dict[str, tuple[str, str]] = {"days": ("Tage", "days"), "months": ("Monate", "months")}


class Shape(Enum):
    """The inputs an operator takes besides the field."""

    NONE = "none"  # ist leer
    ONE = "one"  # ist X
    TWO = "two"  # zwischen X und Y
    LIST = "list"  # in Liste [X, Y, …]
    PERIOD = "period"  # in den letzten N Tagen
    ONE_PERIOD = "one_period"  # Kampagne X in den letzten N Tagen
    PAIR = "pair"  # Kanal X × Zweck Y


@dataclass(frozen=True)
class Operator:
    key: str
    label_de: str
    label_en: str
    shape: Shape
    units: tuple[str, ...] = ("days", "months")
    amounts: tuple[int, int] = (1, MAX_AMOUNT)


class RuleError(ValueError):
    """A condition that does not fit the catalogue; the message is German and names no path (the caller adds it)."""


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class ValueKind:
    """A type of value with its operators; `parse` checks one value and returns it JSON-ready."""

    key: str
    operators: tuple[Operator, ...]
    parse: Parser

    @cached_property
    def by_key(self) -> dict[str, Operator]:
        return {op.key: op for op in self.operators}


@dataclass(frozen=True)
class CompileContext:
    """What a condition's SQL may depend on: the session (e.g. to look up a consent purpose) and the moment the
    rules are evaluated at. Relative dates count from `at`; calendar days are those of Europe/Berlin.

    `audience` is a condition on contacts that every matching contact is known to meet (the other conditions of the
    AND groups around this one). A condition whose set is expensive to build over all contacts (`narrows=True`, e.g.
    the consent gate) may build it only within the audience: the result is the same, since contacts outside the
    audience are not matched anyway. For its `confined` operators the SQL matches only audience members, so the
    compiler leaves the sibling conditions out of the outer query (they are already applied inside).

    `scope` is set when the caller asks about a few known contacts only (why one contact is a member, the contacts
    touched since the last run) and restricts the outer query to them: every set a condition builds over all
    contacts or companies is then built for these contacts alone (the scope is part of the audience too).
    """

    session: Session
    at: dt.datetime
    audience: ColumnElement[bool] | None = None
    scope: ColumnElement[bool] | None = None

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    @property
    def today(self) -> dt.date:
        return self.at.astimezone(DISPLAY_TZ).date()


Compiler = Callable[[CompileContext, "Condition"], ColumnElement[bool]]
Choice = tuple[Any, str]
ChoicesLoader = Callable[[Session], list[Choice]]


@dataclass(frozen=True)
class ConditionSpec:
    """One catalogue entry. `operators` narrows the kind's operators (default: all of them); `choices` are the
    allowed values when they are fixed (checked on validation), `choices_loader` lists values for the builder
    from the database (not checked: the rows may change)."""

    key: str
    label_de: str
    label_en: str
    group_label: str
    value_kind: str
    compile: Compiler
    operators: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    choices_loader: ChoicesLoader | None = None
    value_parser: Parser | None = None
    value2_parser: Parser | None = None
    period_required: bool = False
    group_label_en: str = ""
    narrows: bool = False
    confined: tuple[str, ...] = ()

    @property
    def kind(self) -> ValueKind:
        return VALUE_KINDS[self.value_kind]

    @property
    def allowed_operators(self) -> tuple[Operator, ...]:
        ops = self.kind.operators
        return tuple(op for op in ops if op.key in self.operators) if self.operators else ops

    def operator(self, key: str) -> Operator | None:
        return next((op for op in self.allowed_operators if op.key == key), None)

    def load_choices(self, session: Session) -> list[Choice]:
        return list(self.choices) if self.choices_loader is None else self.choices_loader(session)

    def parse_value(self, raw: Any) -> Any:
        value = (self.value_parser or self.kind.parse)(raw)
        keys = [key for key, _ in self.choices]
        if keys and value not in keys:
            raise RuleError(f"„{raw}“ ist kein erlaubter Wert (erlaubt: {', '.join(str(k) for k in keys)})")
        return value


CATALOGUE: dict[str, ConditionSpec] = {}
VALUE_KINDS: dict[str, ValueKind] = {}


def register_value_kind(kind: ValueKind) -> ValueKind:
    if kind.key in VALUE_KINDS and VALUE_KINDS[kind.key] is not kind:
        raise ValueError(f"value kind {kind.key!r} registered twice")
    VALUE_KINDS[kind.key] = kind
    return kind


def register_condition(spec: ConditionSpec) -> ConditionSpec:
    """Add a condition to the catalogue (once per key; its kind and operators must exist)."""
    if spec.key in CATALOGUE:
        raise ValueError(f"segment condition {spec.key!r} registered twice")
    if spec.value_kind not in VALUE_KINDS:
        raise ValueError(f"{spec.key}: unknown value kind {spec.value_kind!r}")
    unknown = set(spec.operators) - set(VALUE_KINDS[spec.value_kind].by_key)
    if unknown:
        raise ValueError(f"{spec.key}: operators {sorted(unknown)} do not exist for {spec.value_kind!r}")
    CATALOGUE[spec.key] = spec
    return spec


def catalogue() -> dict[str, ConditionSpec]:
    """Every registered condition (all capabilities loaded)."""
    from core.capabilities import load_all  # capability packages import this module: load them lazily

    load_all()
    return CATALOGUE


# --- value parsers: one raw JSON value → normalised JSON value, or RuleError with a German message ---------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError("braucht einen Text")
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise RuleError(f"Text ist zu lang (höchstens {MAX_TEXT} Zeichen)")
    return text


def parse_number(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise RuleError(f"„{raw}“ ist keine Zahl")
    number = to_decimal(raw)
    if not isinstance(number, Decimal) or not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise RuleError(f"„{raw}“ ist keine Zahl")
    return int(number) if number == number.to_integral_value() else float(number)


def parse_money(raw: Any) -> str:
    """A money amount as a string with two decimals (JSON numbers would lose cents)."""
    if isinstance(raw, bool):
        raise RuleError(f"„{raw}“ ist kein Betrag")
    amount = to_decimal(raw)
    if not isinstance(amount, Decimal) or not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise RuleError(f"„{raw}“ ist kein Betrag")
    return str(amount.quantize(Decimal("0.01")))


def parse_date(raw: Any) -> str:
    """A calendar date as ISO text; accepts 2026-11-25 and 25.11.2026."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw.isoformat()
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text).isoformat()
        german = _GERMAN_DATE.match(text)
        if german:
            day, month, year = (int(part) for part in german.groups())
            return dt.date(year, month, day).isoformat()
    except ValueError:
        pass
    raise RuleError(f"„{raw}“ ist kein gültiges Datum (TT.MM.JJJJ)")


def parse_key(raw: Any) -> str | int:
    """A choice's key: text or a whole number (ids)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return parse_text(raw)


def parse_id(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise RuleError(f"„{raw}“ ist keine gültige Nummer")
    return raw


def parse_tag(raw: Any) -> str:
    tag = parse_text(raw)
    if len(tag) > 50:
        raise RuleError("Schlagwort ist zu lang (höchstens 50 Zeichen)")
    return tag


def parse_nothing(raw: Any) -> None:
    raise RuleError("nimmt keinen Wert")


# --- operators and value kinds --------------------------------------------------------------------------------------

EMPTY = Operator("empty", "ist leer", "is empty", Shape.NONE)
NOT_EMPTY = Operator("not_empty", "ist nicht leer", "is not empty", Shape.NONE)


def _ops(*specs: tuple[str, str, str, Shape]) -> tuple[Operator, ...]:
    return tuple(Operator(*spec) for spec in specs)


TEXT_OPERATORS = (
    *_ops(
        ("eq", "ist", "is", Shape.ONE),
        ("ne", "ist nicht", "is not", Shape.ONE),
        ("contains", "enthält", "contains", Shape.ONE),
        ("starts_with", "beginnt mit", "starts with", Shape.ONE),
        ("in", "in Liste", "in list", Shape.LIST),
    ),
    EMPTY,
    NOT_EMPTY,
)
CHOICE_OPERATORS = (
    *_ops(
        ("eq", "ist", "is", Shape.ONE),
        ("ne", "ist nicht", "is not", Shape.ONE),
        ("in", "in Liste", "in list", Shape.LIST),
    ),
    EMPTY,
    NOT_EMPTY,
)
COMPARISONS = _ops(
    ("eq", "=", "=", Shape.ONE),
    ("ne", "≠", "≠", Shape.ONE),
    ("lt", "<", "<", Shape.ONE),
    ("gt", ">", ">", Shape.ONE),
    ("between", "zwischen", "between", Shape.TWO),
)
DATE_OPERATORS = (
    *_ops(
        ("before", "vor", "before", Shape.ONE),
        ("after", "nach", "after", Shape.ONE),
        ("on", "am", "on", Shape.ONE),
        ("between", "zwischen", "between", Shape.TWO),
        ("in_last", "in den letzten", "in the last", Shape.PERIOD),
        ("in_next", "in den nächsten", "in the next", Shape.PERIOD),
    ),
    # 0 days: the anniversary is today.
    Operator(
        "anniversary_next", "Jahrestag in den nächsten", "anniversary in the next", Shape.PERIOD, ("days",), (0, 366)
    ),
    EMPTY,
    NOT_EMPTY,
)

for _kind in (
    ValueKind("text", TEXT_OPERATORS, parse_text),
    ValueKind("choice", CHOICE_OPERATORS, parse_key),
    ValueKind("number", (*COMPARISONS, EMPTY, NOT_EMPTY), parse_number),
    ValueKind("money", COMPARISONS, parse_money),
    ValueKind("date", DATE_OPERATORS, parse_date),
    ValueKind(
        "bool",
        _ops(("is_true", "trifft zu", "is true", Shape.NONE), ("is_false", "trifft nicht zu", "is false", Shape.NONE)),
        parse_nothing,
    ),
    ValueKind(
        "tags",
        _ops(
            ("any_of", "hat eines von", "has any of", Shape.LIST),
            ("all_of", "hat alle", "has all of", Shape.LIST),
            ("none_of", "hat keines von", "has none of", Shape.LIST),
        ),
        parse_tag,
    ),
    ValueKind(
        "related",
        _ops(
            ("any_in", "mindestens eine in", "at least one in", Shape.LIST),
            ("none_in", "keine in", "none in", Shape.LIST),
        ),
        parse_key,
    ),
    ValueKind(
        "behaviour",
        _ops(
            ("ever", "jemals", "ever", Shape.ONE),
            ("never", "nie", "never", Shape.ONE),
            ("within", "in den letzten", "in the last", Shape.ONE_PERIOD),
            ("not_within", "nicht in den letzten", "not in the last", Shape.ONE_PERIOD),
        ),
        parse_key,
    ),
    ValueKind(
        "consent",
        _ops(
            ("allowed", "erlaubt", "allowed", Shape.PAIR), ("not_allowed", "nicht erlaubt", "not allowed", Shape.PAIR)
        ),
        parse_key,
    ),
    ValueKind(
        "segment",
        _ops(
            ("member", "ist Mitglied", "is a member", Shape.ONE),
            ("not_member", "ist nicht Mitglied", "is not a member", Shape.ONE),
        ),
        parse_id,
    ),
):
    register_value_kind(_kind)
