"""Zusammenführen: a wizard that merges two duplicate companies or contacts, and the recent merges with undo.

Steps: the two records (prefilled when the Dubletten page sets st.session_state["merge__pair"] =
(entity, id_a, id_b)), the record that stays, the surviving value per differing field, a review
with what will be moved — then a confirmation dialog, the merge, and the result with "Rückgängig machen".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.fields import FormField
from app.components.i18n import current_lang, t, t_or
from app.components.links import open_account, open_contact
from app.components.wizard import Wizard, WizardStep
from core.errors import DomainError
from core.formatting import fmt_date, fmt_datetime, fmt_number
from core.merge import MergePreview, MergeView, list_merges, merge, merge_preview, undo_merge

NS = "merge"
PAIR_KEY = "merge__pair"
CONFIRM_KEY = "merge__confirm"
UNDO_KEY = "merge__undo"
RESULT_KEY = "merge__result"
# The wizard keeps its input and position under these keys (app/components/wizard.py).
DATA_KEY = f"{NS}__data"
STEP_KEY = f"{NS}__step"
KEEP = "keep__"
ENTITIES = ("account", "contact")
REVIEW_STEP = 3
lang = current_lang()


@dataclass(frozen=True)
class MergePlan:
    preview: MergePreview
    choices: dict[str, str]
    data: dict[str, Any]

    @property
    def relinked(self) -> int:
        return sum(self.preview.relink_counts.values())


@dataclass(frozen=True)
class UndoRequest:
    merge_id: int
    survivor: str
    merged: str
    merged_id: int


def record_name(entity: str, record_id: int, label: str) -> str:
    return f"{t(f'entity.{entity}')} {t('merge.record', id=record_id, label=label)}"


def value_text(field: str, value: Any) -> str:
    if value is None or value == "":
        return t("merge.empty_value")
    if field == "owner_id":
        return queries.owner_choices().get(value, str(value))
    if field == "account_id":
        return queries.account_labels((value,)).get(value, str(value))
    if isinstance(value, dt.date):
        return fmt_date(value, lang)
    if isinstance(value, int) and not isinstance(value, bool):
        return fmt_number(value, lang)
    return str(value)


# --- the wizard -------------------------------------------------------------------------------------


def wizard_data() -> dict[str, Any]:
    return st.session_state.setdefault(DATA_KEY, {"entity": "account"})


def take_pair_from_dubletten() -> None:
    """A pair handed over by the Dubletten page starts the wizard afresh with it."""
    pair = st.session_state.pop(PAIR_KEY, None)
    if pair is None:
        return
    entity, id_a, id_b = pair
    for key in [k for k in st.session_state if str(k).startswith(f"{NS}__")]:
        del st.session_state[key]
    st.session_state[DATA_KEY] = {"entity": entity, "id_a": int(id_a), "id_b": int(id_b), "survivor": int(id_a)}
    st.session_state[STEP_KEY] = 1


def preview_for(data: dict[str, Any]) -> MergePreview | None:
    """Both records as chosen so far (None until two numbers are given); raises DomainError."""
    entity, id_a, id_b = data.get("entity"), data.get("id_a"), data.get("id_b")
    if entity not in ENTITIES or not id_a or not id_b:
        return None
    survivor = data.get("survivor") if data.get("survivor") in (id_a, id_b) else id_a
    merged = id_b if survivor == id_a else id_a
    return merge_preview(context.uow(), entity=entity, survivor_id=int(survivor), merged_id=int(merged))


def default_keep(preview: MergePreview, field: str) -> int:
    """The survivor's value, unless it is empty and the other record has one (fill the gap)."""
    if preview.survivor_values[field] in (None, "") and preview.merged_values[field] not in (None, ""):
        return preview.merged_id
    return preview.survivor_id


def value_fields(preview: MergePreview | None) -> list[FormField]:
    if preview is None:
        return []
    values = {preview.survivor_id: preview.survivor_values, preview.merged_id: preview.merged_values}
    data = wizard_data()
    fields = []
    for name in preview.differing:
        data.setdefault(KEEP + name, default_keep(preview, name))

        def shown(record_id: int, name: str = name) -> str:
            return f"{value_text(name, values[record_id][name])}  (Nr. {record_id})"

        label = t_or(f"field.{preview.entity}.{name}", name)
        fields.append(FormField(KEEP + name, label, "select", tuple(values), format_func=shown, required=True))
    return fields


