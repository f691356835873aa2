"""The segment rule tree editor: nested AND/OR groups (each may be negated) of catalogue conditions.

The tree lives in `st.session_state[tree_key]` as the JSON the compiler takes (core/segments/rules.py); it is the
only source of truth. Widget keys follow the node's path (`<ns>__rule_2_1__operator`); each widget writes its value
back into the tree in its on_change callback, and every change of the tree's shape (add, remove) forgets the
editor's widget state, so each widget is drawn again from the tree. Validation is core's `parse_rules`; its German
messages (keyed by path, "2.1") are shown next to the condition they concern.

The live preview beside the editor (count, first members, plain-language summary) and the values offered per field
are cached reads of core.segments.service, keyed by the canonical JSON of the validated tree and the minute.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import streamlit as st

from app.components import context
from app.components.i18n import current_lang, t
from core.consent.vocabulary import CHANNELS
from core.errors import ValidationFailed
from core.permissions import Actor
from core.sales.opportunities import CURRENCIES
from core.segments.catalogue import MAX_AMOUNT, UNITS, ConditionSpec, Operator, Shape, catalogue
from core.segments.compiler import SampleMember
from core.segments.rules import MAX_CONDITIONS, MAX_DEPTH, Group, parse_rules
from core.segments.service import condition_choices, count_preview, rules_summary, sample_preview
from core.uow import UnitOfWork

Path = tuple[int, ...]
Tree = dict[str, Any]
Choice = tuple[Any, str]
ChoicesOf = Callable[[str], Sequence[Choice]]

DEFAULT_PERIOD = (30, "days")
REVENUE_PERIOD = (12, "months")
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")
# Kinds whose single value is picked from the catalogue's choices (the others are typed).
PICKED = ("choice", "behaviour", "segment")


# --- the tree (pure functions on the JSON) --------------------------------------------------------------------------


def empty_group(op: str = "and") -> Tree:
    return {"type": "group", "op": op, "negate": False, "children": []}


def node_at(tree: Tree, path: Path) -> Tree:
    node = tree
    for position in path:
        node = node["children"][position - 1]
    return node


def ordered_fields() -> list[str]:
    """Catalogue keys grouped by category, categories in the order they were registered."""
    specs = catalogue()
    groups = list(dict.fromkeys(spec.group_label for spec in specs.values()))
    return sorted(specs, key=lambda key: groups.index(specs[key].group_label))


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _with_period(
    result: Tree, old: Mapping[str, Any], units: Sequence[str], amounts: tuple[int, int], default: tuple[int, str]
) -> None:
    amount, unit = old.get("amount"), old.get("unit")
    low, high = amounts
    fallback_amount = default[0] if low <= default[0] <= high else low
    result["amount"] = amount if isinstance(amount, int) and low <= amount <= high else fallback_amount
    result["unit"] = unit if unit in units else (default[1] if default[1] in units else units[0])


def conform(condition: Mapping[str, Any], spec: ConditionSpec, op: Operator) -> Tree:
    """`condition` with operator `op` and exactly the inputs its shape takes: values that fit are kept, a period
    gets 30 days (won revenue 12 months), money EUR; everything else starts empty."""
    old = dict(condition)
    result: Tree = {"type": "condition", "field": spec.key, "operator": op.key}
    value = old.get("value")
    if op.shape in (Shape.ONE, Shape.ONE_PERIOD):
        result["value"] = _scalar(value)
    elif op.shape is Shape.LIST:
        result["value"] = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    elif op.shape in (Shape.TWO, Shape.PAIR):
        result["value"], result["value2"] = _scalar(value), old.get("value2")
    if op.shape in (Shape.PERIOD, Shape.ONE_PERIOD):
        _with_period(result, old, op.units, op.amounts, DEFAULT_PERIOD)
    if spec.period_required:
        _with_period(result, old, tuple(UNITS), (1, MAX_AMOUNT), REVENUE_PERIOD)
    if spec.value_kind == "money":
        result["currency"] = old.get("currency") or "EUR"
    return result


def new_condition(spec: ConditionSpec) -> Tree:
    return conform({}, spec, spec.allowed_operators[0])


def add_condition(tree: Tree, path: Path) -> None:
    node_at(tree, path)["children"].append(new_condition(catalogue()[ordered_fields()[0]]))


def add_group(tree: Tree, path: Path) -> None:
    """A subgroup with one condition to fill; it combines the other way than its parent (OR under AND), which is
    what a subgroup is usually for."""
    parent = node_at(tree, path)
    group = empty_group("or" if parent["op"] == "and" else "and")
    parent["children"].append(group)
    add_condition(tree, (*path, len(parent["children"])))


def remove_node(tree: Tree, path: Path) -> None:
    del node_at(tree, path[:-1])["children"][path[-1] - 1]


def count_conditions(tree: Tree) -> int:
    return sum(count_conditions(c) if c.get("type") == "group" else 1 for c in tree.get("children", []))


def may_nest(path: Path) -> bool:
    """Whether the group at `path` may get a subgroup (the root group is level 1)."""
    return len(path) + 2 <= MAX_DEPTH


def check(tree: Tree) -> tuple[Group | None, dict[str, str]]:
    """(the validated tree, {}) or (None, German messages by path: "2.1", or "regel" for the whole rule)."""
    try:
        return parse_rules(tree), {}
    except ValidationFailed as exc:
        return None, dict(exc.fields)


def path_label(path: Path) -> str:
    return ".".join(str(p) for p in path)


def plain_markdown(text: str) -> str:
    """Text shown as typed inside markdown (values such as „A*B [GmbH]“ stay literal)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def own_message(message: str) -> str:
    """A message without its leading place („Bedingung 2.1: …“), for showing it right at that place."""
    head, separator, rest = message.partition(": ")
    return rest if separator and head.split(" ")[0] in ("Bedingung", "Gruppe") else message


