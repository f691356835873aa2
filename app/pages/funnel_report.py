"""Trichteranalyse: how the deals created in a period moved through the stages of a pipeline.

All figures come from core.sales.funnel (stage history); this page only filters, draws and links.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from babel.numbers import format_percent

from app.components import context, queries
from app.components.charts import PALETTE, PRIMARY
from app.components.exporting import table_downloads
from app.components.feedback import show_error
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from app.components.links import open_opportunity
from core.errors import DomainError
from core.formatting import babel_locale, fmt_date, fmt_money, fmt_number
from core.sales.funnel import FunnelResult
from core.sales.opportunities import CURRENCIES, local_today

NS = "funnel"
DRILL_LIMIT = 200
lang = current_lang()


def percent(value: float | None) -> str:
    return "–" if value is None else format_percent(value, format="#,##0.0 %", locale=babel_locale(lang))


def days(value: float | None) -> str:
    return "–" if value is None else fmt_number(value, lang, digits=1)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months up to today."""
    start = (pd.Timestamp(today) - pd.DateOffset(years=1) + pd.Timedelta(days=1)).date()
    return start, today


def choice(label: str, options: dict[Any, str], key: str) -> Any:
    """A selectbox with "Alle" first; returns the chosen key or None."""
    labels = {None: t("sreport.all"), **options}
    return st.selectbox(label, list(labels), format_func=labels.__getitem__, key=key)


def filters() -> dict[str, Any] | None:
    pipelines = {p.id: p.name for p in queries.pipelines()}
    if not pipelines:
        st.info(t("funnel.no_pipeline"), icon=":material/info:")
        return None
    start, end = default_period(local_today(context.clock()()))
    cols = st.columns([2, 1.3, 1.3, 2, 2, 1])
    pipeline_id = cols[0].selectbox(
        t("sreport.pipeline"), list(pipelines), format_func=pipelines.__getitem__, key=f"{NS}__pipeline"
    )
    created_from = cols[1].date_input(t("funnel.created_from"), value=start, format="DD.MM.YYYY", key=f"{NS}__from")
    created_to = cols[2].date_input(t("funnel.created_to"), value=end, format="DD.MM.YYYY", key=f"{NS}__to")
    with cols[3]:
        owner_id = choice(t("sreport.owner"), queries.owner_choices(), f"{NS}__owner")
    with cols[4]:
        team_id = choice(t("sreport.team"), queries.team_choices(), f"{NS}__team")
    currency = cols[5].selectbox(t("sreport.currency"), CURRENCIES, key=f"{NS}__currency")
    return {
        "pipeline_id": pipeline_id,
        "created_from": created_from,
        "created_to": created_to,
        "owner_id": owner_id,
        "team_id": team_id,
        "currency": currency,
    }


def key_figures(result: FunnelResult) -> None:
    kpi_row(
        [
            Kpi(t("funnel.cohort"), result.cohort_count, help=t("funnel.cohort_help"), icon=":material/handshake:"),
            Kpi(t("funnel.win_rate"), percent(result.win_rate), kind="text", help=t("funnel.win_rate_help")),
            Kpi(t("funnel.win_rate_value"), percent(result.win_rate_value), kind="text", help=t("funnel.win_rate_value_help")),
            Kpi(t("funnel.days_to_close"), days(result.avg_days_to_close), kind="text", help=t("funnel.days_to_close_help")),
        ]
    )


def chart_frame(result: FunnelResult, by_value: bool) -> pd.DataFrame:
    rows = []
    previous: float | None = None
    for order, stage in enumerate(result.stages):
        value = float(stage.reached_value if by_value else stage.reached_count)
        shown = fmt_money(stage.reached_value, lang, result.currency) if by_value else fmt_number(stage.reached_count, lang)
        step = percent(value / previous) if previous else None
        rows.append(
            {
                "stage_id": stage.stage_id,
                "stage": stage.name,
                "order": order,
                "kind": stage.kind,
                "left": -value / 2,
                "right": value / 2,
                "label": f"{shown} · {step}" if step else shown,
                "reached_text": fmt_number(stage.reached_count, lang),
                "value_text": fmt_money(stage.reached_value, lang, result.currency),
            }
        )
        previous = value
    return pd.DataFrame(rows)


