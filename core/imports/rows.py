"""Checking every row of a file against the field rules; each problem names row, column, value and reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

from core.imports.fields import EntitySpec
from core.imports.reading import SourceTable
from core.validation import check_postcode

WHOLE_ROW = "–"


@dataclass(frozen=True)
class Issue:
    """A rejected value: `row` as in the file (header = row 1), `column` as headed in the file."""

    row: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class CleanRow:
    """A row that passed: its file row number and the checked values of the mapped fields (None = empty)."""

    row: int
    values: dict[str, Any]


def check_rows(table: SourceTable, spec: EntitySpec, mapping: Mapping[str, str]) -> tuple[list[CleanRow], list[Issue]]:
    """Validate all rows; a row with any issue is not in the returned clean rows."""
    index_of = {column: i for i, column in enumerate(table.columns)}
    plan = [(index_of[column], column, spec.field(name)) for column, name in mapping.items()]
    column_of = {name: column for column, name in mapping.items()}
    width = len(table.columns)
    clean: list[CleanRow] = []
    issues: list[Issue] = []
    first_row_of: dict[str, int] = {}
    for number, cells in zip(table.row_numbers, table.rows):
        row_issues: list[Issue] = []
        if len(cells) > width and any(cells[width:]):
            row_issues.append(
                Issue(number, WHOLE_ROW, "", f"Zeile hat {len(cells)} Felder, die Kopfzeile nur {width} (Trennzeichen im Text?)")
            )
        values: dict[str, Any] = {}
        for index, column, item in plan:
            raw = cells[index] if index < len(cells) else ""
            if not raw:
                values[item.name] = None
                if item.required:
                    row_issues.append(Issue(number, column, raw, "Pflichtfeld"))
                continue
            try:
                values[item.name] = item.clean(raw)
            except ValueError as exc:
                row_issues.append(Issue(number, column, raw, str(exc)))
        if "postcode" in values and not any(i.column in (column_of.get("postcode"), column_of.get("country")) for i in row_issues):
            try:
                check_postcode(values["postcode"], values.get("country") or "DE")
            except PydanticCustomError as exc:
                row_issues.append(Issue(number, column_of["postcode"], values["postcode"] or "", exc.message()))
        external_id = values.get("external_id")
        if external_id is not None and not row_issues:
            first = first_row_of.setdefault(external_id, number)
            if first != number:
                row_issues.append(
                    Issue(number, column_of["external_id"], external_id, f"Externe ID kommt mehrfach vor (zuerst in Zeile {first})")
                )
        if row_issues:
            issues.extend(row_issues)
        else:
            clean.append(CleanRow(number, values))
    return clean, issues
