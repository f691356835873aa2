"""Umsatzprognose: open deals by expected close date (weighted) and won deals by close date, per period,
owner and stage — with CSV, Excel and PDF downloads. The figures come from core.sales.forecast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from babel import Locale
from babel.numbers import format_currency

from app.components import context, queries
from app.components.exporting import download_button, generated_line
from app.components.feedback import show_error
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from app.components.list_report import csv_bytes
from core.errors import DomainError
from core.formatting import babel_locale, fmt_date, fmt_money, fmt_number
from core.sales.opportunities import local_today
from exports.excel.table import dataframe_to_xlsx
from exports.pdf.forecast import forecast_pdf

NS = "forecast"
MEASURES = ("weighted_amount", "open_amount", "won_amount", "count")
# Vega's number formatting (axis labels) in the user's language
NUMBER_LOCALES = {
    "de": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " €"]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]},
}
lang = current_lang()


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The current quarter and the next three."""
    start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = (pd.Timestamp(start) + pd.DateOffset(months=12) - pd.Timedelta(days=1)).date()
    return start, end


def choice(label: str, options: dict[Any, str], key: str, all_label: str | None = None) -> Any:
    """A selectbox with "Alle" first; returns the chosen key or None."""
    labels = {None: all_label or t("sreport.all"), **options}
    return st.selectbox(label, list(labels), format_func=labels.__getitem__, key=key)


def filters() -> dict[str, Any]:
    start, end = default_range(local_today(context.clock()()))
    cols = st.columns([1.7, 1.35, 1.35, 1.9, 1.9, 1.6])
    periods = {p: t(f"forecast.{p}") for p in ("month", "quarter")}
    with cols[0]:
        period = st.segmented_control(
            t("forecast.period_type"),
            list(periods),
            format_func=periods.__getitem__,
            default="month",
            key=f"{NS}__period",
            required=True,
        )
    date_from = cols[1].date_input(t("sreport.date_from"), value=start, format="DD.MM.YYYY", key=f"{NS}__from")
    date_to = cols[2].date_input(t("sreport.date_to"), value=end, format="DD.MM.YYYY", key=f"{NS}__to")
    with cols[3]:
        pipeline_id = choice(
            t("sreport.pipeline"), {p.id: p.name for p in queries.pipelines()}, f"{NS}__pipeline", t("sreport.all_pipelines")
        )
    with cols[4]:
        owner_id = choice(t("sreport.owner"), queries.owner_choices(), f"{NS}__owner")
    with cols[5]:
        team_id = choice(t("sreport.team"), queries.team_choices(), f"{NS}__team")
    return {
        "period": period,
        "date_from": date_from,
        "date_to": date_to,
        "pipeline_id": pipeline_id,
        "owner_id": owner_id,
        "team_id": team_id,
    }


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """User-facing owner and category names."""
    return frame.assign(
        owner_name=frame["owner_name"].fillna(t("sreport.no_owner")),
        category=[t(f"forecast.cat.{c}") for c in frame["forecast_category"]],
    )


def pick_currency(frame: pd.DataFrame) -> str:
    currencies = sorted(frame["currency"].unique())
    if len(currencies) == 1:
        return str(currencies[0])
    default = currencies.index("EUR") if "EUR" in currencies else 0
    choose, hint = st.columns([1, 5], vertical_alignment="bottom")
    hint.caption(t("forecast.currency_hint"))
    return str(choose.selectbox(t("sreport.currency"), currencies, index=default, key=f"{NS}__currency"))


def whole_money(value: Decimal, currency: str) -> str:
    """Money without cents for the key figures (1.486.833 €), in the locale's currency pattern."""
    pattern = Locale.parse(babel_locale(lang)).currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(value, currency, format=pattern, locale=babel_locale(lang), currency_digits=False)


def total(frame: pd.DataFrame, column: str) -> Decimal:
    return sum(frame[column], Decimal("0.00"))


