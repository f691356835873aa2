"""Ereignisse: the latest outbox events (what other modules and integrations are told)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app.components import queries
from app.components.i18n import current_lang, t
from core.events import EVENT_NAMES
from core.formatting import fmt_datetime

NS = "events"
LIMITS = (50, 200, 1_000)
lang = current_lang()

st.title(f":material/bolt: {t('page.events')}")
st.caption(t("events.intro"))
name_col, limit_col = st.columns([3, 1])
name = name_col.selectbox(
    t("events.name"),
    [None, *sorted(EVENT_NAMES)],
    format_func=lambda n: t("list.all") if n is None else f"{EVENT_NAMES[n]} ({n})",
    key=f"{NS}__name",
)
limit = limit_col.selectbox(t("audit.limit"), LIMITS, key=f"{NS}__limit")
events = queries.events(limit=limit, name_prefix=name)

if events.empty:
    st.info(t("events.empty"), icon=":material/info:")
else:
    table = pd.DataFrame(
        {
            t("events.id"): events["id"].astype(int),
            t("history.when"): [fmt_datetime(v, lang) for v in events["occurred_at"]],
            t("events.event"): [EVENT_NAMES.get(n, n) for n in events["name"]],
            t("events.name"): events["name"],
            t("audit.record"): [f"{e} {i}" for e, i in zip(events["entity"], events["entity_id"])],
            t("events.payload"): [json.dumps(p, ensure_ascii=False) for p in events["payload"]],
        }
    )
    st.caption(t("events.count", n=len(table)))
    st.dataframe(table, hide_index=True, width="stretch", height=min(600, 38 + 35 * len(table)))
