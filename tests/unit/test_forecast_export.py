"""Forecast downloads: the PDF (exports/pdf/forecast.py) read back with pdftotext, the Excel file opened as XML."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from io import BytesIO

import pandas as pd
import pytest

from exports.excel.table import dataframe_to_xlsx
from exports.pdf.forecast import forecast_pdf

MONEY = ["Offen", "Gewichtet", "Gewonnen"]
FILTERS = [("Zeitraum", "01.10.2026 – 30.09.2027 (Monat)"), ("Pipeline", "Neugeschäft"), ("Verantwortlich", "Alle")]


def rows(count: int) -> pd.DataFrame:
    """`count` EUR rows of 1.234,50 open / 617,25 weighted, and one CHF row."""
    eur = [
        {
            "Zeitraum": f"2026-{10 + i % 3:02d}",
            "Verantwortlich": f"Anna Adler {i}",
            "Phase": "Angebot",
            "Prognosekategorie": "Best Case",
            "Währung": "EUR",
            "Anzahl": 2,
            "Offen": Decimal("1234.50"),
            "Gewichtet": Decimal("617.25"),
            "Gewonnen": Decimal("0.00"),
        }
        for i in range(count)
    ]
    chf = {
        "Zeitraum": "2026-11",
        "Verantwortlich": "Ben Becker",
        "Phase": "Gewonnen",
        "Prognosekategorie": "Abgeschlossen",
        "Währung": "CHF",
        "Anzahl": 1,
        "Offen": Decimal("0.00"),
        "Gewichtet": Decimal("0.00"),
        "Gewonnen": Decimal("60000.00"),
    }
    return pd.DataFrame([*eur, chf])


def pdf(frame: pd.DataFrame) -> bytes:
    return forecast_pdf(
        frame,
        title="Umsatzprognose",
        filters=FILTERS,
        generated_line="Erstellt 25.11.2026 10:00 von Erika Admin",
        currency_column="Währung",
        money_columns=MONEY,
        count_columns=["Anzahl"],
        total_label="Summe {currency}",
    )


def text_of(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return result.stdout.decode().replace("\xa0", " ")


def test_forecast_pdf_has_filters_money_per_currency_totals_and_page_numbers() -> None:
    data = pdf(rows(80))
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type /Page\b", data))
    assert pages >= 2, "80 rows need more than one landscape page"
    assert re.search(rb"/MediaBox \[ 0 0 841\.8898 595\.2756 \]", data), "A4 landscape"
    text = text_of(data)
    for line in ("Umsatzprognose", "Zeitraum", "01.10.2026 – 30.09.2027 (Monat)", "Neugeschäft", "Erstellt 25.11.2026 10:00"):
        assert line in text
    assert "1.234,50 €" in text and "60.000,00 CHF" in text, "money in the row's own currency"
    # totals per currency, never across: 80 × 1.234,50 = 98.760,00 €; 80 × 617,25 = 49.380,00 €; 160 deals
    eur_total = next(line for line in text.splitlines() if "Summe EUR" in line)
    assert "160" in eur_total and "98.760,00 €" in eur_total and "49.380,00 €" in eur_total
    chf_total = next(line for line in text.splitlines() if "Summe CHF" in line)
    assert "60.000,00 CHF" in chf_total and "€" not in chf_total
    assert f"Seite 1 von {pages}" in text and f"Seite {pages} von {pages}" in text
    assert text.count("Prognosekategorie") == pages, "header row repeated on every page"


def test_forecast_pdf_of_a_single_row() -> None:
    text = text_of(pdf(rows(0)))
    assert "Summe CHF" in text and "Summe EUR" not in text
    assert "Seite 1 von 1" in text


def test_forecast_excel_keeps_amounts_as_numbers() -> None:
    frame = rows(3)
    numbers = frame.assign(**{c: frame[c].astype(float) for c in MONEY})
    data = dataframe_to_xlsx(numbers, sheet_name="Umsatzprognose", title="Umsatzprognose", subtitle="Erstellt")
    with zipfile.ZipFile(BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        strings = archive.read("xl/sharedStrings.xml").decode()
    assert "Gewichtet" in strings and "Umsatzprognose" in strings
    assert "<v>617.25</v>" in sheet and "<v>60000</v>" in sheet
