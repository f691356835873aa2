"""Opening object pages: the record id travels in the query string and in session state."""

from __future__ import annotations

import streamlit as st

ACCOUNT_PAGE = "pages/kunden_stamm.py"
CONTACT_PAGE = "pages/kontakt_detail.py"
ACCOUNT_ID_KEY = "kunden_stamm__id"
CONTACT_ID_KEY = "kontakt_detail__id"
OPPORTUNITY_PAGE = "pages/opportunity_detail.py"
OPPORTUNITY_ID_KEY = "opportunity_detail__id"


def open_account(account_id: int | None) -> None:
    """Switch to the account page (None: the "Neue Firma" wizard)."""
    st.session_state[ACCOUNT_ID_KEY] = account_id
    st.switch_page(ACCOUNT_PAGE, query_params={"id": str(account_id)} if account_id else None)


def open_contact(contact_id: int | None, *, account_id: int | None = None) -> None:
    """Switch to the contact page (None: a new contact, preset to `account_id` when given)."""
    st.session_state[CONTACT_ID_KEY] = contact_id
    st.session_state["kontakt_detail__preset_account"] = account_id
    st.switch_page(CONTACT_PAGE, query_params={"id": str(contact_id)} if contact_id else None)


def open_opportunity(opportunity_id: int) -> None:
    """Switch to the opportunity page of this deal."""
    st.session_state[OPPORTUNITY_ID_KEY] = opportunity_id
    st.switch_page(OPPORTUNITY_PAGE, query_params={"id": str(opportunity_id)})


def selected_id(key: str) -> int | None:
    """The record to show: the query string wins (bookmarks, reloads), else the last opened one."""
    raw = st.query_params.get("id")
    if raw is not None and str(raw).isdigit():
        st.session_state[key] = int(raw)
    return st.session_state.get(key)
