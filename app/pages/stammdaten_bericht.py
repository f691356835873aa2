"""Stammdaten-Bericht: key figures and accounts by industry and by city, with export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import queries
from app.components.charts import horizontal_bars, show_chart
from app.components.exporting import table_downloads
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from core.formatting import fmt_number
from core.reports_basic import Dimension

NS = "md_report"
lang = current_lang()


def grouped(dimension: Dimension) -> pd.DataFrame:
    frame = queries.accounts_by(dimension, limit=15)
    return frame.assign(
        label=frame["label"].fillna(t("report.not_given")),
        accounts_text=[fmt_number(v, lang) for v in frame["accounts"]],
    )


def breakdown(dimension: Dimension, title_key: str) -> pd.DataFrame:
    frame = grouped(dimension)
    st.subheader(t(title_key))
    if frame.empty:
        st.info(t("report.empty"), icon=":material/info:")
        return frame
    chart = horizontal_bars(
        frame,
        category="label",
        value="accounts",
        category_title=t(f"report.{dimension}"),
        value_title=t("accounts.plural"),
        tooltip_text="accounts_text",
    )
    show_chart(chart, key=f"{NS}__chart_{dimension}")
    return frame


def export_frame(industry: pd.DataFrame, city: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {t("report.dimension"): t(f"report.{dim}"), t("report.group"): r.label, t("accounts.plural"): int(r.accounts), t("contacts.plural"): int(r.contacts)}
        for dim, frame in (("industry", industry), ("city", city))
        for r in frame.itertuples()
    ]
    return pd.DataFrame(rows)


st.title(f":material/bar_chart: {t('page.master_data_report')}")
figures = queries.master_data_figures()
kpi_row(
    [
        Kpi(t("accounts.plural"), figures.accounts, icon=":material/domain:"),
        Kpi(t("contacts.plural"), figures.contacts, icon=":material/groups:"),
        Kpi(t("report.contacts_per_account"), figures.contacts_per_account, kind="decimal"),
        Kpi(t("report.accounts_without_contacts"), figures.accounts_without_contacts, help=t("report.accounts_without_contacts_help")),
        Kpi(t("report.contacts_without_account"), figures.contacts_without_account),
    ]
)
if figures.accounts == 0:
    st.info(t("report.no_accounts"), icon=":material/info:")
else:
    left, right = st.columns(2)
    with left:
        by_industry = breakdown("industry", "report.by_industry")
    with right:
        by_city = breakdown("city", "report.by_city")
    st.divider()
    table_downloads(NS, title=t("page.master_data_report"), file_stem="stammdaten-bericht", frame=lambda: export_frame(by_industry, by_city))