# --- live preview: count, sample and summary of a valid tree (cached reads) -----------------------------------------

SAMPLE_SIZE = 8
PREVIEW_TTL, CHOICES_TTL = 30, 60


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[SampleMember]
    summary: str


def _uow_at(url: str, actor: Actor, at: dt.datetime) -> UnitOfWork:
    return UnitOfWork(context.factory_for(url), actor=actor, clock=lambda: at)


@st.cache_data(ttl=PREVIEW_TTL, max_entries=200, show_spinner=False)
def _members(url: str, actor: Actor, canonical: str, at: dt.datetime) -> tuple[int, list[SampleMember]]:
    rules = json.loads(canonical)
    count = count_preview(_uow_at(url, actor, at), rules, at=at)
    return count, sample_preview(_uow_at(url, actor, at), rules, limit=SAMPLE_SIZE, at=at)


@st.cache_data(ttl=PREVIEW_TTL, max_entries=200, show_spinner=False)
def _summary(url: str, actor: Actor, canonical: str, lang: str) -> str:
    """Cached apart from the count: switching the language rewords the rules without counting again."""
    return rules_summary(UnitOfWork(context.factory_for(url), actor=actor), json.loads(canonical), lang=lang)


@st.cache_data(ttl=CHOICES_TTL, max_entries=200, show_spinner=False)
def _choices(url: str, actor: Actor, field: str) -> list[Choice]:
    return condition_choices(UnitOfWork(context.factory_for(url), actor=actor), field)


def canonical_json(tree: Group) -> str:
    """The normalised tree as the cache key: the same rules give the same text however they were entered."""
    data = tree.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def preview_of(tree: Group) -> Preview:
    """Count, first members and summary of a validated tree now (the session's clock, to the minute)."""
    minute = context.clock()().replace(second=0, microsecond=0)
    url, actor, canonical = context.database_url(), context.current_actor(), canonical_json(tree)
    count, sample = _members(url, actor, canonical, minute)
    return Preview(count=count, sample=sample, summary=_summary(url, actor, canonical, current_lang()))


def choices_of(field: str) -> list[Choice]:
    return _choices(context.database_url(), context.current_actor(), field)


def clear_previews() -> None:
    """After a save: counts and offered values (e.g. the segments to reference) are read afresh."""
    _members.clear()
    _summary.clear()
    _choices.clear()


