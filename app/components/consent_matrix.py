"""The consent pages' shared pieces: reads of core.consent and the channel × purpose matrix — in full with
each cell's proof on the consent page, as a compact coloured table on the contact page's tab.

A contact's state, restrictions, suppressed addresses and ledger entries are read fresh on every run (small
indexed queries): a person confirms a double opt-in or unsubscribes through a public link, outside this
session, and a compliance officer must never see a stale state. Lists of purposes and texts are cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from app.components import queries
from app.components.i18n import current_lang, t
from core.consent import overview as consent_overview
from core.consent import restrictions as consent_restrictions
from core.consent import service as consent_service
from core.consent import suppression as consent_suppression
from core.consent import texts as consent_texts
from core.consent.ledger import check_ledger
from core.consent.service import CellView, EntryView
from core.consent.texts import PurposeView, TextView
from core.consent.vocabulary import ACTION_LABELS, CHANNELS, LEGAL_BASES, SOURCES, STATUSES, SUPPRESSION_REASONS, label
from core.contacts import ContactView
from core.formatting import DISPLAY_TZ, fmt_date, fmt_datetime
from core.ledger import Verification
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.sales.orders import list_orders

CONSENT_PAGE = "pages/consent_management.py"
CONSENT_ID_KEY = "consent_management__id"
HISTORY_PAGE = "pages/consent_history.py"
# Reasons a user picks when blocking an address; "erased" is set by the erasure itself.
MANUAL_SUPPRESSION_REASONS = tuple(r for r in SUPPRESSION_REASONS if r != "erased")
# Badge colour per status; None: nothing recorded for the cell.
STATUS_COLORS = {"granted": "green", "pending": "orange", "revoked": "red", "expired": "gray", None: "gray"}
# Cell background of the compact table (light tints of the badge colours).
STATUS_TINTS = {"granted": "#dafbe1", "pending": "#fff1d6", "revoked": "#ffe1e1", "expired": "#eaeef2", None: "#f6f8fa"}


# Reads ------------------------------------------------------------------------------------
def _matrix(url: str, actor: Actor, contact_id: int) -> list[CellView]:
    return consent_service.consent_matrix(queries._uow(url, actor), contact_id)


def _restrictions(url: str, actor: Actor, contact_id: int) -> list[consent_restrictions.RestrictionView]:
    return consent_restrictions.restrictions_of(queries._uow(url, actor), contact_id)


def _suppressed_channels(url: str, actor: Actor, contact_id: int) -> list[str]:
    return consent_suppression.suppressed_addresses(queries._uow(url, actor), contact_id)


def _history(url: str, actor: Actor, query: ListQuery) -> Page:
    return consent_service.consent_history(queries._uow(url, actor), query)


@queries._cached()
def _purposes(url: str, actor: Actor, include_inactive: bool) -> list[PurposeView]:
    return consent_texts.list_purposes(queries._uow(url, actor), include_inactive=include_inactive)


@queries._cached()
def _text_versions(url: str, actor: Actor, purpose_id: int) -> list[TextView]:
    return consent_texts.text_versions(queries._uow(url, actor), purpose_id)


@queries._cached()
def _overview(url: str, actor: Actor) -> consent_overview.ComplianceOverview:
    return consent_overview.compliance_overview(queries._uow(url, actor))


@queries._cached()
def _suppressions(url: str, actor: Actor) -> pd.DataFrame:
    return consent_suppression.list_suppressions(queries._uow(url, actor))


@queries._cached()
def _company_orders(url: str, actor: Actor, account_id: int) -> pd.DataFrame:
    return list_orders(queries._uow(url, actor), ListQuery(filters={"account_id": account_id}, page_size=200)).rows


def matrix(contact_id: int) -> list[CellView]:
    return _matrix(*queries._key(), contact_id)


def restrictions(contact_id: int) -> list[consent_restrictions.RestrictionView]:
    return _restrictions(*queries._key(), contact_id)


def suppressed_channels(contact: ContactView) -> list[str]:
    """Which of the contact's addresses ("email", "phone", "mobile") are on the suppression list."""
    return _suppressed_channels(*queries._key(), contact.id)


def history(query: ListQuery) -> Page:
    return _history(*queries._key(), query)


def purposes(*, include_inactive: bool = False) -> list[PurposeView]:
    return _purposes(*queries._key(), include_inactive)


def text_versions(purpose_id: int) -> list[TextView]:
    return _text_versions(*queries._key(), purpose_id)


def current_text(purpose_id: int, language: str) -> TextView | None:
    """The newest version in `language` (versions come newest first per language)."""
    return next((v for v in text_versions(purpose_id) if v.language == language), None)


def compliance_overview() -> consent_overview.ComplianceOverview:
    return _overview(*queries._key())


def suppressions() -> pd.DataFrame:
    return _suppressions(*queries._key())


def company_orders(account_id: int) -> pd.DataFrame:
    return _company_orders(*queries._key(), account_id)


def chain_status() -> Verification:
    """Walk the whole consent ledger (the history page's "Kette prüfen"; never cached)."""
    return check_ledger(queries._uow(*queries._key()))


def open_consent_page(contact_id: int) -> None:
    """Switch to the consent page of this contact."""
    st.session_state[CONSENT_ID_KEY] = contact_id
    st.switch_page(CONSENT_PAGE, query_params={"id": str(contact_id)})


# Words -------------------------------------------------------------------------------------------
def channel_label(channel: str) -> str:
    return label(CHANNELS, channel, current_lang())


