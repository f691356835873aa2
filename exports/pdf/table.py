"""DataFrame → PDF bytes: A4 landscape, title, generated-at line, repeating header row, "Seite x von y".

Cells are formatted for the given babel locale (1.234,56; 25.11.2026 10:00 in Europe/Berlin)
so the document reads like the screen it came from. Column names are printed as they are,
so pass user-facing labels.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pandas as pd
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

PAGE = landscape(A4)
MARGIN = 14 * mm
HEADER_BLUE = colors.HexColor("#1F6FEB")
ZEBRA = colors.HexColor("#F3F6FA")
GRID = colors.HexColor("#D0D7DE")

Formatter = Callable[[Any], str]


def format_cell(value: Any, *, locale: str = "de_DE", timezone: str = "Europe/Berlin") -> str:
    """Text of one cell: numbers with the locale's separators, dates and times in local time."""
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "✓" if value else "–"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        local = stamp.tz_convert(ZoneInfo(timezone)).to_pydatetime()
        pattern = "dd.MM.yyyy HH:mm" if locale.startswith("de") else "d MMM yyyy, HH:mm"
        return format_datetime(local, format=pattern, locale=locale)
    if isinstance(value, dt.date):
        return format_date(value, format="dd.MM.yyyy" if locale.startswith("de") else "medium", locale=locale)
    if isinstance(value, int):
        return format_decimal(value, format="#,##0", locale=locale)
    if isinstance(value, (float, Decimal)):
        return format_decimal(value, format="#,##0.00", locale=locale)
    return str(value)


class _NumberedCanvas(Canvas):
    """Two-pass canvas: pages are buffered so each footer can name the total page count."""

    page_label = "Seite {page} von {pages}"
    footer_left = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab API
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        self.saveState()
        self.setFont("Helvetica", 8)
        self.setFillColor(colors.HexColor("#57606A"))
        self.drawRightString(PAGE[0] - MARGIN, 8 * mm, self.page_label.format(page=self._pageNumber, pages=total))
        if self.footer_left:
            self.drawString(MARGIN, 8 * mm, self.footer_left)
        self.restoreState()


def _column_widths(texts: list[list[str]], header: list[str], available: float) -> list[float]:
    """Share the page width by typical content length, so long text columns get room."""
    weights = []
    for col, name in enumerate(header):
        lengths = sorted(len(row[col]) for row in texts) or [0]
        typical = lengths[int(len(lengths) * 0.9)] if len(lengths) > 1 else lengths[0]
        weights.append(min(max(typical, len(name), 4), 60))
    total = sum(weights) or 1
    return [available * w / total for w in weights]


def dataframe_to_pdf(
    frame: pd.DataFrame,
    *,
    title: str,
    generated_line: str,
    locale: str = "de_DE",
    timezone: str = "Europe/Berlin",
    formatters: Mapping[str, Formatter] | None = None,
    page_label: str = "Seite {page} von {pages}",
    footer: str = "",
) -> bytes:
    """The table on as many A4 landscape pages as needed; the header row repeats on each page.

    `generated_line` is printed under the title (e.g. "Erstellt am 25.11.2026 10:00 von anna");
    `formatters` replace the default cell formatting per column.
    """
    custom = dict(formatters or {})
    styles = getSampleStyleSheet()
    cell_style = ParagraphStyle("cell", parent=styles["BodyText"], fontName="Helvetica", fontSize=8, leading=10)
    number_style = ParagraphStyle("number", parent=cell_style, alignment=TA_RIGHT)
    head_style = ParagraphStyle(
        "head", parent=cell_style, fontName="Helvetica-Bold", textColor=colors.white, fontSize=8
    )
    header = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns]

    texts: list[list[str]] = []
    for values in frame.itertuples(index=False, name=None):
        texts.append(
            [
                custom[name](value) if name in custom else format_cell(value, locale=locale, timezone=timezone)
                for name, value in zip(header, values)
            ]
        )

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
    story: list[Any] = [
        Paragraph(escape(title), styles["Title"]),
        Paragraph(escape(generated_line), styles["Italic"]),
        Spacer(1, 5 * mm),
    ]
    if header:
        rows = [[Paragraph(escape(h), head_style) for h in header]]
        rows += [
            [Paragraph(escape(text), number_style if numeric[i] else cell_style) for i, text in enumerate(row)]
            for row in texts
        ]
        table = LongTable(rows, colWidths=_column_widths(texts, header, PAGE[0] - 2 * MARGIN), repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), HEADER_BLUE),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        story.append(table)

    canvas_class = type(
        "FooterCanvas", (_NumberedCanvas,), {"page_label": page_label, "footer_left": footer}
    )
    doc.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