def steps(preview: MergePreview | None) -> list[WizardStep]:
    data = wizard_data()
    ids = [int(i) for i in (data.get("id_a"), data.get("id_b")) if i]
    labels = {preview.survivor_id: preview.survivor_label, preview.merged_id: preview.merged_label} if preview else {}
    return [
        WizardStep(
            t("merge.step_records"),
            [
                FormField(
                    "entity",
                    t("merge.entity"),
                    "select",
                    ENTITIES,
                    format_func=lambda e: t(f"merge.entity_{e}"),
                    required=True,
                ),
                FormField("id_a", t("merge.id_a"), "int", required=True, help=t("merge.id_help")),
                FormField("id_b", t("merge.id_b"), "int", required=True, help=t("merge.id_help")),
            ],
        ),
        WizardStep(
            t("merge.step_survivor"),
            [
                FormField(
                    "survivor",
                    t("merge.survivor"),
                    "select",
                    ids,
                    format_func=lambda i: t("merge.record", id=i, label=labels.get(i, "")),
                    required=True,
                    help=t("merge.survivor_help"),
                )
            ],
        ),
        WizardStep(t("merge.step_values"), value_fields(preview)),
    ]


def make_plan(data: dict[str, Any]) -> MergePlan:
    preview = preview_for(data)
    assert preview is not None, "the wizard asks for both numbers before the review"
    choices = {f: "merged" if data.get(KEEP + f) == preview.merged_id else "survivor" for f in preview.differing}
    return MergePlan(preview, choices, data)


def ask_for_confirmation(plan: MergePlan) -> None:
    """The wizard was reset by finishing: put it back on the review and open the dialog."""
    st.session_state[DATA_KEY] = plan.data
    st.session_state[STEP_KEY] = REVIEW_STEP
    st.session_state[CONFIRM_KEY] = plan


def relink_summary(preview: MergePreview) -> None:
    counts = {key: n for key, n in preview.relink_counts.items() if n}
    with st.container(border=True):
        st.markdown(f"**{t('merge.relink_title')}**")
        if not counts:
            st.caption(t("merge.relink_none"))
        for key, n in counts.items():
            st.markdown(f"- {t_or(f'merge.relink.{key}', key)}: **{fmt_number(n, lang)}**")


def merge_wizard() -> None:
    try:
        preview = preview_for(wizard_data())
    except DomainError as exc:
        show_error(exc)
        preview = None
    wizard = Wizard(
        ns=NS,
        steps=steps(preview),
        finish=make_plan,
        finish_label=t("merge.finish"),
        on_done=ask_for_confirmation,
        done_message=t("merge.confirm_pending"),
    )
    if preview is not None and wizard.step == 2:
        st.caption(t("merge.values_hint") if preview.differing else t("merge.no_differences"))
    if preview is not None and wizard.step == REVIEW_STEP:
        relink_summary(preview)
    wizard.render()


# --- confirmation, result and undo ------------------------------------------------------------------


def confirmation(state_key: str, title: str, message: str, label: str, action: Callable[[], None]) -> None:
    """A dialog that stays open while `state_key` is set; confirming runs `action`, cancelling closes it."""

    def close() -> None:
        st.session_state.pop(state_key, None)

    @st.dialog(title, on_dismiss=close)
    def dialog() -> None:
        st.markdown(message)
        yes, no = st.columns(2)
        if yes.button(label, key=f"{state_key}__yes", type="primary", icon=":material/check:", width="stretch"):
            try:
                action()
            except DomainError as exc:
                show_error(exc)
                return
            close()
            st.rerun()
        if no.button(t("common.cancel"), key=f"{state_key}__no", width="stretch"):
            close()
            st.rerun()

    dialog()


def run_merge(plan: MergePlan) -> None:
    preview = plan.preview
    view = merge(
        context.uow(),
        entity=preview.entity,
        survivor_id=preview.survivor_id,
        merged_id=preview.merged_id,
        field_choices=plan.choices,
        survivor_version=preview.survivor_version,
        merged_version=preview.merged_version,
    )
    for key in [k for k in st.session_state if str(k).startswith(f"{NS}__") and k != CONFIRM_KEY]:
        del st.session_state[key]
    st.session_state[RESULT_KEY] = (view, plan)
    queries.clear_reads()
    flash(t("merge.done"))


