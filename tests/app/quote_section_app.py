"""A page with only the quote sections of one deal, so AppTest renders them without the opportunity page.

The deal comes from session state (`test__opportunity_id`); the user and the clock as in tests/app/conftest.py.
"""

from __future__ import annotations

import streamlit as st

from app.components.feedback import show_flash
from app.components.quote_section import render_line_items, render_quotes
from core.capabilities import load_all

load_all()
show_flash()
opportunity_id = int(st.session_state["test__opportunity_id"])
render_line_items(opportunity_id, key="t_lines")
render_quotes(opportunity_id, key="t_quotes")
