"""Charts with altair in one suite-wide theme (colours, fonts, grid) — pages only choose the data."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

PRIMARY = "#1f6feb"
PALETTE = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#0a7ea4", "#57606a", "#e16f24"]
FONT = "Source Sans Pro, Helvetica, Arial, sans-serif"


@alt.theme.register("crm", enable=True)
def crm_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "view": {"stroke": None},
            "range": {"category": PALETTE},
            "bar": {"color": PRIMARY, "cornerRadiusEnd": 3},
            "axis": {"labelColor": "#57606a", "titleColor": "#24292f", "gridColor": "#eaeef2", "domain": False},
            "title": {"anchor": "start", "fontSize": 14, "color": "#24292f"},
        }
    }


def horizontal_bars(
    frame: pd.DataFrame,
    *,
    category: str,
    value: str,
    category_title: str,
    value_title: str,
    tooltip_text: str | None = None,
) -> alt.Chart:
    """Largest first, one bar per category, value labels at the bar ends.

    `tooltip_text` names a preformatted column (e.g. "1.234 Firmen") so tooltips follow the locale.
    """
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{category}:N", sort="-x", title=category_title),
        x=alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format="d", tickMinStep=1)),
        tooltip=[alt.Tooltip(f"{category}:N", title=category_title)]
        + ([alt.Tooltip(f"{tooltip_text}:N", title=value_title)] if tooltip_text else []),
    )
    bars = base.mark_bar(color=PRIMARY)
    labels = base.mark_text(align="left", dx=4, color="#24292f").encode(
        text=alt.Text(f"{tooltip_text or value}:N" if tooltip_text else f"{value}:Q")
    )
    height = max(120, 28 * len(frame))
    return (bars + labels).properties(height=height)


def show_chart(chart: alt.Chart | alt.LayerChart, *, key: str) -> None:
    st.altair_chart(chart, key=key, width="stretch", theme=None)
