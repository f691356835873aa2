"""Auskunft / Datenexport (Art. 15/20): pick an open access or portability request whose identity and records are
confirmed, see what every module holds about the person, preview the ZIP package, build it (recorded in the request
log) and download it.

core.gdpr finds, packages and logs; the page only walks the steps. The chosen request, the step, the Art. 20 choice
and the built package are kept in session state (`gdpr_export__*`), so each step survives reruns; reads go through
the cached wrappers in app/components/queries.py, cleared once the package is built.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import show_error
from app.components.i18n import current_lang, t
from app.components.object_page import Facet
from core.errors import DomainError
from core.formatting import fmt_date, fmt_datetime, fmt_number
from core.gdpr.discovery import Discovery
from core.gdpr.export import package_groups
from core.gdpr.registry import DATASETS
from core.gdpr.requests import RequestView
from core.gdpr.vocabulary import IDENTITY_METHODS, IDENTITY_RESULTS, STATUSES, label, type_label

NS = "gdpr_export"
STEP, REQUEST_ID, WORK_FOR, PICK, PORTABLE, PACKAGE = (
    f"{NS}__{k}" for k in ("step", "request_id", "work_for", "pick", "portable", "package")
)
STEPS = (
    "gdpr_export.step_subject",
    "gdpr_export.step_data",
    "gdpr_export.step_preview",
    "gdpr_export.step_build",
    "gdpr_export.step_download",
)
EXPORT_TYPES = ("access", "portability")
REQUESTS_PAGE = "pages/gdpr_requests.py"
DETAIL_PAGE = "pages/gdpr_request_detail.py"
SAMPLE_ROWS = 20
state = st.session_state
lang = current_lang()


# State ------------------------------------------------------------------------------------------
def go(step: int) -> None:
    state[STEP] = step
    st.rerun()


def reset() -> None:
    for key in [k for k in state if str(k).startswith(f"{NS}__")]:
        del state[key]
    st.query_params.pop("request", None)


def chosen_request() -> int | None:
    """The request to export: `?request=` wins (the request page, bookmarks, reloads), else the last chosen one.
    Another request than the one worked on starts over: step, Art. 20 choice and package are its own."""
    raw = st.query_params.get("request")
    if raw is not None and str(raw).isdigit():
        state[REQUEST_ID] = int(raw)
    request_id = state.get(REQUEST_ID)
    if state.get(WORK_FOR) != request_id:
        for key in (STEP, PORTABLE, PACKAGE):
            state.pop(key, None)
        state[WORK_FOR] = request_id
    return request_id


def picked() -> None:
    request_id = state.get(PICK)
    state[REQUEST_ID] = request_id
    if request_id is None:
        st.query_params.pop("request", None)
    else:
        st.query_params["request"] = str(request_id)


def nav(step: int, *, forward: str | None = None, disabled: bool = False) -> None:
    """Back (from the second step on) and the step's forward button."""
    back, _, ahead = st.columns([1, 2, 1])
    if step > 0 and back.button(t("wizard.back"), key=f"{NS}__back_{step}", icon=":material/arrow_back:", width="stretch"):
        go(step - 1)
    if forward is not None and ahead.button(
        forward, key=f"{NS}__next_{step}", icon=":material/arrow_forward:", type="primary", disabled=disabled,
        width="stretch",
    ):
        go(step + 1)


def dataset_label(key: str) -> str:
    dataset = DATASETS[key]
    return dataset.label_en if lang == "en" else dataset.label_de


def request_link(request_id: int) -> None:
    st.page_link(
        DETAIL_PAGE, label=t("gdpr_export.open_request", id=request_id), icon=":material/open_in_new:",
        query_params={"id": str(request_id)},
    )


# Step 1: Betroffene Person ------------------------------------------------------------------------
def open_requests() -> pd.DataFrame:
    frame = queries.gdpr_requests(open_only=True)
    return frame[frame["type"].isin(EXPORT_TYPES)]


