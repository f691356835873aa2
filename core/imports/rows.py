"""Checking every row of a file against the field rules; each problem names row, column, value and reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from pydantic_core import PydanticCustomError

from core.imports.fields import Cleaner, EntitySpec
from core.imports.reading import SourceTable
from core.validation import check_postcode

WHOLE_ROW = "–"
# A cell whose check failed (such a row is never a clean row).
_FAILED = object()


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
    """Validate all rows; a row with any issue is not in the returned clean rows.

    Checked column by column: files repeat values (companies, cities, postcodes, dates), and the checks
    are pure functions of the text, so each distinct value of a column is checked once. A row's issues
    keep the order whole row, mapped columns, postcode, duplicate external id.
    """
    index_of = {column: i for i, column in enumerate(table.columns)}
    column_of = {name: column for column, name in mapping.items()}
    width = len(table.columns)
    shortest = min(map(len, table.rows), default=0)
    found = _overlong_rows(table, width)
    names: list[str] = []
    columns: list[list[Any]] = []
    for column, name in mapping.items():
        raws = _cells(table, index_of[column], shortest)
        item = spec.field(name)
        values, failed = _checked(raws, item.clean)
        for position in _positions(raws, values, failed, required=item.required):
            raw = raws[position]
            issue = Issue(table.row_numbers[position], column, raw, failed[raw] if raw else "Pflichtfeld")
            found.setdefault(position, []).append(issue)
        names.append(name)
        columns.append(values)
    return _collect(table.row_numbers, names, columns, found, column_of)


def _overlong_rows(table: SourceTable, width: int) -> dict[int, list[Issue]]:
    """Rows with filled cells beyond the header's columns (usually a delimiter inside unquoted text)."""
    found: dict[int, list[Issue]] = {}
    for position in [p for p, cells in enumerate(table.rows) if len(cells) > width]:
        cells = table.rows[position]
        if any(cells[width:]):
            reason = f"Zeile hat {len(cells)} Felder, die Kopfzeile nur {width} (Trennzeichen im Text?)"
            found[position] = [Issue(table.row_numbers[position], WHOLE_ROW, "", reason)]
    return found


def _cells(table: SourceTable, index: int, shortest: int) -> list[str]:
    """One column of the file ("" where a row is too short); `shortest` is the fewest cells of any row."""
    if index < shortest:
        return list(map(itemgetter(index), table.rows))
    return [cells[index] if index < len(cells) else "" for cells in table.rows]


def _checked(raws: list[str], clean: Cleaner) -> tuple[list[Any], dict[str, str]]:
    """Each cell checked (None for empty, `_FAILED` for rejected) and why each rejected text was rejected."""
    done: dict[str, Any] = {"": None}
    failed: dict[str, str] = {}

    def check(raw: str) -> Any:
        try:
            value = clean(raw)
        except ValueError as exc:
            failed[raw] = str(exc)
            value = _FAILED
        done[raw] = value
        return value

    return [done[raw] if raw in done else check(raw) for raw in raws], failed


def _positions(raws: list[str], values: list[Any], failed: Mapping[str, str], *, required: bool) -> list[int]:
    """Where a column has an issue: a rejected value, or (if required) an empty cell."""
    if not failed and not required:
        return []
    return [i for i, (raw, value) in enumerate(zip(raws, values)) if value is _FAILED or (required and not raw)]


def _collect(
    numbers: list[int], names: list[str], columns: list[list[Any]], found: dict[int, list[Issue]], column_of: Mapping[str, str]
) -> tuple[list[CleanRow], list[Issue]]:
    """Rows into clean rows and issues, after the checks that look at a whole row (postcode, duplicate id)."""
    if "postcode" in column_of:
        _check_postcodes(numbers, names, columns, found, column_of)
    first_row_of: dict[str, int] = {}
    clean: list[CleanRow] = []
    issues: list[Issue] = []
    for number, position, values in zip(numbers, range(len(numbers)), [dict(zip(names, row)) for row in zip(*columns)]):
        row_issues = found.get(position)
        external_id = values.get("external_id")
        if external_id is not None and not row_issues:
            first = first_row_of.setdefault(external_id, number)
            if first != number:
                reason = f"Externe ID kommt mehrfach vor (zuerst in Zeile {first})"
                row_issues = [Issue(number, column_of["external_id"], external_id, reason)]
        if row_issues:
            issues.extend(row_issues)
        else:
            clean.append(CleanRow(number, values))
    return clean, issues


def _check_postcodes(
    numbers: list[int], names: list[str], columns: list[list[Any]], found: dict[int, list[Issue]], column_of: Mapping[str, str]
) -> None:
    """Add a postcode issue to each row whose postcode does not fit its country (unless either already failed)."""
    postcodes = columns[names.index("postcode")]
    countries = columns[names.index("country")] if "country" in names else [None] * len(postcodes)
    places = list(zip(postcodes, countries))
    problem_of = {place: None if _FAILED in place else _postcode_problem(place[0], place[1] or "DE") for place in set(places)}
    guarded = (column_of.get("postcode"), column_of.get("country"))
    for position in [i for i, place in enumerate(places) if problem_of[place] is not None]:
        problem = problem_of[places[position]]
        row_issues = found.setdefault(position, [])
        if problem is not None and not any(i.column in guarded for i in row_issues):
            row_issues.append(Issue(numbers[position], column_of["postcode"], postcodes[position] or "", problem))


def _postcode_problem(postcode: str | None, country: str) -> str | None:
    """Why the postcode does not fit the country, or None."""
    try:
        check_postcode(postcode, country)
    except PydanticCustomError as exc:
        return exc.message()
    return None
