"""The segment rule tree: nested AND/OR groups (each may be negated) of conditions from the catalogue.

    {"type": "group", "op": "and", "negate": false, "children": [
        {"type": "condition", "field": "contact.city", "operator": "eq", "value": "Köln"},
        {"type": "group", "op": "or", "negate": false, "children": [...]}]}

`parse_rules(data)` checks the structure (pydantic) and every condition against the catalogue and returns the
normalised tree; every problem is reported with its place in German ("Bedingung 2.1: Operator „zwischen“ braucht
zwei Werte"): conditions and groups are numbered from 1 inside their group, the path joins the numbers.
An empty AND group matches every contact, an empty OR group none. Users never write SQL: the tree only names
catalogue keys, and values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ValidationFailed
from core.segments.catalogue import MAX_AMOUNT, MAX_LIST, UNITS, ConditionSpec, Operator, RuleError, Shape, catalogue
from core.validation import field_messages

MAX_DEPTH = 6
MAX_CONDITIONS = 50
ROOT = "Regel"


class Condition(BaseModel):
    """One test: `field` (catalogue key) `operator` `value` [`value2`] [in the last `amount` `unit`]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["condition"] = "condition"
    field: str = Field(min_length=1, max_length=80)
    operator: str = Field(min_length=1, max_length=40)
    value: Any = None
    value2: Any = None
    amount: int | None = None
    unit: Literal["days", "months"] | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class Group(BaseModel):
    """Children combined with AND or OR; `negate` turns the group into its complement (NOT)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["group"] = "group"
    op: Literal["and", "or"] = "and"
    negate: bool = False
    children: list[Annotated[Group | Condition, Field(discriminator="type")]] = Field(default_factory=list)


Node = Group | Condition


def parse_rules(data: Group | Mapping[str, Any]) -> Group:
    """The validated, normalised tree; ValidationFailed maps each place ("2.1", or "regel") to its German message."""
    if isinstance(data, Group):
        data = data.model_dump()
    if not isinstance(data, Mapping):
        _fail({"regel": f"{ROOT}: muss ein JSON-Objekt (eine Gruppe) sein"})
    _check_limits(data)
    try:
        tree = Group.model_validate(data)
    except ValidationError as exc:
        _fail(_structure_errors(exc))
    errors: dict[str, str] = {}
    normalised = _check_group(tree, (), errors)
    if errors:
        _fail(errors)
    return normalised


def walk(tree: Group, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Node]]:
    """Every node below `tree` with its path (1-based positions), depth first in order."""
    for position, child in enumerate(tree.children, start=1):
        here = (*path, position)
        yield here, child
        if isinstance(child, Group):
            yield from walk(child, here)


def conditions(tree: Group) -> list[Condition]:
    return [node for _, node in walk(tree) if isinstance(node, Condition)]


def schema() -> dict[str, Any]:
    """JSON Schema of the rule tree, with the catalogue's fields and every operator as enumerations."""
    result = Group.model_json_schema()
    specs = catalogue()
    condition = result["$defs"]["Condition"]["properties"]
    condition["field"]["enum"] = sorted(specs)
    condition["operator"]["enum"] = sorted({op.key for spec in specs.values() for op in spec.allowed_operators})
    result["title"] = "Segmentregel"
    result["description"] = (
        "Verschachtelte UND/ODER-Gruppen (negate = NICHT) aus Bedingungen des Katalogs; "
        f"höchstens {MAX_DEPTH} Gruppenebenen und {MAX_CONDITIONS} Bedingungen. Beschreibung: docs/segments.md."
    )
    return result


def label(path: tuple[int, ...], node: Node | None = None) -> str:
    """ "Bedingung 2.1", "Gruppe 3" or "Regel" (the root group)."""
    if not path:
        return ROOT
    noun = "Gruppe" if isinstance(node, Group) else "Bedingung"
    return f"{noun} {'.'.join(str(p) for p in path)}"


# --- checks --------------------------------------------------------------------------------------------------------


def _fail(errors: dict[str, str]) -> Any:
    raise ValidationFailed(errors, "; ".join(errors.values()))


