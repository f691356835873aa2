"""Consent on the contact page: the tab "Einwilligungen" (compact channel × purpose matrix) with the way to the
consent page, where consents are recorded, withdrawn and proven."""

from __future__ import annotations

import streamlit as st

from app.components import consent_matrix
from app.components.i18n import t
from app.components.object_tabs import ObjectTab, register_object_tab
from core.contacts import ContactView

def contact_tab(contact: ContactView) -> None:
    cells = consent_matrix.matrix(contact.id)
    granted = consent_matrix.granted_count(cells)
    info_col, open_col = st.columns([3, 1], vertical_alignment="center")
    info_col.caption(t("consent.granted_of", n=granted, total=len(cells)))
    if open_col.button(t("consent.manage"), key="con_obj_consent__open", icon=":material/how_to_reg:", width="stretch"):
        consent_matrix.open_consent_page(contact.id)
    consent_matrix.compact_matrix(cells, consent_matrix.purposes())


register_object_tab(ObjectTab("contact", "consent", "consent.tab", contact_tab, permission="consent.read", order=60))
