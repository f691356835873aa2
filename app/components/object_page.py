"""ObjectPage: a record's header with key figures, its sections as tabs, and an edit form.

The edit form is optimistic-locked: it remembers the version it was loaded with. If someone
else saved in between, the save is refused with the conflict message and the form keeps the
user's input; the user then reloads (discarding the input) or saves over the newer version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import streamlit as st

from app.components import queries
from app.components.feedback import field_errors_text, flash
from app.components.fields import (
    FormField,
    collect_values,
    load_values,
    missing_required,
    missing_widgets,
    render_fields,
    render_lookup_search,
)
from app.components.i18n import t
from core.errors import Conflict, DomainError, ValidationFailed
from core.uow import STALE_MESSAGE


@dataclass(frozen=True)
class Facet:
    label: str
    value: str


def object_header(title: str, *, subtitle: str | None = None, facets: Sequence[Facet] = (), icon: str = "") -> None:
    st.title(f"{icon} {title}".strip())
    if subtitle:
        st.caption(subtitle)
    if facets:
        cells = st.columns(len(facets))
        for cell, facet in zip(cells, facets):
            with cell.container(border=True):
                st.caption(facet.label)
                st.markdown(f"**{facet.value or '–'}**")


def object_sections(ns: str, labels: Sequence[str]) -> Sequence[Any]:
    """Tabs that remember which one is open across reruns."""
    return st.tabs(list(labels), key=f"{ns}__tab")


class Versioned(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def version(self) -> int: ...


SaveFn = Callable[[dict[str, Any], int | None, str | None], Versioned]


@dataclass
class EditForm:
    """An audited edit (or create, when `record_id` is None) form built from field declarations."""

    ns: str
    fields: Sequence[FormField]
    save: SaveFn
    submit_label: str
    on_saved: Callable[[Versioned], None] | None = None
    with_reason: bool = False
    columns: int = 2
    # live: no st.form, so every field change reruns the page (e.g. duplicate hints while typing)
    live: bool = False
    labels: dict[str, str] = field(init=False)

    def _k(self, name: str) -> str:
        """Session-state key of this form's own state, namespaced by the page."""
        return f"{self.ns}__{name}"

    def __post_init__(self) -> None:
        self.labels = {f.name: f.label for f in self.fields}

    def _reset(self, record_id: int | None, version: int | None, values: Mapping[str, Any]) -> None:
        load_values(self.ns, self.fields, values)
        state = st.session_state
        state[self._k("original")] = collect_values(self.ns, self.fields)
        state[self._k("loaded")] = (record_id, version)
        state[self._k("reason")] = ""
        for key in (self._k("conflict"), self._k("errors"), self._k("message")):
            state.pop(key, None)

    def render(
        self, *, record_id: int | None, version: int | None, values: Mapping[str, Any], disabled: bool = False
    ) -> None:
        state = st.session_state
        loaded = state.get(self._k("loaded"))
        in_conflict = bool(state.get(self._k("conflict")))
        if (
            loaded is None
            or loaded[0] != record_id
            or missing_widgets(self.ns, self.fields)
            or (loaded[1] != version and not in_conflict)
        ):
            self._reset(record_id, version, values)

        if in_conflict:
            self._conflict_banner(record_id, version, values)
        message = state.get(self._k("message"))
        errors = state.get(self._k("errors")) or {}
        if message:
            st.error(message, icon=":material/error:")
        if self.live:
            with st.container(border=True):
                self._body(record_id, errors, disabled, in_form=False)
        else:
            for lookup in (f for f in self.fields if f.kind == "lookup"):
                render_lookup_search(self.ns, lookup, disabled=disabled)
            with st.form(f"{self.ns}__form", border=True):
                self._body(record_id, errors, disabled, in_form=True)

    def _body(self, record_id: int | None, errors: Mapping[str, str], disabled: bool, *, in_form: bool) -> None:
        render_fields(self.ns, self.fields, errors=errors, columns=self.columns, disabled=disabled, in_form=in_form)
        if self.with_reason:
            st.text_input(t("form.reason"), key=self._k("reason"), help=t("form.reason_help"), disabled=disabled)
        submit = st.form_submit_button if in_form else partial(st.button, key=f"{self.ns}__submit")
        submit(
            self.submit_label,
            type="primary",
            icon=":material/save:",
            disabled=disabled,
            on_click=self._submit,
            args=(record_id,),
        )

    def _conflict_banner(self, record_id: int | None, version: int | None, values: Mapping[str, Any]) -> None:
        with st.container(border=True):
            st.error(f"**{t('error.conflict')}** {STALE_MESSAGE}", icon=":material/sync_problem:")
            st.caption(t("form.conflict_help"))
            reload_col, overwrite_col = st.columns(2)
            reload_col.button(
                t("form.reload"),
                key=f"{self.ns}__reload",
                icon=":material/refresh:",
                on_click=self._reset,
                args=(record_id, version, dict(values)),
            )
            overwrite_col.button(
                t("form.overwrite"),
                key=f"{self.ns}__overwrite",
                icon=":material/save_as:",
                on_click=self._submit,
                args=(record_id, version),
            )

    def _submit(self, record_id: int | None, expected_version: int | None = None) -> None:
        """Form callback: save, and either remember the new version or keep the input with messages."""
        state = st.session_state
        if expected_version is None and record_id is not None:
            expected_version = state[self._k("loaded")][1]
        values = collect_values(self.ns, self.fields)
        missing = missing_required(self.fields, values)
        state.pop(self._k("errors"), None)
        state.pop(self._k("message"), None)
        if missing:
            state[self._k("errors")] = missing
            state[self._k("message")] = t("error.validation")
            return
        if record_id is not None:
            # Send only what the user changed, so a newer change to another field survives an overwrite.
            original = state.get(self._k("original")) or {}
            values = {name: value for name, value in values.items() if original.get(name) != value}
        reason = (state.get(self._k("reason")) or "").strip() or None
        try:
            saved = self.save(values, expected_version, reason)
        except ValidationFailed as exc:
            known = {k: v for k, v in exc.fields.items() if k in self.labels}
            state[self._k("errors")] = known
            others = {k: v for k, v in exc.fields.items() if k not in self.labels}
            state[self._k("message")] = t("error.validation") + (
                "\n\n" + field_errors_text(others, {}) if others else ""
            )
            return
        except Conflict as exc:
            if exc.message == STALE_MESSAGE:
                state[self._k("conflict")] = True
                queries.clear_reads()
            else:
                state[self._k("message")] = exc.message
            return
        except DomainError as exc:
            state[self._k("message")] = exc.message
            return
        state[self._k("loaded")] = (saved.id, saved.version)
        state[self._k("original")] = collect_values(self.ns, self.fields)
        state[self._k("reason")] = ""
        state.pop(self._k("conflict"), None)
        queries.clear_reads()
        flash(t("form.saved"))
        if self.on_saved is not None:
            self.on_saved(saved)