def option_label(row: Any) -> str:
    return t(
        "gdpr_export.request_option",
        id=row.id,
        type=type_label(row.type, lang),
        requester=row.requester or t("gdpr_export.no_requester"),
        due=fmt_date(row.due_on, lang),
    )


def due_text(view: RequestView, days_left: int) -> str:
    due = fmt_date(view.due_on, lang)
    if days_left < 0:
        return t("gdpr_export.due_overdue", due=due, days=-days_left)
    return t("gdpr_export.due_value", due=due, days=days_left)


def request_facets(view: RequestView, days_left: int) -> None:
    """Who asks (name and e-mail address in the wide first cell), since when, until when, where the request stands."""
    requester = "  \n".join(v for v in (view.requester_name, view.requester_email, view.requester_phone) if v)
    facets = [
        Facet(t("gdpr_export.requester"), requester or "–"),
        Facet(t("gdpr_export.received"), fmt_date(view.received_at, lang)),
        Facet(t("gdpr_export.due"), due_text(view, days_left)),
        Facet(t("gdpr_export.status"), label(STATUSES, view.status, lang)),
    ]
    for cell, facet in zip(st.columns([3, 2, 2, 2]), facets):
        with cell.container(border=True, height="stretch"):
            st.caption(facet.label)
            st.markdown("  \n".join(f"**{line}**" for line in facet.value.split("  \n")))


def exportable(view: RequestView) -> bool:
    return view.is_open and view.type in EXPORT_TYPES and view.identity_confirmed and bool(view.contact_ids or view.account_ids)


def readiness(view: RequestView) -> bool:
    """Say what is confirmed and, where something is missing, exactly what to do first."""
    ready = True
    if view.identity_confirmed:
        st.success(
            t(
                "gdpr_export.identity_ok",
                method=label(IDENTITY_METHODS, view.identity_method, lang),
                checked_by=view.identity_checked_by or "–",
                day=fmt_date(view.identity_checked_at, lang),
            ),
            icon=":material/verified_user:",
        )
    else:
        result = label(IDENTITY_RESULTS, view.identity_result, lang) or t("gdpr_export.identity_unchecked")
        st.warning(t("gdpr_export.identity_missing", state=result, id=view.id), icon=":material/person_alert:")
        ready = False
    if view.contact_ids or view.account_ids:
        st.success(
            t("gdpr_export.subject_ok", contacts=len(view.contact_ids), accounts=len(view.account_ids)),
            icon=":material/how_to_reg:",
        )
    else:
        st.warning(t("gdpr_export.subject_missing", id=view.id), icon=":material/person_search:")
        ready = False
    if not ready:
        request_link(view.id)
    return ready


def subject_step() -> RequestView | None:
    requests = open_requests()
    if requests.empty:
        st.info(t("gdpr_export.no_requests"), icon=":material/inbox:")
        st.page_link(REQUESTS_PAGE, label=t("gdpr_export.to_requests"), icon=":material/arrow_forward:")
        return None
    options = {int(row.id): row for row in requests.itertuples()}
    current = state.get(REQUEST_ID)
    if current is not None and current not in options:
        st.warning(t("gdpr_export.not_applicable", id=current), icon=":material/warning:")
    ids = list(options)
    chosen = st.selectbox(
        t("gdpr_export.request"),
        ids,
        index=ids.index(current) if current in options else None,
        format_func=lambda request_id: option_label(options[request_id]),
        placeholder=t("common.choose"),
        key=PICK,
        on_change=picked,
    )
    if chosen is None:
        return None
    view = queries.gdpr_request(chosen)
    request_facets(view, int(options[chosen].days_left))
    return view if readiness(view) else None


