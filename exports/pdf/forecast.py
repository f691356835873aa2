"""Forecast table → PDF bytes: A4 landscape with title, the filters used, generated-at line, the rows
with money in their own currency, one bold total row per currency, repeating header, "Seite x von y".

Pure function of its inputs (no database, no UI): the page passes user-facing column names and
labels, like for `exports.pdf.table.dataframe_to_pdf`, whose layout and footer this shares.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from babel.numbers import format_currency
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from exports.pdf.table import GRID, HEADER_BLUE, MARGIN, PAGE, ZEBRA, _column_widths, _NumberedCanvas, format_cell

TOTAL_BACKGROUND = colors.HexColor("#DDE7F7")


def _sum(values: pd.Series) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None and not pd.isna(v)), Decimal("0"))


def forecast_pdf(
    frame: pd.DataFrame,
    *,
    title: str,
    filters: Sequence[tuple[str, str]],
    generated_line: str,
    currency_column: str,
    money_columns: Sequence[str],
    count_columns: Sequence[str] = (),
    total_label: str = "Summe {currency}",
    locale: str = "de_DE",
    page_label: str = "Seite {page} von {pages}",
) -> bytes:
    """The rows of `frame` followed by a total row per currency (sums of money and count columns).

    `filters` are (label, value) pairs printed under the title, e.g. ("Zeitraum", "01.10.2026 – 30.09.2027").
    Money cells are formatted in the row's currency (1.234,56 €; 60.000,00 CHF).
    """
    styles = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=styles["BodyText"], fontName="Helvetica", fontSize=8, leading=10)
    number = ParagraphStyle("number", parent=cell, alignment=TA_RIGHT)
    bold = ParagraphStyle("bold", parent=cell, fontName="Helvetica-Bold")
    bold_number = ParagraphStyle("bold_number", parent=number, fontName="Helvetica-Bold")
    head = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold", textColor=colors.white)
    head_number = ParagraphStyle("head_number", parent=head, alignment=TA_RIGHT)
    header = [str(c) for c in frame.columns]
    right = set(money_columns) | set(count_columns)

    def text(name: str, value: Any, currency: str) -> str:
        if name in money_columns and value is not None and not pd.isna(value):
            return format_currency(value, currency, locale=locale)
        return format_cell(value, locale=locale)

    texts = [[text(name, value, str(row[currency_column])) for name, value in row.items()] for _, row in frame.iterrows()]
    totals: list[list[str]] = []
    for currency, group in frame.groupby(currency_column, sort=True):
        total = {name: "" for name in header}
        total[header[0]] = total_label.format(currency=currency)
        total[currency_column] = str(currency)
        for name in (*count_columns, *money_columns):
            value = _sum(group[name]) if name in money_columns else int(group[name].sum())
            total[name] = text(name, value, str(currency))
        totals.append([total[name] for name in header])

    def paragraphs(row: list[str], *, strong: bool) -> list[Paragraph]:
        return [
            Paragraph(escape(value), (bold_number if strong else number) if name in right else (bold if strong else cell))
            for name, value in zip(header, row, strict=True)
        ]

    rows = [[Paragraph(escape(h), head_number if h in right else head) for h in header]]
    rows += [paragraphs(r, strong=False) for r in texts] + [paragraphs(r, strong=True) for r in totals]
    width = PAGE[0] - 2 * MARGIN
    table = LongTable(rows, colWidths=_column_widths(texts + totals, header, width), repeatRows=1)
    first_total = len(texts) + 1
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BLUE),
        ("ROWBACKGROUNDS", (0, 1), (-1, max(first_total - 1, 1)), [colors.white, ZEBRA]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if totals:
        style += [
            ("BACKGROUND", (0, first_total), (-1, -1), TOTAL_BACKGROUND),
            ("LINEABOVE", (0, first_total), (-1, first_total), 0.8, HEADER_BLUE),
        ]
    table.setStyle(TableStyle(style))

    filter_rows = [[Paragraph(escape(label), bold), Paragraph(escape(value), cell)] for label, value in filters]
    story: list[Any] = [Paragraph(escape(title), styles["Title"])]
    if filter_rows:
        filter_table = Table(filter_rows, colWidths=[45 * mm, width - 45 * mm], hAlign="LEFT")
        filter_table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        story.append(filter_table)
    story += [Spacer(1, 2 * mm), Paragraph(escape(generated_line), styles["Italic"]), Spacer(1, 4 * mm), table]

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=title,
        author="CRM-Suite",
    )
    canvas_class = type("ForecastCanvas", (_NumberedCanvas,), {"page_label": page_label, "footer_left": title})
    doc.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
