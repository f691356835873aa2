"""Server-side filtering, sorting and paging for list pages and the API (never load all rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

MAX_PAGE_SIZE = 1_000


@dataclass(frozen=True)
class ListQuery:
    search: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    sort: str | None = None
    descending: bool = False
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class Page:
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def equality_filters(model: Any, filters: Mapping[str, Any], names: Sequence[str]) -> list[ColumnElement[bool]]:
    """`column = value` (or `IN` for lists) for each named filter that has a value."""
    conditions: list[ColumnElement[bool]] = []
    for name in names:
        value = filters.get(name)
        if value not in (None, "", []):
            column = getattr(model, name)
            conditions.append(column.in_(value) if isinstance(value, (list, tuple)) else column == value)
    return conditions


def fetch_page(
    session: Session,
    stmt: Select[Any],
    query: ListQuery,
    *,
    sortable: Mapping[str, ColumnElement[Any]],
    default_sort: ColumnElement[Any],
    count_stmt: Select[Any] | None = None,
) -> Page:
    """Count and fetch one page of `stmt` (already filtered) in SQL.

    `count_stmt` selects the same rows without the display-only joins: counting a million
    contacts through their outer joins costs a second on SQLite, counting the table 10 ms.
    """
    page_size = max(1, min(query.page_size, MAX_PAGE_SIZE))
    page = max(1, query.page)
    counted = (count_stmt if count_stmt is not None else stmt).order_by(None).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    order = sortable.get(query.sort or "", default_sort)
    # The tie-break runs in the sort's direction, so an index on (column, id) serves both directions.
    direction = "desc" if query.descending else "asc"
    ordered = stmt.order_by(getattr(order, direction)(), getattr(default_sort, direction)())
    result = session.execute(ordered.limit(page_size).offset((page - 1) * page_size))
    rows = pd.DataFrame(result.mappings().all(), columns=list(result.keys()))
    return Page(rows, total, page, page_size)
