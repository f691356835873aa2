"""API-Schlüssel: list keys, create one (shown exactly once), revoke one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.dialogs import confirm
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from core.apikeys import create_api_key, revoke_api_key
from core.errors import DomainError
from core.formatting import fmt_datetime
from core.permissions import PERMISSIONS

NS = "apikeys"
NEW_KEY = f"{NS}__created"
lang = current_lang()


def keys_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("apikeys.name"): frame["name"],
            t("apikeys.prefix"): [f"crm_{p}_…" for p in frame["prefix"]],
            t("apikeys.scopes"): [s.replace(",", ", ") for s in frame["scopes"]],
            t("apikeys.status"): [t("apikeys.revoked") if pd.notna(r) else t("apikeys.active") for r in frame["revoked_at"]],
            t("common.created_at"): [fmt_datetime(v, lang) for v in frame["created_at"]],
            t("apikeys.last_used"): [fmt_datetime(v, lang) if pd.notna(v) else "–" for v in frame["last_used_at"]],
        }
    )


def show_new_key() -> None:
    created = st.session_state.get(NEW_KEY)
    if not created:
        return
    with st.container(border=True):
        st.success(t("apikeys.created", name=created.name), icon=":material/key:")
        st.warning(t("apikeys.copy_now"), icon=":material/visibility:")
        st.code(created.key, language=None)
        if st.button(t("apikeys.copied"), key=f"{NS}__copied", icon=":material/check:"):
            st.session_state.pop(NEW_KEY, None)
            st.rerun()


def create_form() -> None:
    with st.form(f"{NS}__new_form", clear_on_submit=True):
        st.markdown(f"**{t('apikeys.new')}**")
        name = st.text_input(t("apikeys.name"), key=f"{NS}__name", placeholder="ERP-Anbindung")
        scopes = st.multiselect(
            t("apikeys.scopes"),
            sorted(PERMISSIONS),
            format_func=lambda p: f"{PERMISSIONS[p].description} ({p})",
            key=f"{NS}__scopes",
            placeholder=t("common.choose"),
        )
        submitted = st.form_submit_button(t("apikeys.create"), type="primary", icon=":material/add:")
    if submitted:
        try:
            created = create_api_key(context.uow(), name=name, scopes=scopes)
        except DomainError as exc:
            show_error(exc, labels={"name": t("apikeys.name"), "scopes": t("apikeys.scopes")})
        else:
            queries.clear_reads()
            st.session_state[NEW_KEY] = created
            st.rerun()


def revoke_section(frame: pd.DataFrame) -> None:
    active = frame[frame["revoked_at"].isna()]
    if active.empty:
        return
    names = {int(r.id): str(r.name) for r in active.itertuples()}
    pick_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    key_id = pick_col.selectbox(t("apikeys.pick"), list(names), format_func=names.get, key=f"{NS}__pick")
    if button_col.button(t("apikeys.revoke"), key=f"{NS}__revoke", icon=":material/block:", width="stretch"):

        def revoke() -> None:
            revoke_api_key(context.uow(), key_id)
            queries.clear_reads()
            flash(t("apikeys.revoked_done", name=names[key_id]))

        confirm(
            key=f"{NS}__confirm",
            title=t("apikeys.revoke_title"),
            message=t("apikeys.revoke_text", name=names[key_id]),
            confirm_label=t("apikeys.revoke"),
            on_confirm=revoke,
        )


st.title(f":material/key: {t('page.api_keys')}")
st.caption(t("apikeys.intro"))
show_new_key()
keys = queries.api_keys_table()
if keys.empty:
    st.info(t("apikeys.empty"), icon=":material/info:")
else:
    st.dataframe(keys_table(keys), hide_index=True, width="stretch")
    revoke_section(keys)
create_form()
