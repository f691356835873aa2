"""Server-side filtering, sorting and paging for list pages and the API (never load all rows)."""

from __future__ import annotations

from collections.abc import Mapping
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


def fetch_page(
    session: Session,
    stmt: Select[Any],
    query: ListQuery,
    *,
    sortable: Mapping[str, ColumnElement[Any]],
    default_sort: ColumnElement[Any],
) -> Page:
    """Count and fetch one page of `stmt` (already filtered) in SQL."""
    page_size = max(1, min(query.page_size, MAX_PAGE_SIZE))
    page = max(1, query.page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    order = sortable.get(query.sort or "", default_sort)
    ordered = stmt.order_by(order.desc() if query.descending else order.asc(), default_sort)
    result = session.execute(ordered.limit(page_size).offset((page - 1) * page_size))
    rows = pd.DataFrame(result.mappings().all(), columns=list(result.keys()))
    return Page(rows, total, page, page_size)
