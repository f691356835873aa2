"""DataFrame → xlsx bytes: formatted header, frozen header row, autofilter, fitted column widths.

Number formats are Excel format codes, which Excel shows in the reader's locale
(`#,##0.00` appears as 1.234,56 in a German Excel). Time-zone-aware timestamps are
written as local wall-clock time of `timezone` because Excel has no time zones.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import xlsxwriter

INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
MONEY_FORMAT = '#,##0.00 "€"'
DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"
MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 6


def _kind(series: pd.Series) -> str:
    """The cell kind of a column: int, float, datetime, date, bool or text."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    sample = series.dropna()
    if sample.empty:
        return "text"
    first = sample.iloc[0]
    if isinstance(first, bool):
        return "bool"
    if isinstance(first, dt.datetime):
        return "datetime"
    if isinstance(first, dt.date):
        return "date"
    if isinstance(first, int):
        return "int"
    if isinstance(first, (float, Decimal)):
        return "float"
    return "text"


def _cell(value: Any, kind: str, tz: ZoneInfo) -> Any:
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert(tz).tz_localize(None)
        return stamp.to_pydatetime()
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        return value
    return str(value)


def _display_width(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if kind == "datetime":
        return len("31.12.2026 23:59")
    if kind == "date":
        return len("31.12.2026")
    if kind in ("int", "float"):
        return len(f"{value:,.2f}") if kind == "float" else len(f"{value:,}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def dataframe_to_xlsx(
    frame: pd.DataFrame,
    *,
    sheet_name: str = "Daten",
    title: str | None = None,
    subtitle: str | None = None,
    number_formats: Mapping[str, str] | None = None,
    timezone: str = "Europe/Berlin",
) -> bytes:
    """One worksheet with an optional title block above a formatted table.

    `number_formats` overrides the format per column (e.g. `MONEY_FORMAT` for amounts).
    Column names become the header row as they are, so pass user-facing labels.
    """
    tz = ZoneInfo(timezone)
    overrides = dict(number_formats or {})
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    sheet = workbook.add_worksheet(sheet_name[:31])
    header_fmt = workbook.add_format(
        {"bold": True, "bg_color": "#1F6FEB", "font_color": "#FFFFFF", "border": 1, "valign": "vcenter", "text_wrap": True}
    )
    title_fmt = workbook.add_format({"bold": True, "font_size": 14})
    subtitle_fmt = workbook.add_format({"italic": True, "font_color": "#57606A"})
    default_formats = {
        "int": INTEGER_FORMAT,
        "float": DECIMAL_FORMAT,
        "date": DATE_FORMAT,
        "datetime": DATETIME_FORMAT,
    }

    row = 0
    if title:
        sheet.write(row, 0, title, title_fmt)
        row += 1
    if subtitle:
        sheet.write(row, 0, subtitle, subtitle_fmt)
        row += 1
    if title or subtitle:
        row += 1
    header_row = row

    columns = [str(c) for c in frame.columns]
    kinds = [_kind(frame[c]) for c in frame.columns]
    cell_formats = []
    for name, kind in zip(columns, kinds):
        code = overrides.get(name, default_formats.get(kind))
        cell_formats.append(workbook.add_format({"num_format": code}) if code else None)

    widths = [max(MIN_COLUMN_WIDTH, len(name) + 2) for name in columns]
    for col, name in enumerate(columns):
        sheet.write_string(header_row, col, name, header_fmt)
    for offset, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        for col, (value, kind) in enumerate(zip(values, kinds)):
            cell = _cell(value, kind, tz)
            if cell is None:
                sheet.write_blank(header_row + offset, col, None, cell_formats[col])
                continue
            if kind == "datetime":
                sheet.write_datetime(header_row + offset, col, cell, cell_formats[col])
            elif kind == "date":
                sheet.write_datetime(
                    header_row + offset, col, dt.datetime.combine(cell, dt.time()), cell_formats[col]
                )
            elif kind == "bool":
                sheet.write_boolean(header_row + offset, col, cell)
            elif kind in ("int", "float"):
                sheet.write_number(header_row + offset, col, cell, cell_formats[col])
            else:
                sheet.write_string(header_row + offset, col, cell)
            widths[col] = max(widths[col], _display_width(cell, kind) + 2)

    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(width, MAX_COLUMN_WIDTH))
    sheet.freeze_panes(header_row + 1, 0)
    if columns:
        sheet.autofilter(header_row, 0, header_row + max(len(frame), 1), len(columns) - 1)
    workbook.close()
    return buffer.getvalue()
