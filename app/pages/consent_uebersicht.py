"""Compliance-Übersicht: pending and overdue double opt-ins, the DOI confirmation rate, suppression list,
restrictions and objections, consents due for a refresh, the opt-in rate per channel × purpose (heatmap and
table) and the proofs that expire soon. All figures come from core.consent.overview."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from babel.numbers import format_percent

from app.components import consent_matrix as cm
from app.components.charts import show_chart
from app.components.exporting import table_downloads
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from core.consent.overview import DOI_RATE_WINDOW, EXPIRY_WINDOW, REFRESH_AFTER, ComplianceOverview
from core.formatting import babel_locale, fmt_datetime, fmt_number

NS = "consent_overview"
lang = current_lang()


def percent(value: float | None) -> str:
    return "–" if value is None else format_percent(value, format="#,##0.0 %", locale=babel_locale(lang))


def key_figures(data: ComplianceOverview) -> None:
    kpi_row(
        [
            Kpi(t("consent.kpi_pending"), data.pending_doi, help=t("consent.kpi_pending_help"), icon=":material/pending:"),
            Kpi(t("consent.kpi_overdue"), data.overdue_doi, help=t("consent.kpi_overdue_help"), icon=":material/alarm:"),
            Kpi(
                t("consent.kpi_doi_rate"),
                percent(data.doi_confirmation_rate),
                kind="text",
                help=t("consent.kpi_doi_rate_help", days=DOI_RATE_WINDOW.days, confirmed=data.doi_confirmed_90d,
                       requested=data.doi_requested_90d),
            ),
        ]
    )
    kpi_row(
        [
            Kpi(t("consent.kpi_suppressed"), data.suppressed, help=t("consent.kpi_suppressed_help"), icon=":material/do_not_disturb_on:"),
            Kpi(
                t("consent.kpi_restricted"),
                t("consent.kpi_restricted_value", restricted=fmt_number(data.restricted, lang), objected=fmt_number(data.objected, lang)),
                kind="text",
                help=t("consent.kpi_restricted_help"),
            ),
            Kpi(
                t("consent.kpi_refresh"),
                data.refresh_due,
                help=t("consent.kpi_refresh_help", years=REFRESH_AFTER.days // 365),
                icon=":material/update:",
            ),
        ]
    )


def rate_frame(rates: pd.DataFrame) -> pd.DataFrame:
    frame = rates.copy()
    frame["channel_label"] = [cm.channel_label(c) for c in frame["channel"]]
    frame["rate_text"] = [percent(r) for r in frame["rate"]]
    frame["granted_text"] = [fmt_number(g, lang) for g in frame["granted"]]
    frame["base_text"] = [fmt_number(b, lang) for b in frame["reachable_contacts"]]
    return frame


def heatmap(frame: pd.DataFrame) -> alt.LayerChart:
    """Opt-in rate per channel × purpose: darker is a larger share of the addressable contacts."""
    channels = list(dict.fromkeys(frame["channel_label"]))
    purposes = list(dict.fromkeys(frame["purpose"]))
    base = alt.Chart(frame).encode(
        x=alt.X("channel_label:N", sort=channels, title=t("consent.channel"), axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("purpose:N", sort=purposes, title=t("consent.purpose")),
    )
    cells = base.mark_rect(cornerRadius=3).encode(
        color=alt.Color(
            "rate:Q",
            scale=alt.Scale(scheme="blues", domain=[0, max(0.05, float(frame["rate"].max()))]),
            legend=alt.Legend(title=t("consent.rate"), format="%"),
        ),
        tooltip=[
            alt.Tooltip("purpose:N", title=t("consent.purpose")),
            alt.Tooltip("channel_label:N", title=t("consent.channel")),
            alt.Tooltip("rate_text:N", title=t("consent.rate")),
            alt.Tooltip("granted_text:N", title=t("consent.granted_count")),
            alt.Tooltip("base_text:N", title=t("consent.reachable")),
        ],
    )
    labels = base.mark_text(fontSize=13).encode(
        text="rate_text:N",
        color=alt.condition(alt.datum.rate > 0.5, alt.value("white"), alt.value("#24292f")),
    )
    return (cells + labels).properties(height=max(160, 44 * len(purposes)))


def rate_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("consent.purpose"): frame["purpose"],
            t("consent.channel"): frame["channel_label"],
            t("consent.reachable"): [fmt_number(v, lang) for v in frame["reachable_contacts"]],
            t("consent.granted_count"): [fmt_number(v, lang) for v in frame["granted"]],
            t("consent.revoked_count"): [fmt_number(v, lang) for v in frame["revoked"]],
            t("consent.pending_count"): [fmt_number(v, lang) for v in frame["pending"]],
            t("consent.expired_count"): [fmt_number(v, lang) for v in frame["expired"]],
            t("consent.rate"): frame["rate_text"],
        }
    )


def expiring_table(expiring: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("consent.entry_no"): expiring["entry_id"].astype(int),
            t("consent.contact_id"): expiring["contact_id"].astype(int),
            t("consent.channel"): [cm.channel_label(c) for c in expiring["channel"]],
            t("consent.purpose"): expiring["purpose"],
            t("consent.valid_until"): [fmt_datetime(pd.Timestamp(v).to_pydatetime(), lang) for v in expiring["valid_until"]],
        }
    )


st.title(f":material/shield_person: {t('page.consent_overview')}")
st.caption(t("consent.overview_intro"))
data = cm.compliance_overview()
key_figures(data)

st.subheader(t("consent.rates_title"))
if data.rates.empty:
    st.info(t("consent.no_purposes"), icon=":material/info:")
else:
    rates = rate_frame(data.rates)
    st.caption(t("consent.rates_intro"))
    show_chart(heatmap(rates), key=f"{NS}__heatmap")
    table = rate_table(rates)
    st.dataframe(table, hide_index=True, width="stretch")
    table_downloads(f"{NS}_rates", title=t("consent.rates_title"), file_stem="opt-in-quoten", frame=lambda: table)

st.subheader(t("consent.expiring_title"))
st.caption(t("consent.expiring_intro", days=EXPIRY_WINDOW.days))
if data.expiring.empty:
    st.info(t("consent.expiring_none"), icon=":material/event_available:")
else:
    st.dataframe(expiring_table(data.expiring), hide_index=True, width="stretch")