def run_undo(request: UndoRequest) -> None:
    undo_merge(context.uow(), request.merge_id)
    result = st.session_state.get(RESULT_KEY)
    if result is not None and result[0].id == request.merge_id:
        del st.session_state[RESULT_KEY]
    queries.clear_reads()
    flash(t("merge.undone"))


def open_record(entity: str, record_id: int) -> None:
    if entity == "account":
        open_account(record_id)
    else:
        open_contact(record_id)


def merge_result(view: MergeView, plan: MergePlan) -> None:
    preview = plan.preview
    survivor = record_name(view.entity, view.survivor_id, preview.survivor_label)
    merged = record_name(view.entity, view.merged_id, preview.merged_label)
    st.success(
        t("merge.result", merged=merged, survivor=survivor, relinked=view.relinked_count), icon=":material/merge:"
    )
    open_col, undo_col, again_col = st.columns(3)
    if open_col.button(t("merge.open_survivor"), key=f"{NS}__open", icon=":material/open_in_new:", width="stretch"):
        open_record(view.entity, view.survivor_id)
    if undo_col.button(t("merge.undo"), key=f"{NS}__undo_last", icon=":material/undo:", width="stretch"):
        st.session_state[UNDO_KEY] = UndoRequest(view.id, survivor, merged, view.merged_id)
    if again_col.button(t("merge.another"), key=f"{NS}__again", icon=":material/restart_alt:", width="stretch"):
        del st.session_state[RESULT_KEY]
        st.rerun()


def history_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("merge.col_when"): [fmt_datetime(v, lang) for v in frame["merged_at"]],
            t("merge.col_kind"): [t(f"entity.{e}") for e in frame["entity"]],
            t("merge.col_survivor"): [f"{i} – {n}" for i, n in zip(frame["survivor_id"], frame["survivor_label"])],
            t("merge.col_merged"): [f"{i} – {n}" for i, n in zip(frame["merged_id"], frame["merged_label"])],
            t("merge.col_relinked"): frame["relinked"],
            t("merge.col_by"): frame["merged_by"].fillna(""),
            t("merge.col_undone"): [fmt_datetime(v, lang) if pd.notna(v) else "" for v in frame["undone_at"]],
        }
    )


def recent_merges() -> None:
    st.subheader(t("merge.history"))
    frame = list_merges(context.uow())
    if frame.empty:
        st.caption(t("merge.history_empty"))
        return
    st.dataframe(history_table(frame), hide_index=True, width="stretch")
    open_merges = frame[frame["undone_at"].isna()]
    if open_merges.empty:
        return
    requests = {
        int(r.id): UndoRequest(
            int(r.id),
            record_name(r.entity, int(r.survivor_id), r.survivor_label),
            record_name(r.entity, int(r.merged_id), r.merged_label),
            int(r.merged_id),
        )
        for r in open_merges.itertuples()
    }
    pick_col, undo_col = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick_col.selectbox(
        t("merge.history_pick"),
        list(requests),
        format_func=lambda i: f"{requests[i].merged} → {requests[i].survivor}",
        key=f"{NS}__history_pick",
    )
    if undo_col.button(t("merge.undo"), key=f"{NS}__history_undo", icon=":material/undo:", width="stretch"):
        st.session_state[UNDO_KEY] = requests[chosen]


# --- the page -----------------------------------------------------------------------------------------

st.title(f":material/merge: {t('page.merge')}")
st.caption(t("merge.intro"))
take_pair_from_dubletten()
result = st.session_state.get(RESULT_KEY)
if result is not None:
    merge_result(*result)
else:
    merge_wizard()
plan = st.session_state.get(CONFIRM_KEY)
if plan is not None:
    confirmation(
        CONFIRM_KEY,
        t("merge.confirm_title"),
        t(
            "merge.confirm_text",
            merged=record_name(plan.preview.entity, plan.preview.merged_id, plan.preview.merged_label),
            survivor=record_name(plan.preview.entity, plan.preview.survivor_id, plan.preview.survivor_label),
            relinked=plan.relinked,
        ),
        t("merge.finish"),
        lambda: run_merge(plan),
    )
undo = st.session_state.get(UNDO_KEY)
if undo is not None:
    confirmation(
        UNDO_KEY,
        t("merge.undo_title"),
        t("merge.undo_text", merged=undo.merged, merged_id=undo.merged_id, survivor=undo.survivor),
        t("merge.undo"),
        lambda: run_undo(undo),
    )
st.divider()
recent_merges()
