"""Form fields declared once and rendered the same way in edit forms and wizards.

Widget values live in `st.session_state` under `<ns>__f__<field>`, so a form keeps what the
user typed across reruns (and after a failed save) until it is deliberately reloaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from app.components.i18n import t
from core.formatting import fmt_date, fmt_number

FieldKind = Literal["text", "textarea", "select", "lookup", "int", "date", "bool", "password"]


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind = "text"
    options: Sequence[Any] = ()
    format_func: Callable[[Any], str] | None = None
    required: bool = False
    help: str | None = None
    placeholder: str | None = None
    # kind "date": False for dates of birth and the like, True for planned dates (validity periods)
    future: bool = False
    # kind "lookup": (search term, current value) -> {value: label}, searched on the server
    lookup: Callable[[str, Any], Mapping[Any, str]] | None = None


def widget_key(ns: str, name: str) -> str:
    return f"{ns}__f__{name}"


def widget_value(field: FormField, value: Any) -> Any:
    """A stored value in the shape its widget expects (text widgets never hold None)."""
    if field.kind in ("text", "textarea", "password"):
        return "" if value is None else str(value)
    if field.kind == "bool":
        return bool(value)
    if field.kind == "select" and value is not None and value not in field.options:
        return None
    return value


def load_values(ns: str, fields: Sequence[FormField], values: Mapping[str, Any]) -> None:
    """Put record values into the widgets (before they are drawn in this run)."""
    for field in fields:
        st.session_state[widget_key(ns, field.name)] = widget_value(field, values.get(field.name))


def missing_widgets(ns: str, fields: Sequence[FormField]) -> bool:
    """True when Streamlit dropped the widget state (the page was left in between)."""
    return any(widget_key(ns, f.name) not in st.session_state for f in fields)


def collect_values(ns: str, fields: Sequence[FormField]) -> dict[str, Any]:
    return {f.name: st.session_state.get(widget_key(ns, f.name)) for f in fields}


def missing_required(fields: Sequence[FormField], values: Mapping[str, Any]) -> dict[str, str]:
    """Required fields left empty: caught before the service call, with a plain message."""
    return {
        f.name: t("form.required")
        for f in fields
        if f.required and (values.get(f.name) is None or str(values.get(f.name)).strip() == "")
    }


def _label(field: FormField) -> str:
    return f"{field.label} *" if field.required else field.label


def _format(field: FormField) -> Callable[[Any], str]:
    base = field.format_func or str
    return lambda v: t("common.not_set") if v is None else base(v)


def render_field(
    ns: str, field: FormField, *, error: str | None = None, disabled: bool = False, in_form: bool = False
) -> None:
    key = widget_key(ns, field.name)
    label = _label(field)
    common: dict[str, Any] = {"key": key, "help": field.help, "disabled": disabled}
    if field.kind == "text":
        st.text_input(label, placeholder=field.placeholder, **common)
    elif field.kind == "password":
        st.text_input(label, type="password", **common)
    elif field.kind == "textarea":
        st.text_area(label, placeholder=field.placeholder, height=100, **common)
    elif field.kind == "select":
        options = list(field.options) if field.required else [None, *field.options]
        st.selectbox(label, options, format_func=_format(field), placeholder=t("common.choose"), **common)
    elif field.kind == "lookup":
        render_lookup(ns, field, label, disabled=disabled, in_form=in_form)
    elif field.kind == "int":
        st.number_input(label, min_value=0, step=1, placeholder=field.placeholder, **common)
    elif field.kind == "date":
        latest = dt.date(2100, 12, 31) if field.future else dt.date.today()
        st.date_input(label, min_value=dt.date(1900, 1, 1), max_value=latest, format="DD.MM.YYYY", **common)
    elif field.kind == "bool":
        st.toggle(label, **common)
    if error:
        st.markdown(f":red[:material/error: {error}]")


def lookup_search_key(ns: str, name: str) -> str:
    return f"{widget_key(ns, name)}__q"


def render_lookup_search(ns: str, field: FormField, *, disabled: bool = False) -> None:
    """The search box of a lookup field. Inside an st.form it must be drawn before the form,
    because widgets in a form do not rerun the page while the user types."""
    st.text_input(
        t("form.lookup_search", label=field.label),
        key=lookup_search_key(ns, field.name),
        placeholder=t("form.lookup_placeholder"),
        disabled=disabled,
    )


def render_lookup(ns: str, field: FormField, label: str, *, disabled: bool, in_form: bool) -> None:
    """A selectbox of the first matches for the search term: pickers over very large tables."""
    assert field.lookup is not None, f"lookup field {field.name} needs a lookup function"
    if not in_form:
        render_lookup_search(ns, field, disabled=disabled)
    key = widget_key(ns, field.name)
    term = st.session_state.get(lookup_search_key(ns, field.name)) or ""
    matches = dict(field.lookup(term, st.session_state.get(key)))
    st.selectbox(
        label,
        [None, *matches],
        format_func=lambda v: t("common.not_set") if v is None else matches.get(v, str(v)),
        placeholder=t("common.choose"),
        key=key,
        help=field.help,
        disabled=disabled,
    )


def render_fields(
    ns: str,
    fields: Sequence[FormField],
    *,
    errors: Mapping[str, str] | None = None,
    columns: int = 2,
    disabled: bool = False,
    in_form: bool = False,
) -> None:
    """Fields in a grid of `columns`, each with its validation message underneath."""
    errors = errors or {}
    for start in range(0, len(fields), columns):
        cells = st.columns(columns)
        for cell, field in zip(cells, fields[start : start + columns]):
            with cell:
                render_field(ns, field, error=errors.get(field.name), disabled=disabled, in_form=in_form)


def display_value(field: FormField, value: Any, lang: str) -> str:
    """A field's value as text for summaries (wizard review)."""
    if value is None or value == "":
        return "–"
    if field.kind == "select":
        return (field.format_func or str)(value)
    if field.kind == "lookup" and field.lookup is not None:
        return dict(field.lookup("", value)).get(value, str(value))
    if field.kind == "date":
        return fmt_date(value, lang)
    if field.kind == "int":
        return fmt_number(value, lang)
    if field.kind == "bool":
        return t("common.yes") if value else t("common.no")
    if field.kind == "password":
        return "••••••"
    return str(value)