def key_figures(frame: pd.DataFrame, currency: str) -> None:
    open_, weighted, won = (total(frame, c) for c in ("open_amount", "weighted_amount", "won_amount"))
    money = lambda v: whole_money(v, currency)  # noqa: E731
    kpi_row(
        [
            Kpi(t("forecast.open"), money(open_), kind="text", help=t("forecast.open_help"), icon=":material/pending:"),
            Kpi(t("forecast.weighted"), money(weighted), kind="text", help=t("forecast.weighted_help"), icon=":material/balance:"),
            Kpi(t("forecast.won"), money(won), kind="text", help=t("forecast.won_help"), icon=":material/emoji_events:"),
            Kpi(t("forecast.expected"), money(won + weighted), kind="text", help=t("forecast.expected_help")),
        ]
    )


def stacked_chart(frame: pd.DataFrame, currency: str, split: str) -> alt.Chart:
    """Won + weighted open per period, stacked by forecast category or stage (largest stage on top)."""
    group = "category" if split == "category" else "stage_name"
    data = (
        frame.assign(amount=[float(w + v) for w, v in zip(frame["weighted_amount"], frame["won_amount"])])
        .groupby(["period", group], as_index=False)
        .agg(amount=("amount", "sum"), order=("stage_position", "min"))
    )
    data["amount_text"] = [fmt_money(v, lang, currency) for v in data["amount"]]
    sort = [t(f"forecast.cat.{c}") for c in ("closed", "commit", "best_case", "pipeline", "omitted")]
    if group == "stage_name":
        sort = list(data.sort_values("order", ascending=False)[group].drop_duplicates())
    title = t("forecast.category") if group == "category" else t("sreport.stage")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("period:O", title=t("sreport.period"), sort="ascending", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(amount):Q", title=f"{t('forecast.amount')} ({currency})", axis=alt.Axis(format=",.0f")),
            color=alt.Color(f"{group}:N", title=title, sort=sort),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("period:O", title=t("sreport.period")),
                alt.Tooltip(f"{group}:N", title=title),
                alt.Tooltip("amount_text:N", title=t("forecast.amount")),
            ],
        )
        .properties(height=340)
        .configure(locale={"number": NUMBER_LOCALES[lang]})
    )


def pivot(frame: pd.DataFrame, measure: str, currency: str) -> pd.DataFrame:
    """Stage × owner rows, one column per period, with totals; cells formatted for reading ("–" for nothing)."""
    values = frame.assign(value=[float(v) for v in frame[measure]])
    table = values.pivot_table(index=["stage_position", "stage_name", "owner_name"], columns="period", values="value", aggfunc="sum", fill_value=0.0)
    table[t("sreport.total")] = table.sum(axis=1)
    table.loc[(10**6, t("sreport.total"), ""), :] = table.sum(axis=0)
    table = table.reset_index().drop(columns="stage_position")
    def text(value: float) -> str:
        if not value:
            return "–"
        return fmt_number(value, lang) if measure == "count" else fmt_money(value, lang, currency)

    shown = table.rename(columns={"stage_name": t("sreport.stage"), "owner_name": t("sreport.owner")})
    for column in shown.columns[2:]:
        shown[column] = [text(v) for v in shown[column]]
    shown.columns = [str(c) for c in shown.columns]
    return shown


def export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("sreport.period"): frame["period"],
            t("sreport.owner"): frame["owner_name"],
            t("sreport.stage"): frame["stage_name"],
            t("forecast.category"): frame["category"],
            t("sreport.currency"): frame["currency"],
            t("sreport.count"): frame["count"],
            t("forecast.open_amount"): frame["open_amount"],
            t("forecast.weighted_amount"): frame["weighted_amount"],
            t("forecast.won_amount"): frame["won_amount"],
        }
    )


def filter_lines(chosen: dict[str, Any]) -> list[tuple[str, str]]:
    pipelines = {p.id: p.name for p in queries.pipelines()}
    owners, teams = queries.owner_choices(), queries.team_choices()
    every = t("sreport.all")
    return [
        (t("sreport.period"), f"{fmt_date(chosen['date_from'], lang)} – {fmt_date(chosen['date_to'], lang)} ({t('forecast.' + chosen['period'])})"),
        (t("sreport.pipeline"), pipelines.get(chosen["pipeline_id"], t("sreport.all_pipelines"))),
        (t("sreport.owner"), owners.get(chosen["owner_id"], every)),
        (t("sreport.team"), teams.get(chosen["team_id"], every)),
    ]


