"""The Änderungsprotokoll section of object pages: who changed which field from what to what, and why.

`change_log_section` is the tab of the account and contact pages: the record's entries plus those of
its addresses, filtered by field, user and period, exported as CSV or PDF, with a badge from a real
verification of exactly the entries shown (`core.addresses.change_log`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from app.components import queries
from app.components.address_tab import owner_addresses
from app.components.exporting import download_button, generated_line
from app.components.i18n import current_lang, t, t_or
from app.components.list_report import csv_bytes
from core import addresses
from core.addresses import ADDRESS_TYPES, ChangeLog, Owner
from core.formatting import DISPLAY_TZ, babel_locale, fmt_date, fmt_datetime
from core.ledger import Verification
from core.permissions import Actor
from exports.pdf.table import dataframe_to_pdf

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
REFERENCE_FIELDS: dict[str, Callable[[int], Mapping[int, str]]] = {
    "owner_id": lambda _id: queries.owner_choices(),
    "account_id": lambda account_id: queries.account_labels((account_id,)),
}


DATE_FIELDS = frozenset({"birth_date", "valid_from", "valid_until"})


def _value(field: object, value: object) -> str:
    """Referenced records by name instead of id (owner 3 → "Anna Schmidt"), dates and codes in words."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value)
    labels = REFERENCE_FIELDS.get(field) if isinstance(field, str) else None
    if labels is not None and text.isdigit():
        return labels(int(text)).get(int(text), text)
    if field in DATE_FIELDS and ISO_DATE.fullmatch(text):
        return fmt_date(dt.date.fromisoformat(text), current_lang())
    if field == "type" and text in ADDRESS_TYPES:
        return t(f"address_type.{text}")
    return text


def history_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Audit rows as the user reads them: local time, action and field names in words."""
    lang = current_lang()
    return pd.DataFrame(
        {
            t("history.when"): [fmt_datetime(v, lang) for v in frame["occurred_at"]],
            t("history.who"): frame["actor_name"],
            t("history.action"): [t_or(f"action.{a}", a) for a in frame["action"]],
            t("history.field"): [
                t_or(f"field.{e}.{f}", f) if isinstance(f, str) else "" for e, f in zip(frame["entity"], frame["field"])
            ],
            t("history.old"): [_value(f, v) for f, v in zip(frame["field"], frame["old_value"])],
            t("history.new"): [_value(f, v) for f, v in zip(frame["field"], frame["new_value"])],
            t("history.reason"): frame["reason"].fillna(""),
        }
    )


@queries._cached()
def _change_log(
    url: str, actor: Actor, owner: Owner, field: str | None, actor_name: str | None, since: Any, until: Any
) -> ChangeLog:
    return addresses.change_log(
        queries._uow(url, actor), owner=owner, field=field, actor_name=actor_name, since=since, until=until
    )


def change_log(
    owner: Owner,
    *,
    field: str | None = None,
    actor_name: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> ChangeLog:
    return _change_log(*queries._key(), owner, field, actor_name, since, until)


def field_label(entity: str, field: str) -> str:
    return t_or(f"field.{entity}.{field}", field)


def object_label(entity: str, entity_id: str, owner: Owner, address_types: Mapping[str, str]) -> str:
    """ "Firma" for the record itself, "Rechnungsadresse (Adresse 12)" for one of its addresses."""
    if entity == "address" and entity_id in address_types:
        return t("changelog.address", type=t(f"address_type.{address_types[entity_id]}"), id=entity_id)
    name = t_or(f"entity.{entity}", entity)
    return name if (entity, entity_id) == (owner.kind, str(owner.id)) else f"{name} {entity_id}"


def counted(key: str, n: int) -> str:
    """Singular text for one entry ("1 Eintrag"), the plural otherwise."""
    return t(f"{key}_one") if n == 1 else t(key, n=n)


def local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=DISPLAY_TZ).astimezone(dt.timezone.utc)


def verification_badge(result: Verification) -> None:
    if result.ok:
        st.badge(counted("changelog.verified", result.checked), icon=":material/verified:", color="green")
        st.caption(t("changelog.verified_help"))
    else:
        st.badge(t("changelog.broken_badge"), icon=":material/gpp_bad:", color="red")
        st.error(t("changelog.broken", id=result.first_bad_id, problem=result.problem), icon=":material/gpp_bad:")


def change_log_downloads(ns: str, table: pd.DataFrame, title: str, file_stem: str) -> None:
    """CSV and PDF of a change-log table (the Änderungsprotokoll of any object page)."""
    lang = current_lang()
    csv_col, pdf_col, _ = st.columns([1, 1, 4])
    download_button(
        csv_col,
        t("list.export_csv"),
        lambda: csv_bytes(table),
        file_name=f"{file_stem}.csv",
        key=f"{ns}__csv",
    )
    download_button(
        pdf_col,
        t("export.pdf"),
        lambda: dataframe_to_pdf(
            table,
            title=title,
            generated_line=generated_line(),
            locale=babel_locale(lang),
            page_label=t("export.page_label"),
        ),
        file_name=f"{file_stem}.pdf",
        key=f"{ns}__pdf",
    )


def change_log_section(ns: str, owner: Owner, *, name: str) -> None:
    """Filters (field, user, period), the verification badge, the table and its CSV/PDF export."""
    st.caption(t("changelog.intro"))
    everything = change_log(owner).entries
    if everything.empty:
        st.info(t("history.empty"), icon=":material/history:")
        return
    fields = {
        str(f): field_label(str(e), str(f))
        for e, f in zip(everything["entity"], everything["field"])
        if isinstance(f, str)
    }
    users = sorted(set(everything["actor_name"]))
    field_col, user_col, period_col = st.columns([1, 1, 2])
    field = field_col.selectbox(
        t("changelog.field"),
        [None, *sorted(fields, key=lambda f: fields[f].lower())],
        format_func=lambda f: t("changelog.all") if f is None else fields[f],
        key=f"{ns}__field",
    )
    actor_name = user_col.selectbox(
        t("changelog.user"),
        [None, *users],
        format_func=lambda u: t("changelog.all") if u is None else u,
        key=f"{ns}__user",
    )
    period = period_col.date_input(t("changelog.period"), value=(), format="DD.MM.YYYY", key=f"{ns}__period")
    since = local_day_start(period[0]) if len(period) >= 1 else None
    until = local_day_start(period[1] + dt.timedelta(days=1)) if len(period) == 2 else None
    log = change_log(owner, field=field, actor_name=actor_name, since=since, until=until)
    if log.entries.empty:
        st.info(t("changelog.empty"), icon=":material/filter_alt_off:")
        return
    verification_badge(log.verification)
    frame = log.entries
    table = history_table(frame)
    address_types = {str(a.id): a.type for a in owner_addresses(owner, include_retired=True)}
    objects = [object_label(e, str(i), owner, address_types) for e, i in zip(frame["entity"], frame["entity_id"])]
    table.insert(1, t("changelog.object"), objects)
    st.caption(counted("changelog.count", len(table)))
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(600, 38 + 35 * len(table)),
        column_config={t("changelog.object"): st.column_config.TextColumn(width="medium")},
    )
    change_log_downloads(ns, table, t("changelog.title", name=name), f"aenderungsprotokoll-{owner.kind}-{owner.id}")