def funnel_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Centred bars (a funnel), won in green; a click selects a stage. Labels: figure · share of the bar above."""
    widest = max(float(frame["right"].max()), 1.0)
    pick = alt.selection_point(name="stage", fields=["stage_id"], on="click")
    base = alt.Chart(frame).encode(y=alt.Y("stage:N", sort=alt.SortField("order"), title=None))
    bars = (
        base.mark_bar(cornerRadius=3)
        .encode(
            x=alt.X("left:Q", axis=None, scale=alt.Scale(domain=[-widest, widest * 1.9])),
            x2="right:Q",
            color=alt.Color("kind:N", scale=alt.Scale(domain=["open", "won"], range=[PRIMARY, PALETTE[1]]), legend=None),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=[
                alt.Tooltip("stage:N", title=t("sreport.stage")),
                alt.Tooltip("reached_text:N", title=t("funnel.reached")),
                alt.Tooltip("value_text:N", title=t("funnel.reached_value")),
            ],
        )
        .add_params(pick)
    )
    labels = base.mark_text(align="left", dx=6, color="#24292f").encode(x="right:Q", text="label:N")
    return (bars + labels).properties(height=max(160, 46 * len(frame)))


def stage_table(result: FunnelResult) -> pd.DataFrame:
    money = lambda v: fmt_money(v, lang, result.currency)  # noqa: E731
    return pd.DataFrame(
        [
            {
                t("sreport.stage"): s.name,
                t("funnel.reached"): fmt_number(s.reached_count, lang),
                t("funnel.reached_value"): money(s.reached_value),
                t("funnel.conversion"): percent(s.conversion_to_next),
                t("funnel.conversion_value"): percent(s.conversion_to_next_value),
                t("funnel.dropped"): fmt_number(s.dropped_count, lang) if s.kind == "open" else "–",
                t("funnel.dropped_value"): money(s.dropped_value) if s.kind == "open" else "–",
                t("funnel.avg_days"): days(s.avg_days_in_stage),
            }
            for s in result.stages
        ]
    )


def picked_stage(event: Any) -> int | None:
    points = (event.selection.get("stage") or []) if event is not None else []
    return int(points[0]["stage_id"]) if points and "stage_id" in points[0] else None


def sync_drill_stage(picked: int | None, stages: list[int]) -> None:
    """A newly clicked bar chooses the stage in the selectbox; an unknown stage (new filters) is dropped."""
    key, seen = f"{NS}__drill_stage", f"{NS}__picked"
    if picked is not None and picked != st.session_state.get(seen) and picked in stages:
        st.session_state[key] = picked
    st.session_state[seen] = picked
    if st.session_state.get(key) not in stages:
        st.session_state.pop(key, None)


def deals_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("funnel.deal"): frame["name"],
            t("funnel.account"): frame["account_name"],
            t("sreport.owner"): frame["owner_name"].fillna(t("sreport.no_owner")),
            t("funnel.current_stage"): frame["stage_name"],
            t("funnel.amount"): [fmt_money(a, lang, c) for a, c in zip(frame["amount"], frame["currency"])],
            t("funnel.created"): [fmt_date(v, lang) for v in frame["created_at"]],
        }
    )


def open_controls(deals: pd.DataFrame, selected_rows: list[int], key: str) -> None:
    """Open a deal on its page (`opportunity-detail?id=…`): the row chosen in the table or in the select box."""
    names = {int(r.id): f"{r.name} · {r.account_name}" for r in deals.itertuples()}
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    picked = pick.selectbox(
        t("funnel.deal"),
        list(names),
        index=None,
        format_func=names.__getitem__,
        placeholder=t("funnel.open_placeholder"),
        key=f"{key}__pick",
    )
    target = picked if picked is not None else (int(deals.iloc[selected_rows[0]]["id"]) if selected_rows else None)
    if button.button(
        t("funnel.open"),
        key=f"{key}__open",
        type="primary",
        icon=":material/open_in_new:",
        disabled=target is None,
        help=t("funnel.open_help"),
        width="stretch",
    ):
        open_opportunity(target)


def drill_down(result: FunnelResult, chosen: dict[str, Any]) -> None:
    st.subheader(t("funnel.drill_title"))
    names = {s.stage_id: s.name for s in result.stages}
    left, right = st.columns([1, 2])
    stage_id = left.selectbox(
        t("funnel.drill_stage"), list(names), format_func=names.__getitem__, key=f"{NS}__drill_stage"
    )
    won = result.stage(stage_id).kind == "won"
    options = ["reached"] if won else ["reached", "dropped"]
    which_key = f"{NS}__drill_which"
    if st.session_state.get(which_key) not in options:
        st.session_state[which_key] = "reached"
    labels = {w: t(f"funnel.which_{w}") for w in options}
    with right:
        which = st.segmented_control(
            t("funnel.drill_which"),
            options,
            format_func=labels.__getitem__,
            key=which_key,
            required=True,
        )
    deals = queries.funnel_deals(stage_id=stage_id, which=which, limit=DRILL_LIMIT, **chosen)
    if deals.empty:
        st.info(t("funnel.drill_empty"), icon=":material/info:")
        return
    st.caption(t("funnel.drill_count", n=fmt_number(len(deals), lang), limit=DRILL_LIMIT))
    key = f"{NS}__deals_{stage_id}_{which}"  # a new bar starts with nothing selected
    event = st.dataframe(deals_table(deals), hide_index=True, key=key, on_select="rerun", selection_mode="single-row")
    open_controls(deals, list(event.selection.rows), key)


def load(chosen: dict[str, Any]) -> FunnelResult | None:
    try:
        return queries.funnel_report(**chosen)
    except DomainError as error:
        show_error(error, labels={"created_to": t("funnel.created_to"), "currency": t("sreport.currency")})
        return None


def chart_section(result: FunnelResult) -> None:
    """The funnel chart; a click on a bar chooses that stage for the drill-down below."""
    head, toggle = st.columns([3, 1])
    head.subheader(t("funnel.chart_title"))
    measures = {m: t(f"funnel.by_{m}") for m in ("count", "value")}
    with toggle:
        measure = st.segmented_control(
            t("funnel.measure"),
            list(measures),
            format_func=measures.__getitem__,
            default="count",
            key=f"{NS}__measure",
            required=True,
        )
    event = st.altair_chart(
        funnel_chart(chart_frame(result, measure == "value")),
        key=f"{NS}__chart",
        on_select="rerun",
        selection_mode="stage",
        theme=None,
        width="stretch",
    )
    st.caption(t("funnel.chart_hint"))
    sync_drill_stage(picked_stage(event), [s.stage_id for s in result.stages])


def table_section(result: FunnelResult) -> None:
    st.subheader(t("funnel.table_title"))
    table = stage_table(result)
    st.dataframe(table, hide_index=True, key=f"{NS}__table")
    title = f"{t('page.funnel')} – {result.pipeline_name}"
    table_downloads(NS, title=title, file_stem=t("funnel.file_stem"), frame=lambda: table)


def report(result: FunnelResult, chosen: dict[str, Any]) -> None:
    key_figures(result)
    if result.cohort_count == 0:
        st.info(t("funnel.empty"), icon=":material/info:")
        return
    chart_section(result)
    table_section(result)
    st.divider()
    drill_down(result, chosen)


st.title(f":material/filter_alt: {t('page.funnel')}")
st.caption(t("funnel.intro"))
chosen = filters()
result = load(chosen) if chosen is not None else None
if chosen is not None and result is not None:
    report(result, chosen)