def downloads(frame: pd.DataFrame, chosen: dict[str, Any]) -> None:
    table = export_frame(frame)
    title = t("page.forecast")
    stem = f"{t('forecast.file_stem')}-{chosen['date_from']:%Y%m%d}-{chosen['date_to']:%Y%m%d}"
    money = [t("forecast.open_amount"), t("forecast.weighted_amount"), t("forecast.won_amount")]
    floats = table.assign(**{c: table[c].astype(float) for c in money})
    st.caption(t("forecast.downloads"))
    csv_col, xlsx_col, pdf_col, _ = st.columns([1, 1, 1, 3])
    download_button(
        csv_col,
        t("sreport.csv"),
        lambda: csv_bytes(floats),
        file_name=f"{stem}.csv",
        key=f"{NS}__csv",
    )
    download_button(
        xlsx_col,
        t("sreport.excel"),
        lambda: dataframe_to_xlsx(floats, sheet_name=title, title=title, subtitle=generated_line()),
        file_name=f"{stem}.xlsx",
        key=f"{NS}__xlsx",
    )
    download_button(
        pdf_col,
        t("sreport.pdf"),
        lambda: forecast_pdf(
            table,
            title=title,
            filters=filter_lines(chosen),
            generated_line=generated_line(),
            currency_column=t("sreport.currency"),
            money_columns=money,
            count_columns=[t("sreport.count")],
            total_label=t("sreport.total_currency"),
            locale=babel_locale(lang),
            page_label=t("export.page_label"),
        ),
        file_name=f"{stem}.pdf",
        key=f"{NS}__pdf",
    )


def load(chosen: dict[str, Any]) -> pd.DataFrame | None:
    try:
        return queries.forecast_report(**chosen)
    except DomainError as error:
        show_error(error, labels={"date_to": t("sreport.date_to")})
        return None


def chart_section(shown: pd.DataFrame, currency: str) -> None:
    head, toggle = st.columns([2.6, 1.4], vertical_alignment="bottom")
    head.subheader(t("forecast.chart_title"))
    splits = {s: t(f"forecast.by_{s}") for s in ("category", "stage")}
    with toggle:
        split = st.segmented_control(
            t("forecast.split"),
            list(splits),
            format_func=splits.__getitem__,
            default="category",
            key=f"{NS}__split",
            required=True,
        )
    st.altair_chart(stacked_chart(shown, currency, split), key=f"{NS}__chart", theme=None, width="stretch")
    st.caption(t("forecast.chart_hint"))


def pivot_section(shown: pd.DataFrame, currency: str) -> None:
    head, toggle = st.columns([2.6, 1.4], vertical_alignment="bottom")
    head.subheader(t("forecast.pivot_title"))
    measures = {m: t("sreport.count") if m == "count" else t(f"forecast.{m}") for m in MEASURES}
    with toggle:
        measure = st.selectbox(t("forecast.measure"), list(measures), format_func=measures.__getitem__, key=f"{NS}__measure")
    st.dataframe(pivot(shown, measure, currency), hide_index=True, key=f"{NS}__pivot")


def report(frame: pd.DataFrame, chosen: dict[str, Any]) -> None:
    frame = labelled(frame)
    currency = pick_currency(frame)
    shown = frame[frame["currency"] == currency]
    key_figures(shown, currency)
    chart_section(shown, currency)
    pivot_section(shown, currency)
    downloads(frame, chosen)


st.title(f":material/trending_up: {t('page.forecast')}")
st.caption(t("forecast.intro"))
chosen = filters()
frame = load(chosen)
if frame is not None and frame.empty:
    st.info(t("forecast.empty"), icon=":material/info:")
elif frame is not None:
    report(frame, chosen)
