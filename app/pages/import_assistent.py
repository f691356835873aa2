"""Import-Assistent: upload a CSV/Excel file, map its columns, preview and check, import, download the report.

The parsed file, the mapping, the check and the result are kept in session state (`import__*`), so each
step survives reruns; core.imports does all reading, checking and writing (one transaction).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import consent_matrix, context, queries
from app.components.exporting import download_button
from app.components.feedback import show_error
from app.components.i18n import current_lang, t
from core.errors import DomainError
from core.imports import (
    ALL_OR_NOTHING,
    DONE,
    MODES,
    PARTIAL,
    DoiOption,
    ImportPlan,
    ImportResult,
    Issue,
    SourceTable,
    auto_mapping,
    check_mapping,
    entity_spec,
    plan_import,
    preview_rows,
    read_file,
    report_csv,
    run_import,
)

NS = "import"
STEP, ENTITY, TABLE, MAPPING, PLAN, RESULT = (f"{NS}__{k}" for k in ("step", "entity", "table", "mapping", "plan", "result"))
STEPS = ("imports.step_upload", "imports.step_mapping", "imports.step_check", "imports.step_result")
REPORT_ROWS_SHOWN = 1_000
state = st.session_state


def go(step: int) -> None:
    state[STEP] = step
    st.rerun()


def reset() -> None:
    for key in [k for k in state if str(k).startswith(f"{NS}__")]:
        del state[key]


def entities() -> list[str]:
    return [name for name in ("contacts", "accounts") if context.may(entity_spec(name).permission)]


def upload_step() -> None:
    choices = entities()
    entity = st.radio(t("imports.entity"), choices, format_func=lambda e: t(f"imports.entity.{e}"), key=f"{NS}__entity_choice", horizontal=True)
    upload = st.file_uploader(t("imports.file"), type=["csv", "xlsx"], key=f"{NS}__upload")
    if st.button(t("imports.read"), key=f"{NS}__read", type="primary", icon=":material/arrow_forward:"):
        if upload is None:
            st.warning(t("imports.file_missing"), icon=":material/upload_file:")
            return
        try:
            table = read_file(upload.getvalue(), upload.name)
        except DomainError as exc:
            show_error(exc, labels={"datei": upload.name})
            return
        state[ENTITY] = entity
        state[TABLE] = table
        state[MAPPING] = auto_mapping(entity_spec(entity), table.columns)
        go(1)


def sample(table: SourceTable, index: int) -> str:
    value = next((row[index] for row in table.rows[:50] if index < len(row) and row[index]), "")
    return t("imports.sample", value=value[:40]) if value else ""


def mapping_step(table: SourceTable) -> None:
    spec = entity_spec(state[ENTITY])
    st.caption(t("imports.file_info", file=table.file_name, rows=table.size, columns=len(table.columns)))
    st.markdown(t("imports.mapping_intro"))
    options: list[str | None] = [None, *spec.names]
    labels = {name: spec.field(name).label + (" *" if spec.field(name).required else "") for name in spec.names}
    mapping: dict[str, str | None] = {}
    current = state.get(MAPPING) or auto_mapping(spec, table.columns)
    for index, column in enumerate(table.columns):
        left, right = st.columns([2, 3], vertical_alignment="center")
        left.markdown(f"**{column}**  \n{sample(table, index)}")
        mapping[column] = right.selectbox(
            column,
            options,
            index=options.index(current.get(column)),
            format_func=lambda name: labels[name] if name else t("imports.ignore"),
            key=f"{NS}__map_{index}",
            label_visibility="collapsed",
        )
    state[MAPPING] = mapping
    back, forward = st.columns(2)
    if back.button(t("imports.back"), key=f"{NS}__back_1", icon=":material/arrow_back:"):
        go(0)
    if forward.button(t("imports.check"), key=f"{NS}__check", type="primary", icon=":material/fact_check:"):
        try:
            check_mapping(spec, table.columns, mapping)
            state[PLAN] = plan_import(context.uow(), table, entity=spec.name, mapping=mapping)
        except DomainError as exc:
            show_error(exc, labels={"mapping": t("imports.step_mapping")})
            return
        go(2)


def issues_table(issues: list[Issue] | tuple[Issue, ...]) -> pd.DataFrame:
    shown = issues[:REPORT_ROWS_SHOWN]
    return pd.DataFrame(
        {
            t("imports.col.row"): [i.row for i in shown],
            t("imports.col.column"): [i.column for i in shown],
            t("imports.col.value"): [i.value for i in shown],
            t("imports.col.reason"): [i.reason for i in shown],
        }
    )


def report_section(issues: list[Issue] | tuple[Issue, ...], file_name: str) -> None:
    st.subheader(t("imports.report"))
    if not issues:
        st.success(t("imports.no_issues"), icon=":material/check_circle:")
        return
    st.caption(t("imports.row_hint"))
    if len(issues) > REPORT_ROWS_SHOWN:
        st.info(t("imports.report_truncated", shown=REPORT_ROWS_SHOWN, total=len(issues)), icon=":material/info:")
    st.dataframe(issues_table(issues), hide_index=True, width="stretch")
    download_button(
        st,
        t("imports.download_report"),
        lambda: report_csv(issues),
        file_name=f"pruefbericht-{file_name.rsplit('.', 1)[0]}.csv",
        key=f"{NS}__download",
        width="content",
    )


def doi_option(plan: ImportPlan) -> DoiOption | None:
    """"Double-Opt-in anfordern" for a purpose: contacts only, for users who may record consent."""
    if plan.spec.name != "contacts" or not context.may("consent.write"):
        return None
    if not st.checkbox(t("imports.doi"), key=f"{NS}__doi", help=t("imports.doi_help")):
        return None
    names = {p.key: p.name(current_lang()) for p in consent_matrix.purposes()}
    left, right = st.columns([3, 2])
    purpose = left.selectbox(t("imports.doi_purpose"), list(names), format_func=names.get, key=f"{NS}__doi_purpose")
    language = right.radio(
        t("imports.doi_language"), ("de", "en"), format_func=lambda lang: t(f"imports.doi_language.{lang}"),
        key=f"{NS}__doi_language", horizontal=True,
    )
    st.caption(t("imports.doi_count", n=plan.with_email))
    return DoiOption(purpose, language) if purpose else None


def check_step(table: SourceTable, plan: ImportPlan) -> None:
    st.subheader(t("imports.preview", n=min(20, table.size)))
    st.dataframe(preview_rows(table, plan.spec, plan.mapping), hide_index=True, width="stretch")
    for note in plan.notes:
        st.caption(note)
    cols = st.columns(4)
    cols[0].metric(t("imports.to_create"), plan.to_create)
    cols[1].metric(t("imports.to_update"), plan.to_update)
    cols[2].metric(t("imports.rejected"), plan.rejected_rows)
    cols[3].metric(t("imports.new_companies"), len(plan.new_companies))
    report_section(plan.issues, table.file_name)
    mode = st.radio(t("imports.mode"), MODES, format_func=lambda m: t(f"imports.mode.{m}"), key=f"{NS}__mode", index=MODES.index(ALL_OR_NOTHING))
    doi = doi_option(plan)
    back, forward = st.columns(2)
    if back.button(t("imports.back"), key=f"{NS}__back_2", icon=":material/arrow_back:"):
        go(1)
    if forward.button(t("imports.run"), key=f"{NS}__run", type="primary", icon=":material/upload:"):
        bar = st.progress(0.0, text=t("imports.running"))
        try:
            result = run_import(
                context.uow(), table, entity=plan.spec.name, mode=mode, mapping=state[MAPPING],
                progress=lambda share, text: bar.progress(share, text=text), doi=doi,
            )
        except DomainError as exc:
            show_error(exc)
            return
        queries.clear_reads()
        state[RESULT] = result
        go(3)


def result_step(result: ImportResult, file_name: str) -> None:
    message = {DONE: "imports.done", PARTIAL: "imports.partial"}.get(result.status, "imports.rejected_run")
    if result.status == DONE:
        st.success(t(message, run=result.run_id), icon=":material/check_circle:")
    elif result.status == PARTIAL:
        st.warning(t(message, run=result.run_id), icon=":material/warning:")
    else:
        st.error(t(message, run=result.run_id), icon=":material/error:")
    st.markdown(result.summary())
    for note in result.notes:
        st.caption(note)
    cols = st.columns(4)
    cols[0].metric(t("imports.created"), result.created)
    cols[1].metric(t("imports.updated"), result.updated)
    cols[2].metric(t("imports.unchanged"), result.unchanged)
    cols[3].metric(t("imports.companies_created"), result.companies_created)
    report_section(result.issues, file_name)
    if st.button(t("imports.again"), key=f"{NS}__again", icon=":material/restart_alt:"):
        reset()
        st.rerun()


st.title(f":material/upload_file: {t('page.import')}")
st.caption(t("imports.intro"))
step = int(state.get(STEP, 0))
if step > 0 and TABLE not in state:
    step = 0
st.progress((step + 1) / len(STEPS), text=t("imports.step_of", n=step + 1, total=len(STEPS), title=t(STEPS[step])))
with st.container(border=True):
    if step == 0:
        upload_step()
    elif step == 1:
        mapping_step(state[TABLE])
    elif step == 2 and PLAN in state:
        check_step(state[TABLE], state[PLAN])
    elif step == 3 and RESULT in state:
        result_step(state[RESULT], state[TABLE].file_name)
    else:
        go(1)
