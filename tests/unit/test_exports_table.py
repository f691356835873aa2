"""Excel and PDF table builders: open the produced files and check what a reader would see."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from io import BytesIO

import pandas as pd
import pytest

from exports.excel.table import MONEY_FORMAT, dataframe_to_xlsx
from exports.pdf.table import dataframe_to_pdf, format_cell

STAMP = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.timezone.utc)


def frame(rows: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Firma": [f"Müller & Söhne GmbH {i}" for i in range(rows)],
            "Mitarbeitende": [1200 + i for i in range(rows)],
            "Umsatz": [Decimal("1234.5")] * rows,
            "Geändert am": [STAMP] * rows,
        }
    )


def xlsx_parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".xml")}


def test_xlsx_has_title_header_and_typed_cells() -> None:
    parts = xlsx_parts(dataframe_to_xlsx(frame(), title="Firmen", subtitle="Erstellt am 25.11.2026", number_formats={"Umsatz": MONEY_FORMAT}))
    strings = parts["xl/sharedStrings.xml"]
    for text in ("Firmen", "Erstellt am 25.11.2026", "Firma", "Mitarbeitende", "Müller &amp; Söhne GmbH 0"):
        assert text in strings
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert '<pane ySplit="4"' in sheet, "header row (below the title block) is frozen"
    assert "<autoFilter" in sheet
    assert "<v>1200</v>" in sheet, "numbers are numbers, not text"
    styles = parts["xl/styles.xml"]
    assert 'formatCode="#,##0"' in styles
    assert 'formatCode="dd.mm.yyyy hh:mm"' in styles
    assert "#,##0.00 &quot;€&quot;" in styles


def test_xlsx_writes_local_wall_clock_time() -> None:
    sheet = xlsx_parts(dataframe_to_xlsx(frame(1)))["xl/worksheets/sheet1.xml"]
    # 25.11.2026 10:30 in Berlin = Excel serial 46351 + 10.5/24
    serials = [float(v) for v in re.findall(r"<v>(46351\.[0-9]+)</v>", sheet)]
    assert serials and abs(serials[0] - (46351 + 10.5 / 24)) < 1e-6


def test_xlsx_of_an_empty_frame_still_has_the_header() -> None:
    parts = xlsx_parts(dataframe_to_xlsx(frame(0)))
    assert "Mitarbeitende" in parts["xl/sharedStrings.xml"]


def test_pdf_cells_are_formatted_for_the_locale() -> None:
    assert format_cell(1234.5) == "1.234,50"
    assert format_cell(1200) == "1.200"
    assert format_cell(STAMP) == "25.11.2026 10:30"
    assert format_cell(dt.date(2026, 1, 2)) == "02.01.2026"
    assert format_cell(None) == ""
    assert format_cell(1234.5, locale="en_GB") == "1,234.50"


def test_pdf_is_a4_landscape_with_page_numbers_and_repeated_header() -> None:
    data = dataframe_to_pdf(frame(120), title="Firmen", generated_line="Erstellt am 25.11.2026 10:30 von Anna")
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type /Page\b", data))
    assert pages > 1
    assert re.search(rb"/MediaBox \[ 0 0 841\.8898 595\.2756 \]", data), "A4 landscape"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "Erstellt am 25.11.2026 10:30 von Anna" in text
    assert f"Seite 1 von {pages}" in text and f"Seite {pages} von {pages}" in text
    assert text.count("Mitarbeitende") == pages, "header row on every page"
    assert "1.234,50" in text and "Müller & Söhne GmbH 119" in text


def test_pdf_custom_formatter_and_page_label() -> None:
    data = dataframe_to_pdf(
        frame(2), title="Companies", generated_line="Created", formatters={"Umsatz": lambda v: f"EUR {v}"}, page_label="Page {page} of {pages}"
    )
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "EUR 1234.5" in text and "Page 1 of 1" in text


def test_list_cells_format_percentages_in_the_user_locale() -> None:
    from app.components.list_report import format_cell

    assert format_cell(0.8889, "percent", "de") == "89 %"
    assert format_cell(0.5, "percent", "en") == "50 %"
    assert format_cell(None, "percent", "de") == ""
