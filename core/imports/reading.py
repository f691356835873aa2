"""Reading an uploaded file into a table of text cells: CSV (delimiter and encoding detected) or XLSX.

Row numbers are those a user sees in Excel: the header is row 1, the first data row is row 2.
Blank rows are skipped but keep their number, so the report points at the right line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from core.errors import ValidationFailed
from core.imports.collector import collection_paused

DELIMITERS = (";", ",", "\t", "|")
FILE_FIELD = "datei"


@dataclass(frozen=True)
class SourceTable:
    """The file's header and data rows (cells as stripped text, "" for empty), with notes on how it was read."""

    file_name: str
    columns: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.rows)


def read_file(data: bytes, file_name: str, *, delimiter: str | None = None, encoding: str | None = None) -> SourceTable:
    suffix = PurePath(file_name).suffix.lower()
    if suffix in (".csv", ".txt"):
        with collection_paused():
            return read_csv(data, file_name, delimiter=delimiter, encoding=encoding)
    if suffix == ".xlsx":
        with collection_paused():
            return read_xlsx(data, file_name)
    raise ValidationFailed({FILE_FIELD: f"Dateityp „{suffix or file_name}“ wird nicht unterstützt (CSV oder XLSX)"})


def decode(data: bytes, encoding: str | None) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM), else Windows-1252 as German Excel writes it; an explicit encoding wins."""
    if encoding:
        try:
            return data.decode(encoding), []
        except LookupError:
            raise ValidationFailed({"encoding": f"unbekannte Zeichenkodierung „{encoding}“"}) from None
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                {FILE_FIELD: f"ist nicht in {encoding} kodiert (Byte {exc.start + 1}); andere Kodierung wählen"}
            ) from None
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), ["Die Datei ist nicht UTF-8-kodiert und wurde als Windows-1252 gelesen."]


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes, file_name: str, *, delimiter: str | None = None, encoding: str | None = None) -> SourceTable:
    text, notes = decode(data, encoding)
    if not text.strip():
        raise ValidationFailed({FILE_FIELD: "Die Datei ist leer."})
    if delimiter is not None and len(delimiter) != 1:
        raise ValidationFailed({"delimiter": "Trennzeichen muss genau ein Zeichen sein"})
    chosen = delimiter or sniff_delimiter(text.split("\n", 1)[0])
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=chosen))
    except csv.Error as exc:
        raise ValidationFailed({FILE_FIELD: f"ist keine lesbare CSV-Datei ({exc})"}) from None
    return _table(file_name, records, notes)


def read_xlsx(data: bytes, file_name: str) -> SourceTable:
    """The first worksheet; numbers and dates become text the field checks understand."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationFailed({FILE_FIELD: "ist keine gültige Excel-Datei (.xlsx)"}) from None
    try:
        sheet = workbook.worksheets[0]
        records = [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        notes = [f"Gelesen wurde das erste Arbeitsblatt „{sheet.title}“."] if len(workbook.worksheets) > 1 else []
    finally:
        workbook.close()
    return _table(file_name, records, notes)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(file_name: str, records: list[list[str]], notes: list[str]) -> SourceTable:
    header_index = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    if header_index is None:
        raise ValidationFailed({FILE_FIELD: "Die Datei ist leer."})
    columns = _unique_headers(records[header_index])
    rows: list[list[str]] = []
    numbers: list[int] = []
    for index in range(header_index + 1, len(records)):
        cells = list(map(str.strip, records[index]))
        if any(cells):
            rows.append(cells)
            numbers.append(index + 1)
    if not rows:
        raise ValidationFailed({FILE_FIELD: "Die Datei enthält nur die Kopfzeile, keine Datenzeilen."})
    return SourceTable(file_name, columns, rows, numbers, notes)


def _unique_headers(cells: list[str]) -> list[str]:
    """Empty headers get "Spalte N"; a repeated header gets " (2)", " (3)" …"""
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    seen: dict[str, int] = {}
    result = []
    for position, cell in enumerate(cells, start=1):
        name = cell.strip() or f"Spalte {position}"
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return result
