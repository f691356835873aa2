"""ListReport: filter bar, a page of rows in an AG Grid, paging, column choice, selection,
bulk actions and CSV/Excel export of everything the filter matches; optionally the user's saved
views (`saved_views=True`: named filter/search/sort/column settings, one of them opened by default).

Rows are paged in SQL (`core.listing.ListQuery`); the grid only ever holds one page. The grid
is a custom component (mouse), so the same selection is also offered as a plain multiselect
("Auswahl"), which keyboard users and AppTest can operate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import streamlit as st
from st_aggrid import AgGrid, GridOptionsBuilder

from app.components import context, queries
from app.components.exporting import download_button
from app.components.dialogs import confirm
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from core import saved_views
from core.errors import DomainError, ValidationFailed
from core.formatting import fmt_date, fmt_datetime, fmt_money, fmt_number
from core.listing import MAX_PAGE_SIZE, ListQuery, Page
from exports.excel.table import dataframe_to_xlsx

# percent: a share (0.85 → 85 %); whole_percent: percentage points (85 → 85 %); money: amount in the
# currency named by the row's `Column.currency` column
ColumnKind = Literal["text", "int", "percent", "whole_percent", "money", "date", "datetime"]
# multi: any of the options; select: one option; date / number: a bound (e.g. close date from, amount up to)
FilterKind = Literal["multi", "select", "date", "number"]
PAGE_SIZES = (25, 50, 100)
GRID_ROW_HEIGHT = 35
MIN_WIDTHS = {"datetime": 150, "date": 110, "money": 110, "int": 60}  # px: "26.11.2026 20:27", "111.500,00 €" uncut
EXPORT_ROW_LIMIT = 100_000


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: ColumnKind = "text"
    sortable: bool = False
    visible: bool = True
    currency: str = "currency"  # kind "money": the row column holding the ISO currency
    min_width: int | None = None  # px the grid keeps for it (default: by kind; text columns share what is left)


@dataclass(frozen=True)
class ListFilter:
    name: str
    label: str
    options: Sequence[Any] = ()
    format_func: Callable[[Any], str] = str
    kind: FilterKind = "multi"
    more: bool = False  # shown under "Weitere Filter" instead of the first row
    width: float = 1.0  # share of the first row (the search field has 2), e.g. wider for several chosen chips

    def to_state(self, value: Any) -> Any:
        """The widget value as JSON for a saved view."""
        if self.kind == "date":
            return value.isoformat()
        if self.kind == "number":
            return float(value)
        return list(value) if self.kind == "multi" else value

    def from_state(self, value: Any) -> Any:
        """A saved value as widget value; options that no longer exist are dropped."""
        if self.kind == "multi":
            return [v for v in value or [] if v in self.options]
        if self.kind == "select":
            return value if value in self.options else None
        if value in (None, ""):
            return None
        try:
            return dt.date.fromisoformat(value) if self.kind == "date" else float(value)
        except (TypeError, ValueError):
            return None

    def empty(self) -> Any:
        return [] if self.kind == "multi" else None


@dataclass(frozen=True)
class BulkAction:
    """`run(ids)` does the work through a service and returns the success message."""

    key: str
    label: str
    icon: str
    run: Callable[[list[int]], str]
    confirm_title: str
    confirm_text: str  # may use {n}, the number of selected rows


@dataclass(frozen=True)
class BulkOutcome:
    """What a row-by-row bulk action did: the success message and, per failed record id, why."""

    message: str
    failures: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BulkFormAction:
    """A bulk action that asks for input first (e.g. the target stage) in a dialog.

    `fields(key_prefix)` draws the dialog's widgets and returns their values; `run(ids, values)` goes
    through the services row by row. A DomainError from `run` (the input itself is wrong) is shown in
    the dialog, which stays open; failures of single rows come back in the outcome.
    """

    key: str
    label: str
    icon: str
    title: str
    text: str  # may use {n}, the number of selected rows
    fields: Callable[[str], Mapping[str, Any]]
    run: Callable[[list[int], Mapping[str, Any]], BulkOutcome]
    labels: Mapping[str, str] = field(default_factory=dict)  # field name -> label, for validation messages


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


def format_cell(value: Any, kind: ColumnKind, lang: str, currency: str = "EUR") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "money":
        return fmt_money(value, lang, currency)
    if kind == "whole_percent":
        return f"{fmt_number(value, lang)} %"
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
    # Filter values the list opens with (filter name -> widget value), e.g. only open deals; "no view" returns to them.
    default_filters: Mapping[str, Any] = field(default_factory=dict)
    default_view_label: str | None = None  # the view chooser's "no view" entry when default_filters narrow the list
    saved_views: bool = False  # the user's saved views of this list (page id: `ns`)
    bulk_form_actions: Sequence[BulkFormAction] = ()
    _by_name: dict[str, Column] = field(init=False)
    _pager_key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._by_name = {c.name: c for c in self.columns}

    def _k(self, name: str) -> str:
        return f"{self.ns}__{name}"

    # Filter bar -------------------------------------------------------------------------
    def _defaults(self) -> dict[str, Any]:
        """Widget values of an unfiltered list: what the page opens with (without a default view)."""
        sortable = [c.name for c in self.columns if c.sortable]
        return {
            "search": "",
            "sort": self.default_sort if self.default_sort in sortable else (sortable[0] if sortable else None),
            "desc": self.default_descending,
            "size": PAGE_SIZES[1],
            "columns": [c.name for c in self.columns if c.visible],
        } | {f"filter_{flt.name}": self.default_filters.get(flt.name, flt.empty()) for flt in self.filters}

    def _init_widgets(self) -> None:
        """Start values go into session state (not widget defaults), so a saved view can set them too."""
        for name, value in self._defaults().items():
            st.session_state.setdefault(self._k(name), value)

    def _filter_widget(self, flt: ListFilter) -> Any:
        key = self._k(f"filter_{flt.name}")
        if flt.kind == "multi":
            return st.multiselect(
                flt.label, list(flt.options), format_func=flt.format_func, key=key, placeholder=t("list.all")
            )
        if flt.kind == "select":
            return st.selectbox(
                flt.label,
                [None, *flt.options],
                format_func=lambda v: t("list.all") if v is None else flt.format_func(v),
                placeholder=t("list.all"),
                key=key,
            )
        if flt.kind == "date":
            return st.date_input(flt.label, value=None, format="DD.MM.YYYY", key=key)
        return st.number_input(flt.label, value=None, min_value=0.0, step=1000.0, format="%.2f", key=key)

    def _filter_bar(self) -> tuple[ListQuery, list[str]]:
        self._init_widgets()
        sortable = [c.name for c in self.columns if c.sortable]
        first = [f for f in self.filters if not f.more]
        more = [f for f in self.filters if f.more]
        search_col, *filter_cols = st.columns([2] + [f.width for f in first]) if first else [st.container()]
        with search_col:
            search = st.text_input(
                t("list.search"), key=self._k("search"), placeholder=self.search_placeholder, icon=":material/search:"
            )
        values: dict[str, Any] = {}
        for col, flt in zip(filter_cols, first):
            with col:
                values[flt.name] = self._filter_widget(flt)
        if more:
            active = any(st.session_state.get(self._k(f"filter_{f.name}")) not in (None, []) for f in more)
            with st.expander(t("list.more_filters"), icon=":material/tune:", expanded=active):
                for col, flt in zip(st.columns(len(more)), more):
                    with col:
                        values[flt.name] = self._filter_widget(flt)
        chosen: dict[str, Any] = {}
        for flt in self.filters:
            value = values[flt.name]
            if value in (None, []):
                continue
            chosen[flt.name] = list(value) if flt.kind == "multi" else value

        sort_col, dir_col, size_col, cols_col = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
        sort, descending = None, False
        if sortable:  # a list in a fixed order (e.g. a log, newest first) shows no sort controls
            with sort_col:
                sort = st.selectbox(
                    t("list.sort"), sortable, format_func=lambda n: self._by_name[n].label, key=self._k("sort")
                )
            with dir_col:
                descending = st.toggle(t("list.descending"), key=self._k("desc"))
        with size_col:
            size = st.selectbox(t("list.page_size"), PAGE_SIZES, key=self._k("size"))
        with cols_col, st.popover(t("list.columns"), icon=":material/view_column:", width="stretch"):
            visible = st.multiselect(
                t("list.columns"),
                [c.name for c in self.columns],
                format_func=lambda n: self._by_name[n].label,
                key=self._k("columns"),
                placeholder=t("common.choose"),
            )
        signature = (search, tuple(sorted((k, str(v)) for k, v in chosen.items())), sort, descending, size)
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

    # Saved views ----------------------------------------------------------------------
    def _current_state(self) -> dict[str, Any]:
        state = st.session_state
        filters = {
            flt.name: flt.to_state(value)
            for flt in self.filters
            if (value := state.get(self._k(f"filter_{flt.name}"))) not in (None, [])
        }
        return {
            "search": state.get(self._k("search")) or "",
            "filters": filters,
            "sort": state.get(self._k("sort")),
            "descending": bool(state.get(self._k("desc"))),
            "columns": list(state.get(self._k("columns")) or []),
            "page_size": state.get(self._k("size")),
        }

    def _apply_state(self, saved: Mapping[str, Any] | None) -> None:
        """Put a saved view's settings (None: the defaults) into the widgets; before they are drawn.

        A saved view's filters are complete: a filter it does not name is empty, not the list's default."""
        defaults = self._defaults()
        is_default = saved is None
        saved = saved or {}
        names = {c.name for c in self.columns}
        sortable = {c.name for c in self.columns if c.sortable}
        state = st.session_state
        state[self._k("search")] = str(saved.get("search") or "")
        state[self._k("sort")] = saved.get("sort") if saved.get("sort") in sortable else defaults["sort"]
        state[self._k("desc")] = bool(saved.get("descending", defaults["desc"]))
        state[self._k("size")] = saved.get("page_size") if saved.get("page_size") in PAGE_SIZES else defaults["size"]
        columns = [c for c in saved.get("columns") or [] if c in names]
        state[self._k("columns")] = columns or defaults["columns"]
        filters = saved.get("filters") or {}
        for flt in self.filters:
            if flt.name in filters:
                value = flt.from_state(filters[flt.name])
            else:
                value = defaults[f"filter_{flt.name}"] if is_default else flt.empty()
            state[self._k(f"filter_{flt.name}")] = value

    def _on_view_chosen(self) -> None:
        view_id = st.session_state.get(self._k("view"))
        views = {v.id: v for v in queries.saved_views_of(self.ns)}
        self._apply_state(views[view_id].state if view_id in views else None)

    def _save_view(self) -> None:
        """Save callback; an existing name is overwritten only after the user ticked the confirmation."""
        state = st.session_state
        name = (state.get(self._k("view_name")) or "").strip()
        taken = name in {v.name for v in queries.saved_views_of(self.ns)}
        if taken and not state.get(self._k("view_overwrite")):
            state[self._k("view_error")] = ValidationFailed({"name": t("views.confirm_overwrite", name=name)})
            return
        try:
            view = saved_views.save_view(
                context.uow(),
                page=self.ns,
                name=name,
                state=self._current_state(),
                is_default=bool(state.get(self._k("view_default"))),
            )
        except DomainError as exc:
            state[self._k("view_error")] = exc
            return
        queries.clear_reads()
        state[self._k("view")] = view.id
        state[self._k("view_name")] = ""
        state[self._k("view_default")] = False
        state[self._k("view_overwrite")] = False
        flash(t("views.saved", name=view.name))

    def _toggle_default(self, view_id: int, is_default: bool) -> None:
        try:
            view = saved_views.set_default(context.uow(), view_id, is_default=is_default)
        except DomainError as exc:
            st.session_state[self._k("view_error")] = exc
            return
        queries.clear_reads()
        flash(t("views.default_set" if is_default else "views.default_cleared", name=view.name))

    def _views_bar(self) -> None:
        """Choose a saved view (applies it), save the current settings, make a view the default, delete."""
        state = st.session_state
        views = {v.id: v for v in queries.saved_views_of(self.ns)}
        key = self._k("view")
        if key not in state:
            default = next((v for v in views.values() if v.is_default), None)
            state[key] = default.id if default else None
            if default is not None:
                self._apply_state(default.state)
        elif state[key] is not None and state[key] not in views:
            state[key] = None  # deleted meanwhile
        error = state.pop(self._k("view_error"), None)
        if error is not None:
            show_error(error, labels={"name": t("views.name"), "state": t("views.view")})
        pick_col, save_col, default_col, delete_col = st.columns([3, 1.5, 1.2, 1.2], vertical_alignment="bottom")
        names = {i: f"{v.name} ★" if v.is_default else v.name for i, v in views.items()}
        none_label = self.default_view_label or t("views.none")
        pick_col.selectbox(
            t("views.view"),
            [None, *views],
            placeholder=none_label,
            format_func=lambda i: none_label if i is None else names[i],
            key=key,
            on_change=self._on_view_chosen,
            help=t("views.view_help"),
        )
        with save_col.popover(t("views.save"), icon=":material/bookmark_add:", width="stretch"):
            name = st.text_input(t("views.name"), key=self._k("view_name"), max_chars=100)
            st.checkbox(t("views.make_default"), key=self._k("view_default"))
            if name.strip() in {v.name for v in views.values()}:
                st.checkbox(t("views.overwrite", name=name.strip()), key=self._k("view_overwrite"))
            st.button(
                t("views.save_button"), key=self._k("view_save"), type="primary", icon=":material/save:",
                on_click=self._save_view,
            )
        chosen = views.get(state.get(key))
        default_col.button(
            t("views.unset_default") if chosen and chosen.is_default else t("views.set_default"),
            key=self._k("view_default_toggle"),
            icon=":material/star:",
            disabled=chosen is None,
            on_click=self._toggle_default,
            args=(chosen.id, not chosen.is_default) if chosen else (0, False),
            width="stretch",
        )
        if delete_col.button(
            t("common.delete"),
            key=self._k("view_delete"),
            icon=":material/bookmark_remove:",
            disabled=chosen is None,
            width="stretch",
        ) and chosen is not None:

            def remove(view_id: int = chosen.id, name: str = chosen.name) -> None:
                saved_views.delete_view(context.uow(), view_id)
                queries.clear_reads()
                flash(t("views.deleted", name=name))

            confirm(
                key=self._k("view_confirm_delete"),
                title=t("views.delete_title"),
                message=t("views.delete_text", name=chosen.name),
                confirm_label=t("common.delete"),
                on_confirm=remove,
            )

    # Grid -----------------------------------------------------------------------------
    def _display_frame(self, rows: pd.DataFrame, visible: Sequence[str]) -> pd.DataFrame:
        lang = current_lang()
        shown = [c for c in self.columns if c.name in visible]
        frame = pd.DataFrame({"id": rows["id"].astype(int)})
        for column in shown:
            if column.name == "id":
                continue
            if column.kind == "money":
                cells = zip(rows[column.name], rows[column.currency])
                frame[column.label] = [format_cell(v, "money", lang, str(c)) for v, c in cells]
            else:
                frame[column.label] = [format_cell(v, column.kind, lang) for v in rows[column.name]]
        return frame

    def _grid(self, frame: pd.DataFrame, key_material: str) -> list[int]:
        builder = GridOptionsBuilder.from_dataframe(frame)
        builder.configure_default_column(sortable=False, filter=False, resizable=True)
        builder.configure_column("id", header_name=t("list.id"), minWidth=80, maxWidth=90, pinned="left")
        first_text = next((c.label for c in self.columns if c.name != "id" and c.kind == "text"), None)
        if first_text in frame.columns:
            builder.configure_column(first_text, minWidth=200, flex=2)
        for column in self.columns:
            width = column.min_width or MIN_WIDTHS.get(column.kind)
            if width and column.label in frame.columns and column.label != first_text:
                builder.configure_column(column.label, minWidth=width)  # fitting the grid cut "26.11.20…"
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
    def _actions(self, selected: list[int], labels: Mapping[int, str]) -> None:
        labels_shown = [a.label for a in self.bulk_actions] + [a.label for a in self.bulk_form_actions]
        widths = [max(1.2, 0.4 + 0.09 * len(text)) for text in labels_shown]  # long labels stay readable
        buttons = st.columns([1.2, *widths, 3], vertical_alignment="center")
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
        pending = st.session_state.get(self._k("bulk_pending"))
        for cell, form_action in zip(buttons[1 + len(self.bulk_actions) :], self.bulk_form_actions):
            if cell.button(
                form_action.label,
                key=self._k(f"bulk_{form_action.key}"),
                icon=form_action.icon,
                disabled=not selected,
                width="stretch",
            ):
                pending = (form_action.key, list(selected), {i: labels.get(i, f"#{i}") for i in selected})
                st.session_state[self._k("bulk_pending")] = pending
        if pending:
            action_key, ids, names = pending
            form_action = next((a for a in self.bulk_form_actions if a.key == action_key), None)
            if form_action is not None:
                self._form_dialog(form_action, ids, names)
        buttons[-1].caption(t("list.selected", n=len(selected)) if selected else t("list.select_hint"))

    def _form_dialog(self, action: BulkFormAction, ids: list[int], names: Mapping[int, str]) -> None:
        """The input dialog of a form bulk action; open while pending, so it survives full reruns."""
        pending = self._k("bulk_pending")

        @st.dialog(action.title, width="medium", on_dismiss=lambda: st.session_state.pop(pending, None))
        def _dialog() -> None:
            st.markdown(action.text.format(n=len(ids)))
            values = action.fields(self._k(f"bulk_{action.key}_form"))
            go, cancel = st.columns(2)
            if go.button(
                action.label, key=self._k(f"bulk_{action.key}_go"), type="primary", icon=action.icon, width="stretch"
            ):
                try:
                    outcome = action.run(ids, values)
                except DomainError as exc:
                    show_error(exc, labels=action.labels)
                    return
                finally:
                    queries.clear_reads()
                st.session_state.pop(pending, None)
                if len(outcome.failures) < len(ids):
                    flash(outcome.message)
                st.session_state[self._k("bulk_failures")] = [
                    (names.get(record_id, f"#{record_id}"), message) for record_id, message in outcome.failures.items()
                ]
                st.rerun()
            if cancel.button(t("common.cancel"), key=self._k(f"bulk_{action.key}_cancel"), width="stretch"):
                st.session_state.pop(pending, None)
                st.rerun()

        _dialog()

    def _failures(self) -> None:
        """Rows a bulk action could not change, each with its reason (shown once, after the action)."""
        failures = st.session_state.pop(self._k("bulk_failures"), None)
        if failures:
            lines = "\n".join(f"- **{name}**: {message}" for name, message in failures)
            st.warning(f"{t('list.bulk_failed', n=len(failures))}\n\n{lines}", icon=":material/warning:")

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
        download_button(
            csv_col,
            t("list.export_csv"),
            lambda: csv_bytes(self._export_frame(query, visible)),
            file_name=f"{self.export_name}.csv",
            key=self._k("csv"),
        )
        download_button(
            xlsx_col,
            t("list.export_xlsx"),
            lambda: dataframe_to_xlsx(self._export_frame(query, visible), sheet_name=self.noun, title=self.noun),
            file_name=f"{self.export_name}.xlsx",
            key=self._k("xlsx"),
        )

    # Page -----------------------------------------------------------------------------
    def render(self) -> None:
        if self.saved_views:
            self._views_bar()
        query, visible = self._filter_bar()
        self._failures()
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
        self._actions(selected, labels)
        self._exports(query, visible)