# Step 2: Gefundene Daten --------------------------------------------------------------------------
def data_step(view: RequestView, found: Discovery) -> None:
    cols = st.columns(3)
    cols[0].metric(t("gdpr_export.datasets"), fmt_number(len(found.groups), lang))
    cols[1].metric(t("gdpr_export.entries"), fmt_number(found.total, lang))
    cols[2].metric(t("gdpr_export.records"), fmt_number(len(view.contact_ids) + len(view.account_ids), lang))
    if not found.groups:
        st.info(t("gdpr_export.nothing_found"), icon=":material/info:")
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("gdpr_export.col.dataset"): [dataset_label(g.key) for g in found.groups],
                t("gdpr_export.col.module"): [g.module for g in found.groups],
                t("gdpr_export.col.count"): [g.count for g in found.groups],
                t("gdpr_export.col.legal_basis"): [g.legal_basis for g in found.groups],
                t("gdpr_export.col.retention"): [g.retention for g in found.groups],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown(f"**{t('gdpr_export.samples')}**")
    for group in found.groups:
        with st.expander(f"{dataset_label(group.key)} · {fmt_number(group.count, lang)}", icon=":material/table_rows:"):
            st.caption(t("gdpr_export.purpose", purpose=group.purpose))
            st.caption(t("gdpr_export.basis_and_retention", basis=group.legal_basis, retention=group.retention))
            if not group.rows:
                st.caption(t("gdpr_export.not_exported"))
                continue
            sample = group.rows[:SAMPLE_ROWS]
            frame = pd.DataFrame([{k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                                   for k, v in row.items()} for row in sample])
            st.dataframe(frame, hide_index=True, width="stretch")
            if group.count > len(sample):
                st.caption(t("gdpr_export.sample_shown", shown=len(sample), count=fmt_number(group.count, lang)))


