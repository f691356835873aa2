"""Download buttons: files built only when clicked, as the page's user; a table as Excel and PDF with the suite's
title and generated-at line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
import streamlit as st

from app.components import context
from app.components.i18n import current_lang, t
from core.formatting import babel_locale, fmt_datetime
from exports.excel.table import dataframe_to_xlsx
from exports.pdf.table import dataframe_to_pdf


# File extension → (MIME type, icon).
FILE_KINDS = {
    "csv": ("text/csv", ":material/csv:"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ":material/table_view:"),
    "pdf": ("application/pdf", ":material/picture_as_pdf:"),
    "eml": ("message/rfc822", ":material/mail:"),
}


def download_button(
    container: Any,
    label: str,
    build: Callable[[], bytes],
    *,
    file_name: str,
    key: str,
    width: Literal["stretch", "content"] = "stretch",
) -> None:
    """A download whose file `build()` makes when the button is clicked (in the page's session, see
    `context.deferred`); MIME type and icon follow the file's extension."""
    mime, icon = FILE_KINDS[file_name.rsplit(".", 1)[-1]]
    container.download_button(
        label,
        data=context.deferred(build),
        file_name=file_name,
        mime=mime,
        key=key,
        icon=icon,
        on_click="ignore",
        width=width,
    )


def generated_line() -> str:
    user = context.current_user()
    who = user.display_name if user else ""
    return t("export.generated", when=fmt_datetime(context.clock()(), current_lang()), who=who)


def table_downloads(ns: str, *, title: str, file_stem: str, frame: Callable[[], pd.DataFrame]) -> None:
    """Excel and PDF of `frame()` (built only when a button is clicked)."""
    lang = current_lang()
    xlsx_col, pdf_col, _ = st.columns([1, 1, 4])
    download_button(
        xlsx_col,
        t("list.export_xlsx"),
        lambda: dataframe_to_xlsx(frame(), sheet_name=title, title=title, subtitle=generated_line()),
        file_name=f"{file_stem}.xlsx",
        key=f"{ns}__xlsx",
    )
    download_button(
        pdf_col,
        t("export.pdf"),
        lambda: dataframe_to_pdf(
            frame(),
            title=title,
            generated_line=generated_line(),
            locale=babel_locale(lang),
            page_label=t("export.page_label"),
        ),
        file_name=f"{file_stem}.pdf",
        key=f"{ns}__pdf",
    )
