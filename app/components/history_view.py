"""The Änderungsprotokoll section of object pages: who changed which field from what to what, and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

from app.components import queries
from app.components.i18n import current_lang, t, t_or
from core.formatting import fmt_datetime


REFERENCE_FIELDS: dict[str, Callable[[int], Mapping[int, str]]] = {
    "owner_id": lambda _id: queries.owner_choices(),
    "account_id": lambda account_id: queries.account_labels((account_id,)),
}


def _value(field: object, value: object) -> str:
    """Referenced records by name instead of id (owner 3 → "Anna Schmidt")."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    labels = REFERENCE_FIELDS.get(field) if isinstance(field, str) else None
    if labels is not None and str(value).isdigit():
        return labels(int(str(value))).get(int(str(value)), str(value))
    return str(value)


def history_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Audit rows as the user reads them: local time, action and field names in words."""
    lang = current_lang()
    return pd.DataFrame(
        {
            t("history.when"): [fmt_datetime(v, lang) for v in frame["occurred_at"]],
            t("history.who"): frame["actor_name"],
            t("history.action"): [t_or(f"action.{a}", a) for a in frame["action"]],
            t("history.field"): [
                t_or(f"field.{e}.{f}", f) if isinstance(f, str) else "" for e, f in zip(frame["entity"], frame["field"])
            ],
            t("history.old"): [_value(f, v) for f, v in zip(frame["field"], frame["old_value"])],
            t("history.new"): [_value(f, v) for f, v in zip(frame["field"], frame["new_value"])],
            t("history.reason"): frame["reason"].fillna(""),
        }
    )


def record_history(entity: str, entity_id: int) -> None:
    frame = queries.record_history(entity, entity_id)
    if frame.empty:
        st.info(t("history.empty"), icon=":material/history:")
        return
    st.caption(t("history.count", n=len(frame)))
    st.dataframe(history_table(frame), hide_index=True, width="stretch")