def _check_limits(data: Mapping[str, Any]) -> None:
    """Depth and size before pydantic sees the data (a hostile document must not recurse deeply)."""
    depth, count, stack = 0, 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, Mapping) or node.get("type") != "group":
            count += 1
            continue
        depth = max(depth, level)
        children = node.get("children")
        if isinstance(children, list):
            stack.extend((child, level + 1) for child in children)
    if depth > MAX_DEPTH:
        _fail({"regel": f"{ROOT}: höchstens {MAX_DEPTH} Gruppenebenen (hier {depth})"})
    if count > MAX_CONDITIONS:
        _fail({"regel": f"{ROOT}: höchstens {MAX_CONDITIONS} Bedingungen (hier {count})"})


_NOUNS = {"group": "Gruppe", "condition": "Bedingung", None: "Eintrag"}


def _structure_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        path, tag, attribute = _location(error["loc"])
        key = ".".join(str(p) for p in path) or "regel"
        place = f"{_NOUNS[tag]} {key}" if path else ROOT
        if error["type"] == "union_tag_invalid":
            message = "„type“ muss „group“ oder „condition“ sein"
        elif error["type"] == "union_tag_not_found":
            message = "„type“ fehlt (group oder condition)"
        else:
            message = next(iter(field_messages([{**error, "loc": ()}]).values()))
            message = f"{attribute}: {message}" if attribute else message
        errors.setdefault(key, f"{place}: {message}")
    return errors


def _location(loc: tuple[Any, ...]) -> tuple[list[int], str | None, str]:
    """(1-based path, "group"/"condition"/None, offending attribute) of a pydantic error location such as
    ('children', 1, 'condition', 'operator')."""
    path: list[int] = []
    tag: str | None = None
    attribute = ""
    items = list(loc)
    index = 0
    while index < len(items):
        item = items[index]
        if item == "children" and index + 1 < len(items) and isinstance(items[index + 1], int):
            path.append(items[index + 1] + 1)
            tag, attribute = None, ""
            index += 2
            continue
        if item in ("group", "condition"):
            tag = item
        else:
            attribute = f"„{item}“"
        index += 1
    return path, tag, attribute


def _check_group(group: Group, path: tuple[int, ...], errors: dict[str, str]) -> Group:
    children: list[Node] = []
    for position, child in enumerate(group.children, start=1):
        here = (*path, position)
        if isinstance(child, Group):
            children.append(_check_group(child, here, errors))
            continue
        try:
            children.append(check_condition(child))
        except RuleError as exc:
            errors[".".join(str(p) for p in here)] = f"{label(here, child)}: {exc}"
    return group.model_copy(update={"children": children})


def check_condition(condition: Condition) -> Condition:
    """The condition with normalised values, or RuleError (German, without the path)."""
    spec = catalogue().get(condition.field)
    if spec is None:
        raise RuleError(f"unbekanntes Feld „{condition.field}“")
    operator = spec.operator(condition.operator)
    if operator is None:
        allowed = ", ".join(op.label_de for op in spec.allowed_operators)
        raise RuleError(f"Operator „{condition.operator}“ passt nicht zu „{spec.label_de}“ (erlaubt: {allowed})")
    values = _shape_values(spec, operator, condition)
    if spec.period_required and "amount" not in values:
        values.update(_period(spec, operator, condition, units=tuple(UNITS), amounts=(1, MAX_AMOUNT)))
    if spec.value_kind == "money" or condition.currency is not None:
        values["currency"] = _currency(spec, condition)
    return Condition(field=condition.field, operator=condition.operator, **values)


