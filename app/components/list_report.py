"""ListReport: filter bar, a page of rows in an AG Grid, paging, column choice, selection,
bulk actions and CSV/Excel export of everything the filter matches.

Rows are paged in SQL (`core.listing.ListQuery`); the grid only ever holds one page. The grid
is a custom component (mouse), so the same selection is also offered as a plain multiselect
("Auswahl"), which keyboard users and AppTest can operate.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import streamlit as st
from st_aggrid import AgGrid, GridOptionsBuilder

from app.components import queries
from app.components.dialogs import confirm
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from core.errors import DomainError
from core.formatting import fmt_date, fmt_datetime, fmt_number
from core.listing import MAX_PAGE_SIZE, ListQuery, Page
from exports.excel.table import dataframe_to_xlsx

ColumnKind = Literal["text", "int", "percent", "date", "datetime"]
PAGE_SIZES = (25, 50, 100)
GRID_ROW_HEIGHT = 35
EXPORT_ROW_LIMIT = 100_000


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: ColumnKind = "text"
    sortable: bool = False
    visible: bool = True


@dataclass(frozen=True)
class ListFilter:
    name: str
    label: str
    options: Sequence[Any]
    format_func: Callable[[Any], str] = str


@dataclass(frozen=True)
class BulkAction:
    """`run(ids)` does the work through a service and returns the success message."""

    key: str
    label: str
    icon: str
    run: Callable[[list[int]], str]
    confirm_title: str
    confirm_text: str  # may use {n}, the number of selected rows


def delete_action(prefix: str, delete_one: Callable[[int, str], None]) -> BulkAction:
    """The list's "Löschen" bulk action: `delete_one(id, reason)` per selected row, each audited by the service.

    Texts come from the `<prefix>.delete_title|delete_text|bulk_delete_reason|deleted` catalogue keys.
    """

    def run(ids: list[int]) -> str:
        for record_id in ids:
            delete_one(record_id, t(f"{prefix}.bulk_delete_reason"))
        return t(f"{prefix}.deleted", n=len(ids))

    return BulkAction(
        key="delete",
        label=t("common.delete"),
        icon=":material/delete:",
        run=run,
        confirm_title=t(f"{prefix}.delete_title"),
        confirm_text=t(f"{prefix}.delete_text"),
    )


def format_cell(value: Any, kind: ColumnKind, lang: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "datetime":
        return fmt_datetime(pd.Timestamp(value).to_pydatetime(), lang)
    if kind == "date":
        return fmt_date(value, lang)
    if kind == "int":
        return fmt_number(value, lang)
    if kind == "percent":
        return f"{fmt_number(float(value) * 100, lang)} %"
    return str(value)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV as German Excel opens it: semicolons, decimal comma, UTF-8 with BOM."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=";", decimal=",", index=False)
    return buffer.getvalue().encode("utf-8-sig")


@dataclass
class ListReport:
    ns: str
    noun: str  # plural shown in the count line: "Firmen"
    columns: Sequence[Column]
    fetch: Callable[[ListQuery], Page]
    row_label: Callable[[pd.Series], str]
    open_record: Callable[[int], None]
    filters: Sequence[ListFilter] = ()
    bulk_actions: Sequence[BulkAction] = ()
    export_name: str = "export"
    search_placeholder: str = ""
    empty_hint: str = ""
    default_sort: str | None = None
    default_descending: bool = False
    _by_name: dict[str, Column] = field(init=False)
    _pager_key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._by_name = {c.name: c for c in self.columns}

    def _k(self, name: str) -> str:
        return f"{self.ns}__{name}"

    # Filter bar -------------------------------------------------------------------------
    def _filter_bar(self) -> tuple[ListQuery, list[str]]:
        sortable = [c.name for c in self.columns if c.sortable]
        search_col, *filter_cols = st.columns([2] + [1] * len(self.filters)) if self.filters else [st.container()]
        with search_col:
            search = st.text_input(
                t("list.search"), key=self._k("search"), placeholder=self.search_placeholder, icon=":material/search:"
            )
        chosen: dict[str, Any] = {}
        for col, flt in zip(filter_cols, self.filters):
            with col:
                values = st.multiselect(
                    flt.label, list(flt.options), format_func=flt.format_func, key=self._k(f"filter_{flt.name}"),
                    placeholder=t("list.all"),
                )
            if values:
                chosen[flt.name] = list(values)

        sort_col, dir_col, size_col, cols_col = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
        with sort_col:
            sort = st.selectbox(
                t("list.sort"),
                sortable,
                index=sortable.index(self.default_sort) if self.default_sort in sortable else 0,
                format_func=lambda n: self._by_name[n].label,
                key=self._k("sort"),
            )
        with dir_col:
            descending = st.toggle(t("list.descending"), value=self.default_descending, key=self._k("desc"))
        with size_col:
            size = st.selectbox(t("list.page_size"), PAGE_SIZES, index=1, key=self._k("size"))
        with cols_col, st.popover(t("list.columns"), icon=":material/view_column:", width="stretch"):
            visible = st.multiselect(
                t("list.columns"),
                [c.name for c in self.columns],
                default=[c.name for c in self.columns if c.visible],
                format_func=lambda n: self._by_name[n].label,
                key=self._k("columns"),
                placeholder=t("common.choose"),
            )
        signature = (search, tuple(sorted((k, tuple(v)) for k, v in chosen.items())), sort, descending, size)
        # A new filter, sort or write gives the pager a new key, so it starts again at page 1.
        self._pager_key = self._k(
            "page_" + hashlib.sha1(f"{signature}|{queries.data_generation()}".encode()).hexdigest()[:10]
        )
        page_no = int(st.session_state.get(self._pager_key, 1))
        query = ListQuery(
            search=search.strip() or None,
            filters=chosen,
            sort=sort,
            descending=descending,
            page=page_no,
            page_size=size,
        )
        return query, visible or [c.name for c in self.columns if c.visible]

    # Grid -----------------------------------------------------------------------------
    def _display_frame(self, rows: pd.DataFrame, visible: Sequence[str]) -> pd.DataFrame:
        lang = current_lang()
        shown = [c for c in self.columns if c.name in visible]
        frame = pd.DataFrame({"id": rows["id"].astype(int)})
        for column in shown:
            if column.name == "id":
                continue
            frame[column.label] = [format_cell(v, column.kind, lang) for v in rows[column.name]]
        return frame

    def _grid(self, frame: pd.DataFrame, key_material: str) -> list[int]:
        builder = GridOptionsBuilder.from_dataframe(frame)
        builder.configure_default_column(sortable=False, filter=False, resizable=True)
        builder.configure_column("id", header_name=t("list.id"), minWidth=80, maxWidth=90, pinned="left")
        first_text = next((c.label for c in self.columns if c.name != "id" and c.kind == "text"), None)
        if first_text in frame.columns:
            builder.configure_column(first_text, minWidth=200, flex=2)
        builder.configure_selection("multiple", use_checkbox=True, header_checkbox=True)
        builder.configure_grid_options(
            rowHeight=GRID_ROW_HEIGHT, suppressCellFocus=True, autoSizeStrategy={"type": "fitGridWidth"}
        )
        height = GRID_ROW_HEIGHT * (min(len(frame), 15) + 1) + 12
        digest = hashlib.sha1(key_material.encode()).hexdigest()[:12]
        response = AgGrid(
            frame,
            gridOptions=builder.build(),
            height=height,
            key=self._k(f"grid_{digest}"),
            update_on=["selectionChanged"],
            enable_enterprise_modules=False,
            theme="streamlit",
            show_toolbar=False,
            show_search=False,
            show_download_button=False,
        )
        selected = response.selected_rows
        if selected is None or len(selected) == 0:
            return []
        return [int(v) for v in pd.DataFrame(selected)["id"]]

    # Actions --------------------------------------------------------------------------
    def _actions(self, selected: list[int]) -> None:
        buttons = st.columns([1.2] + [1.2] * len(self.bulk_actions) + [3], vertical_alignment="center")
        if buttons[0].button(
            t("list.open"),
            key=self._k("open"),
            type="primary",
            icon=":material/open_in_new:",
            disabled=len(selected) != 1,
            help=t("list.open_help"),
            width="stretch",
        ):
            self.open_record(selected[0])
        for cell, action in zip(buttons[1:], self.bulk_actions):
            if cell.button(
                action.label,
                key=self._k(f"bulk_{action.key}"),
                icon=action.icon,
                disabled=not selected,
                width="stretch",
            ):
                ids = list(selected)

                def run(ids: list[int] = ids, action: BulkAction = action) -> None:
                    try:
                        message = action.run(ids)
                    finally:
                        queries.clear_reads()
                    flash(message)

                confirm(
                    key=self._k(f"confirm_{action.key}"),
                    title=action.confirm_title,
                    message=action.confirm_text.format(n=len(ids)),
                    confirm_label=action.label,
                    on_confirm=run,
                )
        buttons[-1].caption(t("list.selected", n=len(selected)) if selected else t("list.select_hint"))

    def _export_frame(self, query: ListQuery, visible: Sequence[str]) -> pd.DataFrame:
        """All rows the filter matches (in pages of MAX_PAGE_SIZE), visible columns, user-facing headers."""
        frames: list[pd.DataFrame] = []
        page_no = 1
        while True:
            page = self.fetch(
                ListQuery(query.search, query.filters, query.sort, query.descending, page_no, MAX_PAGE_SIZE)
            )
            frames.append(page.rows)
            if page_no >= page.pages or page_no * MAX_PAGE_SIZE >= EXPORT_ROW_LIMIT:
                break
            page_no += 1
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        shown = [c for c in self.columns if c.name in visible]
        return pd.DataFrame({c.label: rows[c.name] for c in shown})

    def _exports(self, query: ListQuery, visible: Sequence[str]) -> None:
        csv_col, xlsx_col, _ = st.columns([1, 1, 4])
        csv_col.download_button(
            t("list.export_csv"),
            data=lambda: csv_bytes(self._export_frame(query, visible)),
            file_name=f"{self.export_name}.csv",
            mime="text/csv",
            key=self._k("csv"),
            icon=":material/download:",
            on_click="ignore",
            width="stretch",
        )
        xlsx_col.download_button(
            t("list.export_xlsx"),
            data=lambda: dataframe_to_xlsx(self._export_frame(query, visible), sheet_name=self.noun, title=self.noun),
            file_name=f"{self.export_name}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=self._k("xlsx"),
            icon=":material/table_view:",
            on_click="ignore",
            width="stretch",
        )

    # Page -----------------------------------------------------------------------------
    def render(self) -> None:
        query, visible = self._filter_bar()
        try:
            page = self.fetch(query)
            if page.rows.empty and page.total and query.page > 1:
                page = self.fetch(ListQuery(query.search, query.filters, query.sort, query.descending, page.pages, query.page_size))
        except DomainError as exc:
            show_error(exc)
            return
        lang = current_lang()
        st.caption(
            t("list.count", total=fmt_number(page.total, lang), noun=self.noun, page=page.page, pages=page.pages)
        )
        if page.total == 0:
            filtered = bool(query.search or query.filters)
            st.info(t("list.no_match") if filtered else (self.empty_hint or t("list.empty")), icon=":material/info:")
            return

        frame = self._display_frame(page.rows, visible)
        grid_selected = self._grid(frame, f"{query}|{visible}|{queries.data_generation()}")
        if page.pages > 1:
            st.pagination(page.pages, key=self._pager_key, max_visible_pages=7)
        labels = {int(row["id"]): self.row_label(row) for _, row in page.rows.iterrows()}
        pick_key = self._k("pick_" + hashlib.sha1(str(query).encode()).hexdigest()[:8])
        picked = st.multiselect(
            t("list.pick"),
            list(labels),
            format_func=lambda i: labels[i],
            key=pick_key,
            placeholder=t("list.pick_placeholder"),
        )
        selected = list(dict.fromkeys([*grid_selected, *picked]))
        self._actions(selected)
        self._exports(query, visible)
