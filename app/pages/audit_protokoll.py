"""Audit-Protokoll: the global, hash-chained change log with filters, export and the chain check."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app.components import queries
from app.components.exporting import table_downloads
from app.components.history_view import history_table
from app.components.i18n import t, t_or
from core.formatting import DISPLAY_TZ

NS = "audit"
RESULT_KEY = f"{NS}__chain_result"
LIMITS = (100, 500, 2_000)


def entity_label(entity: str) -> str:
    return t_or(f"entity.{entity}", entity)


def chain_check() -> None:
    check_col, result_col = st.columns([1, 3], vertical_alignment="center")
    if check_col.button(t("audit.check_chain"), key=f"{NS}__check", type="primary", icon=":material/verified:", width="stretch"):
        st.session_state[RESULT_KEY] = queries.chain_status(fresh=True)
    result = st.session_state.get(RESULT_KEY)
    with result_col:
        if result is None:
            st.caption(t("audit.check_hint"))
        elif result.ok:
            st.badge(t("audit.chain_ok", n=result.checked), icon=":material/verified:", color="green")
        else:
            st.badge(t("audit.chain_badge_broken"), icon=":material/gpp_bad:", color="red")
            st.error(t("audit.chain_broken", id=result.first_bad_id, problem=result.problem), icon=":material/gpp_bad:")


def local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=DISPLAY_TZ).astimezone(dt.timezone.utc)


st.title(f":material/verified_user: {t('page.audit')}")
st.caption(t("audit.intro"))
chain_check()
st.divider()

entity_col, actor_col, range_col, limit_col = st.columns([1, 1, 2, 1])
entities = queries.audited_entities()
entity = entity_col.selectbox(
    t("audit.entity"), [None, *entities], format_func=lambda e: t("list.all") if e is None else entity_label(e), key=f"{NS}__entity"
)
actor_name = actor_col.text_input(t("audit.actor"), key=f"{NS}__actor", placeholder="anna.schmidt")
period = range_col.date_input(t("audit.period"), value=(), format="DD.MM.YYYY", key=f"{NS}__period")
limit = limit_col.selectbox(t("audit.limit"), LIMITS, key=f"{NS}__limit")

since = local_day_start(period[0]) if len(period) >= 1 else None
until = local_day_start(period[1] + dt.timedelta(days=1)) if len(period) == 2 else None
log = queries.audit_log(entity=entity, actor_name=actor_name.strip() or None, since=since, until=until, limit=limit)

if log.empty:
    st.info(t("audit.empty"), icon=":material/info:")
else:
    table = history_table(log)
    table.insert(1, t("audit.record"), [f"{entity_label(e)} {i}" for e, i in zip(log["entity"], log["entity_id"])])
    table.insert(0, t("audit.entry"), log["id"].astype(int))
    st.caption(t("audit.count", n=len(log)))
    st.dataframe(table, hide_index=True, width="stretch", height=min(600, 38 + 35 * len(table)))
    table_downloads(NS, title=t("page.audit"), file_stem="audit-protokoll", frame=lambda: table)
