"""Dublettenprüfung (admin): the score threshold per entity, used by the scan and the form hints."""

from __future__ import annotations

import streamlit as st

from app.components import context
from app.components.feedback import flash, show_error
from app.components.i18n import t
from core.dedupe.settings import get_threshold, set_threshold
from core.errors import DomainError

NS = "admin_dubletten"

st.title(f":material/tune: {t('page.duplicate_settings')}")
st.caption(t("dedupe.threshold_intro"))
with st.form(f"{NS}__form"):
    chosen = {
        # Shown in percent like the match on the Dubletten page (a slider has no decimal-point problem).
        entity: st.slider(
            t("dedupe.threshold_for", entity=t(f"dedupe.entity_{entity}")),
            min_value=1,
            max_value=99,
            step=1,
            format="%d %%",
            value=round(get_threshold(context.uow(), entity) * 100),
            key=f"{NS}__{entity}",
        )
        for entity in ("contact", "account")
    }
    submitted = st.form_submit_button(t("dedupe.save"), type="primary", icon=":material/save:")
if submitted:
    try:
        for entity, value in chosen.items():
            set_threshold(context.uow(), entity, value / 100)
    except DomainError as error:
        show_error(error)
    else:
        flash(t("dedupe.saved"))
        st.rerun()