def status_label(status: str | None) -> str:
    return t("consent.not_recorded") if status is None else label(STATUSES, status, current_lang())


def basis_label(basis: str | None, *, short: bool = False) -> str:
    """"Einwilligung, Art. 6 Abs. 1 lit. a DSGVO"; short: "Einwilligung"."""
    text = label(LEGAL_BASES, basis, current_lang())
    return text.split(",")[0] if short else text


def source_label(source: str | None) -> str:
    return label(SOURCES, source, current_lang())


def action_label(action: str | None) -> str:
    return label(ACTION_LABELS, action, current_lang())


def purpose_names(views: Sequence[PurposeView]) -> dict[int, str]:
    lang = current_lang()
    return {p.id: p.name(lang) for p in views}


def local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=DISPLAY_TZ).astimezone(dt.timezone.utc)


# Matrix ------------------------------------------------------------------------------------------
def proof_rows(entry: EntryView) -> pd.DataFrame:
    """Everything the ledger keeps as proof of one entry, as (Angabe, Wert) rows; empty values left out."""
    lang = current_lang()
    text = (
        t("consent.text_version_value", version=entry.text_version, sha=entry.text_sha256 or "")
        if entry.text_version is not None
        else None
    )
    rows = [
        (t("consent.proof_entry"), f"{entry.id} · {action_label(entry.action)}"),
        (t("consent.proof_when"), fmt_datetime(entry.occurred_at, lang)),
        (t("consent.basis"), basis_label(entry.legal_basis)),
        (t("consent.source"), source_label(entry.source)),
        (t("consent.text_version"), text),
        (t("consent.address"), entry.address),
        (t("consent.ip"), entry.ip),
        (t("consent.user_agent"), entry.user_agent),
        (t("consent.doi_requested_at"), fmt_datetime(entry.doi_requested_at, lang)),
        (t("consent.doi_confirmed_at"), fmt_datetime(entry.doi_confirmed_at, lang)),
        (t("consent.valid_until"), fmt_datetime(entry.valid_until, lang)),
        (t("consent.order"), str(entry.order_id) if entry.order_id else None),
        (t("consent.evidence"), entry.evidence),
        (t("consent.reason"), entry.reason),
        (t("consent.actor"), entry.actor_name),
        (t("consent.hash"), entry.hash),
    ]
    return pd.DataFrame([(k, v) for k, v in rows if v], columns=[t("consent.proof_field"), t("consent.proof_value")])


def _cell(ns: str, cell: CellView) -> None:
    status = cell.status
    entry = cell.entry
    st.badge(status_label(status), color=STATUS_COLORS[status])
    if entry is None:
        st.caption(t("consent.cell_empty"))
        return
    lang = current_lang()
    st.caption(
        t("consent.cell_since", basis=basis_label(entry.legal_basis, short=True), since=fmt_date(entry.occurred_at, lang))
    )
    version = t("consent.cell_version", version=entry.text_version) if entry.text_version is not None else ""
    st.caption(" · ".join(p for p in (source_label(entry.source), version) if p))
    if entry.valid_until is not None:
        st.caption(t("consent.cell_valid_until", day=fmt_date(entry.valid_until, lang)))
    with st.popover(t("consent.proof"), icon=":material/fact_check:", width="stretch"):
        st.dataframe(proof_rows(entry), hide_index=True, width="stretch", key=f"{ns}__proof_{cell.channel}_{cell.purpose_id}")


def render_matrix(ns: str, cells: Sequence[CellView], purpose_views: Sequence[PurposeView]) -> None:
    """Rows purposes, columns channels; each cell its status in words and colour, basis, since, source,
    text version and a popover with the full proof."""
    names = purpose_names(purpose_views)
    by_cell = {(c.purpose_id, c.channel): c for c in cells}
    widths = [1.4] + [1.0] * len(CHANNELS)
    for col, text in zip(st.columns(widths), ["", *(channel_label(c) for c in CHANNELS)]):
        col.markdown(f"**{text}**")
    for purpose_id in dict.fromkeys(c.purpose_id for c in cells):
        row = st.columns(widths, vertical_alignment="top")
        row[0].markdown(f"**{names.get(purpose_id, purpose_id)}**")
        for col, channel in zip(row[1:], CHANNELS):
            with col.container(border=True):
                _cell(ns, by_cell[(purpose_id, channel)])


def compact_matrix(cells: Sequence[CellView], purpose_views: Sequence[PurposeView]) -> None:
    """The matrix as one table: status in words on a tinted background."""
    names = purpose_names(purpose_views)
    purpose_ids = list(dict.fromkeys(c.purpose_id for c in cells))
    statuses = {(c.purpose_id, c.channel): c.status for c in cells}
    columns = {channel_label(ch): ch for ch in CHANNELS}
    index = [names.get(p, str(p)) for p in purpose_ids]
    frame = pd.DataFrame(
        {name: [status_label(statuses[(p, ch)]) for p in purpose_ids] for name, ch in columns.items()}, index=index
    )
    tints = pd.DataFrame(
        {name: [f"background-color: {STATUS_TINTS[statuses[(p, ch)]]}" for p in purpose_ids] for name, ch in columns.items()},
        index=index,
    )
    st.dataframe(frame.style.apply(lambda _frame: tints, axis=None), width="stretch")


def granted_count(cells: Sequence[CellView]) -> int:
    return sum(1 for c in cells if c.status == "granted")