def _shape_values(spec: ConditionSpec, op: Operator, condition: Condition) -> dict[str, Any]:
    shape = op.shape
    if shape is Shape.NONE:
        _refuse_extra(op, condition, value=True, value2=True, period=not spec.period_required)
        return {}
    if shape is Shape.ONE:
        _refuse_extra(op, condition, value2=True, period=not spec.period_required)
        return {"value": _one(spec, op, condition.value)}
    if shape is Shape.TWO:
        return _two(spec, op, condition)
    if shape is Shape.LIST:
        _refuse_extra(op, condition, value2=True, period=not spec.period_required)
        return {"value": _list(spec, op, condition.value)}
    if shape is Shape.PERIOD:
        _refuse_extra(op, condition, value=True, value2=True)
        return _period(spec, op, condition, units=op.units, amounts=op.amounts)
    if shape is Shape.ONE_PERIOD:
        _refuse_extra(op, condition, value2=True)
        return {
            "value": _one(spec, op, condition.value),
            **_period(spec, op, condition, units=op.units, amounts=op.amounts),
        }
    _refuse_extra(op, condition, period=True)
    return _pair(spec, op, condition)


def _refuse_extra(
    op: Operator, condition: Condition, *, value: bool = False, value2: bool = False, period: bool = False
) -> None:
    extra = [
        name
        for name, refused in (("value", value), ("value2", value2), ("amount", period), ("unit", period))
        if refused and getattr(condition, name) is not None
    ]
    if extra:
        raise RuleError(f"Operator „{op.label_de}“ nimmt kein {', '.join(f'„{name}“' for name in extra)}")


def _one(spec: ConditionSpec, op: Operator, raw: Any) -> Any:
    if raw is None or raw == "":
        raise RuleError(f"Operator „{op.label_de}“ braucht einen Wert")
    if isinstance(raw, (list, dict)):
        raise RuleError(f"Operator „{op.label_de}“ braucht einen einzelnen Wert, keine Liste")
    return spec.parse_value(raw)


def _two(spec: ConditionSpec, op: Operator, condition: Condition) -> dict[str, Any]:
    if condition.value in (None, "") or condition.value2 in (None, ""):
        raise RuleError(f"Operator „{op.label_de}“ braucht zwei Werte")
    if not spec.period_required:
        _refuse_extra(op, condition, period=True)
    low, high = _one(spec, op, condition.value), _one(spec, op, condition.value2)
    if _order_key(spec, low) > _order_key(spec, high):
        raise RuleError(f"Operator „{op.label_de}“: der erste Wert muss kleiner oder gleich dem zweiten sein")
    return {"value": low, "value2": high}


def _order_key(spec: ConditionSpec, value: Any) -> Any:
    return float(value) if spec.value_kind == "money" else value


def _list(spec: ConditionSpec, op: Operator, raw: Any) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise RuleError(f"Operator „{op.label_de}“ braucht eine Liste mit mindestens einem Wert")
    if len(raw) > MAX_LIST:
        raise RuleError(f"Operator „{op.label_de}“: höchstens {MAX_LIST} Werte")
    values = [_one(spec, op, item) for item in raw]
    return list(dict.fromkeys(values))


def _period(
    spec: ConditionSpec, op: Operator, condition: Condition, *, units: tuple[str, ...], amounts: tuple[int, int]
) -> dict[str, Any]:
    names = " oder ".join(UNITS[unit][0] for unit in units)
    amount, unit = condition.amount, condition.unit
    low, high = amounts
    if amount is None or unit is None or not low <= amount <= high or unit not in units:
        what = f"„{spec.label_de}“" if spec.period_required else f"Operator „{op.label_de}“"
        raise RuleError(f"{what} braucht einen Zeitraum: Anzahl ({low}–{high}) und Einheit ({names})")
    return {"amount": amount, "unit": unit}


def _pair(spec: ConditionSpec, op: Operator, condition: Condition) -> dict[str, Any]:
    if condition.value in (None, "") or condition.value2 in (None, ""):
        raise RuleError(f"Operator „{op.label_de}“ braucht zwei Werte")
    first = spec.parse_value(condition.value)
    second = (spec.value2_parser or spec.kind.parse)(condition.value2)
    return {"value": first, "value2": second}


def _currency(spec: ConditionSpec, condition: Condition) -> str:
    if spec.value_kind != "money":
        raise RuleError(f"„{spec.label_de}“ nimmt keine Währung")
    return condition.currency or "EUR"
