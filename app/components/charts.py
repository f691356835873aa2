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


def line_over_time(
    frame: pd.DataFrame,
    *,
    time: str,
    value: str,
    time_title: str,
    value_title: str,
    tooltip_time: str | None = None,
    tooltip_value: str | None = None,
    time_format: str = "%d.%m. %H:%M",
) -> alt.LayerChart:
    """A value over time as a step line with points (a size that holds until the next measurement).

    `tooltip_time` / `tooltip_value` name preformatted columns so tooltips follow the locale; `time` holds local
    wall-clock times (d3 format `time_format`: runs minutes apart would otherwise be labelled in milliseconds).
    """
    base = alt.Chart(frame).encode(
        x=alt.X(f"{time}:T", title=time_title, axis=alt.Axis(format=time_format, labelOverlap=True)),
        y=alt.Y(f"{value}:Q", title=value_title, axis=alt.Axis(format="d", tickMinStep=1)),
    )
    tooltip = [
        alt.Tooltip(f"{tooltip_time}:N" if tooltip_time else f"{time}:T", title=time_title),
        alt.Tooltip(f"{tooltip_value}:N" if tooltip_value else f"{value}:Q", title=value_title),
    ]
    line = base.mark_line(color=PRIMARY, interpolate="step-after")
    points = base.mark_point(color=PRIMARY, filled=True, size=40).encode(tooltip=tooltip)
    return (line + points).properties(height=260)
