"""The "Möglicherweise doppelt" panel above a create/edit form: likely duplicates of the typed values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from app.components import context
from app.components.fields import FormField, collect_values, missing_widgets
from app.components.i18n import current_lang, t, t_or
from core.dedupe.hints import duplicate_hints
from core.errors import DomainError
from core.formatting import fmt_number


def render_duplicate_hints(entity: str, values: Mapping[str, Any], *, exclude_id: int | None = None) -> None:
    """Shows nothing unless an existing record scores at or above the threshold."""
    try:
        hints = duplicate_hints(context.uow(), entity, values, exclude_id=exclude_id)
    except DomainError:
        return
    if not hints:
        return
    lang = current_lang()
    with st.container(border=True):
        st.warning(t("dedupe.hints_title"), icon=":material/content_copy:")
        for hint in hints:
            scores = ", ".join(
                f"{t_or(f'dedupe.field_{f.field}', f.field)} {fmt_number(f.similarity, digits=2, lang=lang)}"
                for f in hint.fields
                if f.similarity is not None
            )
            line = t(
                "dedupe.hint_line", label=hint.label, id=hint.id, score=fmt_number(hint.score, digits=2, lang=lang)
            )
            st.markdown(f"- {line}  \n  {scores}")


def render_form_hints(
    entity: str,
    ns: str,
    fields: Sequence[FormField],
    *,
    exclude_id: int | None = None,
    saved: Mapping[str, Any] | None = None,
) -> None:
    """The panel for an EditForm: uses the values its widgets hold (the last input before saving),
    or the record's saved values before the form was first drawn."""
    typed = collect_values(ns, fields) if not missing_widgets(ns, fields) else dict(saved or {})
    values = {k: v for k, v in typed.items() if v not in (None, "")}
    if values:
        render_duplicate_hints(entity, values, exclude_id=exclude_id)