# --- widget values ↔ JSON values -------------------------------------------------------------------------------------


def _number_in(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(Decimal(str(value)))
    except ArithmeticError:
        return None


def _number_out(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _money_out(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _date_in(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _date_out(value: dt.date | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else None


def _keep(value: Any) -> Any:
    return value


def _text_out(value: str | None) -> str:
    return value or ""


def _list_out(value: list[Any] | None) -> list[Any]:
    return list(value or [])


# --- the editor ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One value widget of a condition: which attribute it edits and how it looks."""

    attr: str
    kind: str  # text, number, money, date, date_range, select, multi
    label: str
    options: Sequence[Any] = ()
    labels: Mapping[Any, str] = field(default_factory=dict)
    new_options: bool = False
    weight: float = 2.0
    placeholder: str | None = None
    show_label: bool = False  # the row's inputs align at the bottom, so a visible label only adds height


@dataclass(frozen=True)
class RuleEditor:
    """Draws the tree kept under `tree_key`; `choices(field)` lists the values offered for a field (a cached read),
    `errors` are parse_rules' messages by path, `own_segment` is left out of the segment choices (edit mode)."""

    ns: str
    tree_key: str
    choices: ChoicesOf
    errors: Mapping[str, str]
    own_segment: int | None = None

    # keys and state ---------------------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        return f"{self.ns}__rule"

    def key(self, path: Path, attr: str) -> str:
        return f"{self.prefix}{''.join(f'_{p}' for p in path)}__{attr}"

    @property
    def tree(self) -> Tree:
        return st.session_state[self.tree_key]

    def forget_widgets(self, path: Path | None = None) -> None:
        """Drop the widget state of the node at `path` (all nodes when None): its widgets are drawn from the tree."""
        prefix = self.prefix if path is None else self.key(path, "")
        for key in [k for k in st.session_state if str(k).startswith(prefix)]:
            del st.session_state[key]

    def _init(self, key: str, value: Any) -> str:
        if key not in st.session_state:
            st.session_state[key] = value
        return key

    # callbacks --------------------------------------------------------------------------------------------------
    def _store(self, path: Path, attr: str, key: str, convert: Callable[[Any], Any]) -> None:
        node_at(self.tree, path)[attr] = convert(st.session_state[key])

    def _store_range(self, path: Path, key: str) -> None:
        picked = list(st.session_state[key] or ())
        node = node_at(self.tree, path)
        node["value"] = _date_out(picked[0]) if picked else None
        node["value2"] = _date_out(picked[1]) if len(picked) > 1 else None

    def _field_changed(self, path: Path, key: str) -> None:
        self.tree_replace(path, new_condition(catalogue()[st.session_state[key]]))
        self.forget_widgets(path)

    def _operator_changed(self, path: Path, key: str) -> None:
        node = node_at(self.tree, path)
        spec = catalogue()[node["field"]]
        op = spec.operator(st.session_state[key])
        if op is not None:
            self.tree_replace(path, conform(node, spec, op))
        self.forget_widgets(path)

    def tree_replace(self, path: Path, node: Tree) -> None:
        node_at(self.tree, path[:-1])["children"][path[-1] - 1] = node

    def _reshape(self, change: Callable[[Tree, Path], None], path: Path) -> None:
        change(self.tree, path)
        self.forget_widgets()

    # drawing ----------------------------------------------------------------------------------------------------
    def render(self) -> None:
        root_error = self.errors.get("regel")
        if root_error:
            st.error(root_error, icon=":material/error:")
        self._group((), self.tree)

    def _group(self, path: Path, group: Tree) -> None:
        with st.container(border=True, key=self.key(path, "box")):
            self._group_header(path, group)
            if group.get("negate"):
                st.caption(f":material/block: {t('segb.negated')}")
            children = group.get("children", [])
            if not children:
                st.caption(t("segb.empty_and" if group.get("op") == "and" else "segb.empty_or"))
            for position, child in enumerate(children, start=1):
                here = (*path, position)
                if child.get("type") == "group":
                    self._group(here, child)
                else:
                    self._condition(here, child)
            self._group_actions(path)

    def _group_header(self, path: Path, group: Tree) -> None:
        title = t("segb.rules") if not path else t("segb.group", path=path_label(path))
        with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
            st.markdown(f"**{title}**", width="content")
            op_key = self._init(self.key(path, "op"), group.get("op", "and"))
            ops = {"and": t("segb.group_all"), "or": t("segb.group_any")}
            st.segmented_control(
                t("segb.group_match"),
                list(ops),
                format_func=ops.__getitem__,
                key=op_key,
                required=True,
                label_visibility="collapsed",
                on_change=self._store,
                args=(path, "op", op_key, _keep),
            )
            negate_key = self._init(self.key(path, "negate"), bool(group.get("negate")))
            st.toggle(
                t("segb.negate"),
                key=negate_key,
                help=t("segb.negate_help"),
                on_change=self._store,
                args=(path, "negate", negate_key, bool),
            )
            if path:
                st.space("stretch")
                st.button(
                    "",
                    key=self.key(path, "remove"),
                    icon=":material/delete:",
                    help=t("segb.remove_group"),
                    on_click=self._reshape,
                    args=(remove_node, path),
                )
        message = self.errors.get(path_label(path)) if path else None
        if message:
            st.markdown(f":red[:material/error: {own_message(message)}]")

    def _group_actions(self, path: Path) -> None:
        full = count_conditions(self.tree) >= MAX_CONDITIONS
        nest = may_nest(path)
        with st.container(horizontal=True, vertical_alignment="center"):
            st.button(
                t("segb.add_condition"),
                key=self.key(path, "add_condition"),
                icon=":material/add:",
                help=t("segb.add_condition_help"),
                disabled=full,
                on_click=self._reshape,
                args=(add_condition, path),
                width="content",
            )
            st.button(
                t("segb.add_group"),
                key=self.key(path, "add_group"),
                icon=":material/add_box:",
                help=t("segb.add_group_help") if nest else t("segb.max_depth", n=MAX_DEPTH),
                disabled=full or not nest,
                on_click=self._reshape,
                args=(add_group, path),
                width="content",
            )
            if full:
                st.caption(t("segb.max_conditions", n=MAX_CONDITIONS))

    def _condition(self, path: Path, node: Tree) -> None:
        """Field, comparison and values in one row; more than two value widgets, or a list of values, go on a
        second, indented row (a narrow editor column cannot fit seven widgets, and a list grows)."""
        spec = catalogue().get(node.get("field", ""))
        op = spec.operator(node.get("operator", "")) if spec else None
        inputs = self._inputs(spec, op) if spec and op else []
        wide = len(inputs) > 2 or any(i.kind == "multi" for i in inputs)
        if wide:
            weights = [4.4, 3.0, 3.0, 0.5]
        else:
            weights = [3.4, 2.0, *([i.weight for i in inputs] or [4.0]), 0.5]
        cells = st.columns(weights, vertical_alignment="bottom")
        self._field_picker(cells[0], path, spec)
        if spec is not None:
            self._operator_picker(cells[1], path, spec, op)
        if not wide:
            self._draw_inputs(cells[2:-1], path, node, inputs)
        cells[-1].button(
            "",
            key=self.key(path, "remove"),
            icon=":material/close:",
            help=t("segb.remove"),
            on_click=self._reshape,
            args=(remove_node, path),
        )
        if wide:
            row = st.columns([0.6, *[i.weight for i in inputs]], vertical_alignment="bottom")
            self._draw_inputs(row[1:], path, node, inputs)
        message = self.errors.get(path_label(path))
        if message:
            st.markdown(f":red[:material/error: {own_message(message)}]")

    def _draw_inputs(self, cells: Sequence[Any], path: Path, node: Tree, inputs: Sequence[Input]) -> None:
        for cell, spec_input in zip(cells, inputs):
            with cell:
                self._input(path, node, spec_input)

    def _field_picker(self, cell: Any, path: Path, spec: ConditionSpec | None) -> None:
        specs = catalogue()
        en = current_lang() == "en"
        options = ordered_fields()
        key = self._init(self.key(path, "field"), spec.key if spec else None)

        def label(key_: str) -> str:
            """Field first, its category after it: a narrow box cuts off the category, not the field."""
            s = specs[key_]
            return f"{s.label_en} · {s.group_label_en or s.group_label}" if en else f"{s.label_de} · {s.group_label}"

        cell.selectbox(
            t("segb.field"),
            options,
            format_func=label,
            key=key,
            index=0 if spec else None,  # a stored field the catalogue no longer has: nothing chosen
            placeholder=t("segb.choose"),
            required=True,
            label_visibility="collapsed",
            on_change=self._field_changed,
            args=(path, key),
        )

    def _operator_picker(self, cell: Any, path: Path, spec: ConditionSpec, op: Operator | None) -> None:
        en = current_lang() == "en"
        labels = {o.key: (o.label_en if en else o.label_de) for o in spec.allowed_operators}
        key = self._init(self.key(path, "operator"), op.key if op else None)
        cell.selectbox(
            t("segb.operator"),
            list(labels),
            format_func=labels.__getitem__,
            key=key,
            index=0 if op else None,
            placeholder=t("segb.choose"),
            required=True,
            label_visibility="collapsed",
            on_change=self._operator_changed,
            args=(path, key),
        )

    # the value widgets of one condition -----------------------------------------------------------------------
    def _inputs(self, spec: ConditionSpec, op: Operator) -> list[Input]:
        """The value widgets in reading order: „Umsatz > [10.000] [EUR] in den letzten [12] [Monate]“."""
        shape = op.shape
        inputs: list[Input] = []
        if shape in (Shape.ONE, Shape.ONE_PERIOD):
            inputs.append(self._single(spec, "value", t("segb.value")))
        elif shape is Shape.TWO:
            if spec.value_kind == "date":
                inputs.append(Input("value", "date_range", t("segb.date_range"), weight=3.0))
            else:
                inputs.append(self._single(spec, "value", t("segb.value_from"), weight=1.5))
                inputs.append(self._single(spec, "value2", t("segb.value_to"), weight=1.5))
        elif shape is Shape.LIST:
            inputs.append(self._multi(spec))
        elif shape is Shape.PAIR:
            inputs.extend(self._consent(spec))
        if spec.value_kind == "money":
            inputs.append(Input("currency", "select", t("segb.currency"), CURRENCIES, weight=1.1))
        if shape in (Shape.PERIOD, Shape.ONE_PERIOD):
            inputs.extend(self._period(op.units, op.amounts, with_words=False))
        if spec.period_required:
            inputs.extend(self._period(tuple(UNITS), (1, MAX_AMOUNT), with_words=True))
        return inputs

    def _offered(self, spec: ConditionSpec) -> dict[Any, str]:
        offered = dict(self.choices(spec.key))
        if spec.value_kind == "segment" and self.own_segment is not None:
            offered.pop(self.own_segment, None)
        return offered

    def _single(self, spec: ConditionSpec, attr: str, label: str, weight: float = 3.0) -> Input:
        kind = spec.value_kind
        if kind in PICKED:
            offered = self._offered(spec)
            typed = not spec.choices and spec.value_parser is None and kind != "segment"
            return Input(attr, "select", label, list(offered), offered, new_options=typed, weight=weight)
        if kind in ("number", "money", "date"):
            return Input(attr, kind, label, weight=weight)
        return Input(attr, "text", label, weight=weight, placeholder=label)

    def _multi(self, spec: ConditionSpec) -> Input:
        offered = self._offered(spec) if spec.value_kind != "text" else {}
        typed = spec.value_kind in ("text", "tags") or (spec.value_kind == "choice" and not spec.choices)
        placeholder = t("segb.values_placeholder" if typed else "segb.values_choose")
        return Input(
            "value",
            "multi",
            t("segb.values"),
            list(offered),
            offered,
            new_options=typed,
            weight=9.0,
            placeholder=placeholder,
        )

    def _consent(self, spec: ConditionSpec) -> list[Input]:
        index = 1 if current_lang() == "en" else 0
        channels = {key: names[index] for key, names in CHANNELS.items()}
        purposes = self._offered(spec)
        return [
            Input("value", "select", t("segb.channel"), list(channels), channels, weight=1.6),
            Input("value2", "select", t("segb.purpose"), list(purposes), purposes, weight=2.4),
        ]

    def _period(self, units: Sequence[str], amounts: tuple[int, int], *, with_words: bool) -> list[Input]:
        index = 1 if current_lang() == "en" else 0
        names = {unit: UNITS[unit][index] for unit in units}
        amount_label = t("segb.period_in_last") if with_words else t("segb.amount")
        return [
            Input("amount", "amount", amount_label, options=amounts, weight=1.2, show_label=with_words),
            Input("unit", "select", t("segb.unit"), list(names), names, weight=1.3),
        ]

    def _input(self, path: Path, node: Tree, spec: Input) -> None:
        key = self.key(path, spec.attr)
        value = node.get(spec.attr)
        common: dict[str, Any] = {"key": key, "label_visibility": "visible" if spec.show_label else "collapsed"}
        if spec.kind == "text":
            self._init(key, "" if value is None else str(value))
            st.text_input(
                spec.label,
                placeholder=spec.placeholder,
                on_change=self._store,
                args=(path, spec.attr, key, _text_out),
                **common,
            )
        elif spec.kind == "number":
            self._init(key, _number_in(value))
            st.number_input(
                spec.label,
                value=None,
                step=1.0,
                format="%g",
                placeholder=spec.label,
                on_change=self._store,
                args=(path, spec.attr, key, _number_out),
                **common,
            )
        elif spec.kind == "money":
            self._init(key, _number_in(value))
            st.number_input(
                spec.label,
                value=None,
                step=100.0,
                format="%.2f",
                placeholder=spec.label,
                on_change=self._store,
                args=(path, spec.attr, key, _money_out),
                **common,
            )
        elif spec.kind == "amount":
            low, high = spec.options
            self._init(key, value if isinstance(value, int) else low)
            st.number_input(
                spec.label,
                min_value=low,
                max_value=high,
                step=1,
                on_change=self._store,
                args=(path, spec.attr, key, _keep),
                **common,
            )
        elif spec.kind == "date":
            self._init(key, _date_in(value))
            st.date_input(
                spec.label,
                value=None,
                min_value=EARLIEST,
                max_value=LATEST,
                format="DD.MM.YYYY",
                on_change=self._store,
                args=(path, spec.attr, key, _date_out),
                **common,
            )
        elif spec.kind == "date_range":
            picked = tuple(d for d in (_date_in(value), _date_in(node.get("value2"))) if d is not None)
            st.date_input(
                spec.label,
                value=picked,
                min_value=EARLIEST,
                max_value=LATEST,
                format="DD.MM.YYYY",
                on_change=self._store_range,
                args=(path, key),
                **common,
            )
        elif spec.kind == "select":
            self._select(path, spec, key, value)
        elif spec.kind == "multi":
            chosen = list(value) if isinstance(value, list) else []
            options = list(spec.options)
            if spec.new_options:
                options.extend(v for v in chosen if v not in options)
            self._init(key, [v for v in chosen if v in options])
            st.multiselect(
                spec.label,
                options,
                format_func=lambda v: spec.labels.get(v, str(v)),
                accept_new_options=spec.new_options,
                placeholder=spec.placeholder or t("segb.choose"),
                on_change=self._store,
                args=(path, spec.attr, key, _list_out),
                **common,
            )

    def _select(self, path: Path, spec: Input, key: str, value: Any) -> None:
        options = list(spec.options)
        if spec.new_options and value not in (None, "") and value not in options:
            options.append(value)
        self._init(key, value if value in options else None)
        st.selectbox(
            spec.label,
            options,
            format_func=lambda v: spec.labels.get(v, str(v)),
            index=None,
            accept_new_options=spec.new_options,
            placeholder=spec.label,
            key=key,
            required=True,
            label_visibility="collapsed",
            on_change=self._store,
            args=(path, spec.attr, key, _keep),
        )
