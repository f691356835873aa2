"""Wizard: a create flow in steps with back/next, a review step and one service call at the end.

What the user entered is kept in `st.session_state[<ns>__data]`, so leaving a step (whose
widgets Streamlit then forgets) or rerunning loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app.components import queries
from app.components.feedback import field_errors_text, flash
from app.components.fields import (
    FormField,
    collect_values,
    display_value,
    missing_required,
    render_fields,
    widget_key,
    widget_value,
)
from app.components.i18n import current_lang, t
from core.errors import DomainError, ValidationFailed


@dataclass(frozen=True)
class WizardStep:
    title: str
    fields: Sequence[FormField]


@dataclass
class Wizard:
    ns: str
    steps: Sequence[WizardStep]
    finish: Callable[[dict[str, Any]], Any]
    finish_label: str
    on_done: Callable[[Any], None]
    done_message: str
    initial: dict[str, Any] = field(default_factory=dict)

    def _k(self, name: str) -> str:
        """Session-state key of this wizard's own state, namespaced by the page."""
        return f"{self.ns}__{name}"

    @property
    def step(self) -> int:
        return int(st.session_state.get(self._k("step"), 0))

    def _data(self) -> dict[str, Any]:
        return st.session_state.setdefault(self._k("data"), dict(self.initial))

    def render(self) -> None:
        step = self.step
        titles = [s.title for s in self.steps] + [t("wizard.review")]
        st.progress(
            (step + 1) / len(titles), text=t("wizard.step_of", n=step + 1, total=len(titles), title=titles[step])
        )
        message = st.session_state.get(self._k("message"))
        if message:
            st.error(message, icon=":material/error:")
        errors = st.session_state.get(self._k("errors")) or {}
        with st.container(border=True):
            if step < len(self.steps):
                fields = self.steps[step].fields
                data = self._data()
                for form_field in fields:
                    key = widget_key(self.ns, form_field.name)
                    if key not in st.session_state:
                        st.session_state[key] = widget_value(form_field, data.get(form_field.name))
                render_fields(self.ns, fields, errors=errors)
            else:
                self._review()
        back, _, forward = st.columns([1, 2, 1])
        back.button(
            t("wizard.back"),
            key=f"{self.ns}__back",
            icon=":material/arrow_back:",
            disabled=step == 0,
            on_click=self._go,
            args=(step - 1,),
            width="stretch",
        )
        if step < len(self.steps):
            forward.button(
                t("wizard.next"),
                key=f"{self.ns}__next",
                icon=":material/arrow_forward:",
                type="primary",
                on_click=self._go,
                args=(step + 1,),
                width="stretch",
            )
        else:
            forward.button(
                self.finish_label,
                key=f"{self.ns}__finish",
                icon=":material/check:",
                type="primary",
                on_click=self._finish,
                width="stretch",
            )

    def _review(self) -> None:
        data = self._data()
        lang = current_lang()
        for wizard_step in self.steps:
            st.markdown(f"**{wizard_step.title}**")
            rows = [f"| {f.label} | {display_value(f, data.get(f.name), lang)} |" for f in wizard_step.fields]
            st.markdown("| | |\n|---|---|\n" + "\n".join(rows))

    def _keep_current_step(self) -> None:
        if self.step < len(self.steps):
            self._data().update(collect_values(self.ns, self.steps[self.step].fields))

    def _go(self, target: int) -> None:
        self._keep_current_step()
        st.session_state.pop(self._k("errors"), None)
        st.session_state.pop(self._k("message"), None)
        if target > self.step and self.step < len(self.steps):
            missing = missing_required(self.steps[self.step].fields, self._data())
            if missing:
                st.session_state[self._k("errors")] = missing
                return
        st.session_state[self._k("step")] = max(0, min(target, len(self.steps)))

    def _finish(self) -> None:
        data = dict(self._data())
        state = st.session_state
        state.pop(self._k("message"), None)
        try:
            created = self.finish(data)
        except ValidationFailed as exc:
            state[self._k("errors")] = exc.fields
            step = next((i for i, s in enumerate(self.steps) if any(f.name in exc.fields for f in s.fields)), self.step)
            state[self._k("step")] = step
            labels = {f.name: f.label for s in self.steps for f in s.fields}
            state[self._k("message")] = f"{t('error.validation')}\n\n{field_errors_text(exc.fields, labels)}"
            return
        except DomainError as exc:
            state[self._k("message")] = exc.message
            return
        self.reset()
        queries.clear_reads()
        flash(self.done_message)
        self.on_done(created)

    def reset(self) -> None:
        state = st.session_state
        for key in (self._k("step"), self._k("data"), self._k("errors"), self._k("message")):
            state.pop(key, None)
        for wizard_step in self.steps:
            for form_field in wizard_step.fields:
                state.pop(widget_key(self.ns, form_field.name), None)
