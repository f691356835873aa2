"""Download buttons for a table as Excel and PDF, with the suite's title and generated-at line."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from app.components import context
from app.components.i18n import current_lang, t
from core.formatting import babel_locale, fmt_datetime
from exports.excel.table import dataframe_to_xlsx
from exports.pdf.table import dataframe_to_pdf


def generated_line() -> str:
    user = context.current_user()
    who = user.display_name if user else ""
    return t("export.generated", when=fmt_datetime(context.clock()(), current_lang()), who=who)


def table_downloads(ns: str, *, title: str, file_stem: str, frame: Callable[[], pd.DataFrame]) -> None:
    """Excel and PDF of `frame()` (built only when a button is clicked)."""
    lang = current_lang()
    xlsx_col, pdf_col, _ = st.columns([1, 1, 4])
    xlsx_col.download_button(
        t("list.export_xlsx"),
        data=context.deferred(
            lambda: dataframe_to_xlsx(frame(), sheet_name=title, title=title, subtitle=generated_line())
        ),
        file_name=f"{file_stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{ns}__xlsx",
        icon=":material/table_view:",
        on_click="ignore",
        width="stretch",
    )
    pdf_col.download_button(
        t("export.pdf"),
        data=context.deferred(lambda: dataframe_to_pdf(
            frame(),
            title=title,
            generated_line=generated_line(),
            locale=babel_locale(lang),
            page_label=t("export.page_label"),
        )),
        file_name=f"{file_stem}.pdf",
        mime="application/pdf",
        key=f"{ns}__pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        width="stretch",
    )