# Step 3: Vorschau ---------------------------------------------------------------------------------
def preview_step(view: RequestView, found: Discovery) -> None:
    """The Art. 20 choice and what the package will hold."""
    portable = st.checkbox(
        t("gdpr_export.portability"),
        value=bool(state.get(PORTABLE, view.type == "portability")),
        key=f"{NS}__portability",
        help=t("gdpr_export.portability_help"),
    )
    if state.get(PORTABLE) is not None and state[PORTABLE] != portable:
        state.pop(PACKAGE, None)
    state[PORTABLE] = portable
    included = package_groups(found, portable)
    files = [
        ("auskunft.pdf", t("gdpr_export.file_pdf"), None),
        ("data.json", t("gdpr_export.file_json_provided" if portable else "gdpr_export.file_json_all"), None),
        ("data.schema.json", t("gdpr_export.file_schema"), None),
        *[(f"{g.key}.csv", t("gdpr_export.file_csv", label=dataset_label(g.key)), g.count) for g in included],
        ("LIESMICH.txt", t("gdpr_export.file_readme"), None),
    ]
    st.markdown(f"**{t('gdpr_export.contents')}**")
    st.dataframe(
        pd.DataFrame(
            {
                t("gdpr_export.col.file"): [name for name, _, _ in files],
                t("gdpr_export.col.content"): [content for _, content, _ in files],
                t("gdpr_export.col.count"): [fmt_number(count, lang) if count is not None else "" for _, _, count in files],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={t("gdpr_export.col.file"): st.column_config.TextColumn(width="medium"),
                       t("gdpr_export.col.count"): st.column_config.TextColumn(width="small")},
    )
    if portable:
        st.caption(t("gdpr_export.provided_from", datasets=", ".join(dataset_label(g.key) for g in included) or "–"))


# Step 4: Erstellen --------------------------------------------------------------------------------
def build_step(view: RequestView, portable: bool) -> None:
    package = state.get(PACKAGE)
    if package is None:
        st.markdown(t("gdpr_export.build_intro", id=view.id))
        if st.button(t("gdpr_export.build"), key=f"{NS}__build", type="primary", icon=":material/folder_zip:"):
            from core.gdpr.export import build_export

            try:
                with st.spinner(t("gdpr_export.building")):
                    state[PACKAGE] = build_export(context.uow(), view.id, portability=portable)
            except DomainError as exc:
                show_error(exc)
                return
            queries.clear_reads()  # the request's log and documents now hold the generation
            st.rerun()
        return
    st.success(t("gdpr_export.built", file=package.file_name), icon=":material/check_circle:")
    cols = st.columns(3)
    cols[0].metric(t("gdpr_export.size"), t("gdpr_export.size_kb", size=fmt_number(len(package.data) / 1024, lang, 1)))
    cols[1].metric(t("gdpr_export.entries"), fmt_number(sum(package.counts.values()), lang))
    cols[2].metric(t("gdpr_export.datasets"), fmt_number(sum(1 for n in package.counts.values() if n), lang))
    st.markdown(f"**{t('gdpr_export.sha')}**")
    st.code(package.sha256, language=None)
    st.markdown(f"**{t('gdpr_export.counts')}**")
    st.dataframe(
        pd.DataFrame(
            {
                t("gdpr_export.col.dataset"): [dataset_label(key) for key in package.counts],
                t("gdpr_export.col.count"): list(package.counts.values()),
            }
        ),
        hide_index=True,
        width="stretch",
    )


# Step 5: Herunterladen ----------------------------------------------------------------------------
def download_step(view: RequestView) -> None:
    package = state[PACKAGE]
    st.download_button(
        t("gdpr_export.download"),
        data=package.data,
        file_name=package.file_name,
        mime="application/zip",
        key=f"{NS}__download",
        icon=":material/download:",
        type="primary",
        on_click="ignore",
    )
    entry = next((e for e in reversed(queries.gdpr_log(view.id)) if e.details.get("sha256") == package.sha256), None)
    if entry is not None:
        st.info(
            t("gdpr_export.logged", id=view.id, when=fmt_datetime(entry.occurred_at, lang), actor=entry.actor_name),
            icon=":material/receipt_long:",
        )
    st.caption(t("gdpr_export.next_steps", id=view.id))
    request_link(view.id)
    if st.button(t("gdpr_export.again"), key=f"{NS}__again", icon=":material/restart_alt:"):
        reset()
        st.rerun()


# Page ---------------------------------------------------------------------------------------------
FORWARD = ("wizard.next", "wizard.next", "wizard.next", "gdpr_export.to_download")


def current_step() -> int:
    step = int(state.get(STEP, 0))
    if state.get(REQUEST_ID) is None:
        return 0
    return 3 if step == 4 and PACKAGE not in state else step


def render_step(step: int) -> bool:
    """The step's content; True when the user may go on."""
    if step == 0:
        return subject_step() is not None
    view = queries.gdpr_request(state[REQUEST_ID])
    if not exportable(view):  # closed or changed since it was chosen: back to the first step, which says why
        go(0)
    found = queries.gdpr_discovery_of(view.contact_ids, view.account_ids)
    if step == 1:
        data_step(view, found)
    elif step == 2:
        preview_step(view, found)
    elif step == 3:
        build_step(view, bool(state.get(PORTABLE, view.type == "portability")))
        return PACKAGE in state
    else:
        download_step(view)
    return True


st.title(f":material/folder_zip: {t('page.gdpr_export')}")
st.caption(t("gdpr_export.intro"))
chosen_request()
step = current_step()
st.progress((step + 1) / len(STEPS), text=t("wizard.step_of", n=step + 1, total=len(STEPS), title=t(STEPS[step])))
try:
    with st.container(border=True):
        may_continue = render_step(step)
    nav(step, forward=t(FORWARD[step]) if step < len(FORWARD) else None, disabled=not may_continue)
except DomainError as exc:
    show_error(exc)
    if st.button(t("gdpr_export.again"), key=f"{NS}__restart", icon=":material/restart_alt:"):
        reset()
        st.rerun()
