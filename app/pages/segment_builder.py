"""Segment-Editor: a new segment, or with `?id=` an existing one, in steps — basics (name, description, dynamic or
static), the rules with the live count, a plain-language summary and sample members beside the editor, then review
and save. Saving runs a first calculation and opens the segment page. Static segments skip the rules: their members
are added on the segment page, by hand or from a CSV file.

core.segments validates (`parse_rules`), counts, describes and saves; the page keeps the draft in session state
(`segb__*`: the basics, the rule tree as the compiler's JSON, the step), so leaving a step or a failed save loses
nothing. The preview is cached per canonical rule JSON (and minute), so going back to an earlier tree costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import flash
from app.components.i18n import current_lang, t
from app.components.rule_editor import (
    Preview,
    RuleEditor,
    Tree,
    check,
    choices_of,
    clear_previews,
    empty_group,
    plain_markdown,
    preview_of,
)
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.formatting import fmt_number
from core.segments.insights import refresh_reach_if_small
from core.segments.recalc import recalculate
from core.segments.rules import Group
from core.segments.service import SegmentView, create_segment, get_segment, update_segment

NS = "segb"
FOR, STEP, BASICS, TREE, VERSION, LOADED, MESSAGE, ERRORS, STALE = (
    f"{NS}__{k}" for k in ("for", "step", "basics", "tree", "version", "loaded", "message", "errors", "stale")
)
NAME, DESCRIPTION, KIND = (f"{NS}__{k}" for k in ("name", "description", "kind"))
DETAIL_PAGE = "pages/segment_detail.py"
LIST_PAGE = "pages/segmente_liste.py"
KINDS = ("dynamic", "static")
state = st.session_state
lang = current_lang()


# The draft --------------------------------------------------------------------------------------------------------
def requested_segment() -> int | None:
    raw = st.query_params.get("id")
    return int(raw) if raw is not None and str(raw).isdigit() else None


def forget_draft() -> None:
    for key in [k for k in state if str(k).startswith(f"{NS}__")]:
        del state[key]


def start_draft(segment_id: int | None) -> bool:
    """Keep the draft of this segment (or of the new one) across reruns; another segment starts afresh.
    False when the segment to edit does not exist."""
    if TREE in state and state.get(FOR) == segment_id:
        return True
    view: SegmentView | None = None
    if segment_id is not None:
        try:
            view = get_segment(context.uow(), segment_id)
        except NotFound:
            st.warning(t("segb.not_found", id=segment_id), icon=":material/search_off:")
            st.page_link(LIST_PAGE, label=t("segb.to_list"), icon=":material/arrow_back:")
            return False
    forget_draft()
    state[FOR] = segment_id
    state[STEP] = 0
    state[BASICS] = {
        "name": view.name if view else "",
        "description": (view.description or "") if view else "",
        "kind": view.kind if view else "dynamic",
    }
    state[TREE] = json.loads(json.dumps(view.rules)) if view and view.rules else empty_group()
    state[VERSION] = view.version if view else None
    state[LOADED] = {"name": view.name, "rules": view.rules} if view else None
    return True


def editing() -> int | None:
    return state.get(FOR)


def basics() -> dict[str, Any]:
    return state[BASICS]


def steps() -> list[str]:
    return ["basics", "rules", "review"] if basics()["kind"] == "dynamic" else ["basics", "review"]


# Navigation -------------------------------------------------------------------------------------------------------
def go(target: int) -> None:
    """Back or forward; leaving the basics needs a name."""
    state.pop(MESSAGE, None)
    state.pop(ERRORS, None)
    current = steps()[state[STEP]]
    if target > state[STEP] and current == "basics" and not basics()["name"].strip():
        state[ERRORS] = {"name": t("segb.required")}
        return
    state[STEP] = max(0, min(target, len(steps()) - 1))


def navigation(step: int, *, forward_blocked: bool = False) -> None:
    """Back and forward; on the last step forward is saving."""
    back, note, ahead = st.columns([1, 2, 1], vertical_alignment="center")
    back.button(
        t("wizard.back"),
        key=f"{NS}__back",
        icon=":material/arrow_back:",
        disabled=step == 0,
        on_click=go,
        args=(step - 1,),
        width="stretch",
    )
    if step == len(steps()) - 1:
        label = t("segb.save_edit" if editing() is not None else "segb.save_new")
        if ahead.button(label, key=f"{NS}__save", icon=":material/check:", type="primary", width="stretch"):
            save()
    else:
        ahead.button(
            t("wizard.next"),
            key=f"{NS}__next",
            icon=":material/arrow_forward:",
            type="primary",
            disabled=forward_blocked,
            on_click=go,
            args=(step + 1,),
            width="stretch",
        )
        if forward_blocked:
            note.caption(t("segb.next_blocked"))


def keep(key: str, name: str) -> None:
    basics()[name] = state[key]


def basic_widget_key(key: str, name: str) -> str:
    if key not in state:
        state[key] = basics()[name]
    return key


# Step 1: Grunddaten -----------------------------------------------------------------------------------------------
def basics_step() -> None:
    errors = state.get(ERRORS) or {}
    st.text_input(
        f"{t('segb.name')} *",
        key=basic_widget_key(NAME, "name"),
        max_chars=100,
        placeholder=t("segb.name_placeholder"),
        on_change=keep,
        args=(NAME, "name"),
    )
    if errors.get("name"):
        st.markdown(f":red[:material/error: {errors['name']}]")
    st.text_area(
        t("segb.description"),
        key=basic_widget_key(DESCRIPTION, "description"),
        max_chars=2000,
        height=90,
        placeholder=t("segb.description_placeholder"),
        on_change=keep,
        args=(DESCRIPTION, "description"),
    )
    kinds = {kind: t(f"segb.kind.{kind}") for kind in KINDS}
    st.radio(
        t("segb.kind"),
        KINDS,
        key=basic_widget_key(KIND, "kind"),
        format_func=kinds.__getitem__,
        captions=[t(f"segb.kind.{k}_help") for k in KINDS],
        disabled=editing() is not None,
        on_change=keep,
        args=(KIND, "kind"),
        help=t("segb.kind_fixed") if editing() is not None else None,
    )


# Step 2: Regeln with the live count -------------------------------------------------------------------------------
def rules_step() -> Group | None:
    tree, errors = check(state[TREE])
    editor, preview = st.columns([2.3, 1], gap="medium")
    with editor:
        RuleEditor(NS, TREE, choices_of, errors, own_segment=editing()).render()
    with preview:
        preview_panel(tree, errors)
    return tree


def preview_panel(tree: Group | None, errors: dict[str, str]) -> None:
    with st.container(border=True, key=f"{NS}__preview"):
        if tree is None:
            st.metric(t("segb.count"), "–", help=t("segb.count_help"))
            problems = "\n".join(f"- {plain_markdown(message)}" for message in errors.values())
            st.warning(f"{t('segb.count_invalid')}\n\n{problems}", icon=":material/edit_note:")
            return
        result = preview_of(tree)
        st.metric(t("segb.count"), fmt_number(result.count, lang), help=t("segb.count_help"))
        st.markdown(f"**{t('segb.summary')}**  \n{plain_markdown(result.summary)}")
        sample_table(result)


def sample_table(result: Preview) -> None:
    st.markdown(f"**{t('segb.sample')}**")
    if not result.sample:
        st.caption(t("segb.sample_none"))
        return
    frame = pd.DataFrame(
        {
            t("segb.col.name"): [f"{m.first_name} {m.last_name}".strip() for m in result.sample],
            t("segb.col.company"): [m.account_name or "" for m in result.sample],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{NS}__sample")
    st.caption(t("segb.sample_caption", shown=len(result.sample), total=fmt_number(result.count, lang)))


# Step 3: Prüfen und speichern -------------------------------------------------------------------------------------
def review_step() -> None:
    """What will be saved: name, kind and (dynamic) the members it would have now, then description and rule."""
    data = basics()
    result: Preview | None = None
    problems: dict[str, str] = {}
    if data["kind"] == "dynamic":
        tree, problems = check(state[TREE])
        result = preview_of(tree) if tree is not None else None
    cells = st.columns([2, 1, 1])
    fact(cells[0], t("segb.name"), data["name"])
    fact(cells[1], t("segb.kind"), t(f"segb.kind.{data['kind']}"))
    if result is not None:
        cells[2].metric(t("segb.review.members_now"), fmt_number(result.count, lang), help=t("segb.count_help"))
    st.caption(t("segb.description"))
    st.markdown(plain_markdown(data["description"]) or t("segb.review.no_description"))
    if data["kind"] == "static":
        st.info(t("segb.static_hint"), icon=":material/info:")
        return
    st.caption(t("segb.rules"))
    if result is not None:
        st.markdown(plain_markdown(result.summary))
    else:
        st.error("\n".join(f"- {plain_markdown(message)}" for message in problems.values()), icon=":material/error:")


def fact(cell: Any, label: str, value: str) -> None:
    cell.caption(label)
    cell.markdown(f"**{plain_markdown(value)}**")


def save() -> None:
    """Create or update through core (errors keep the draft and say what to fix), then a first calculation and
    the segment page."""
    data = basics()
    rules = state[TREE] if data["kind"] == "dynamic" else None
    state.pop(MESSAGE, None)
    try:
        view = store(data, rules)
    except ValidationFailed as exc:
        failed(exc.fields, exc.message)
        return
    except Conflict as exc:
        state[MESSAGE] = f"**{t('error.conflict')}** {exc.message}"
        state[STALE] = True
        st.rerun()
    except DomainError as exc:
        state[MESSAGE] = exc.message
        st.rerun()
    created = editing() is None
    size = first_calculation(view, created=created) if created or rules_changed(view) else view.member_count
    done = done_message(view, size, created=created)
    forget_draft()
    queries.clear_reads()
    clear_previews()
    flash(done)
    st.switch_page(DETAIL_PAGE, query_params={"id": str(view.id)})


def store(data: dict[str, Any], rules: Tree | None) -> SegmentView:
    description = data["description"].strip() or None
    segment_id = editing()
    if segment_id is None:
        return create_segment(
            context.uow(), name=data["name"].strip(), kind=data["kind"], rules=rules, description=description
        )
    values: dict[str, Any] = {"name": data["name"].strip(), "description": description}
    if rules is not None:
        values["rules"] = rules
    return update_segment(context.uow(), segment_id, values, expected_version=state[VERSION])


def failed(fields: dict[str, str], message: str) -> None:
    """Back to the step the error belongs to, the messages on top (rule messages already name their place)."""
    labels = {"name": t("segb.name"), "description": t("segb.description"), "rules": t("segb.rules")}
    lines = [f"- **{labels[k]}**: {v}" if k in labels else f"- {v}" for k, v in fields.items()] or [f"- {message}"]
    state[MESSAGE] = f"{t('error.validation')}\n\n" + "\n".join(lines)
    state[ERRORS] = fields
    in_basics = any(k in ("name", "description", "kind") for k in fields)
    state[STEP] = 0 if in_basics or "rules" not in steps() else steps().index("rules")
    st.rerun()


def rules_changed(view: SegmentView) -> bool:
    """Whether the saved rules differ from the ones loaded (both are stored normalised)."""
    return view.rules != (state.get(LOADED) or {}).get("rules")


def first_calculation(view: SegmentView, *, created: bool) -> int | None:
    if view.kind != "dynamic":
        return None
    with st.spinner(t("segb.saving")):
        try:
            size = recalculate(context.uow(), view.id, reason="created" if created else "change").size
            refresh_reach_if_small(context.uow(), view.id, size)
            return size
        except DomainError as exc:
            flash(t("segb.recalc_failed", error=exc.message))
            return None


def done_message(view: SegmentView, size: int | None, *, created: bool) -> str:
    if view.kind == "static" or size is None:
        return t("segb.static_created" if created and view.kind == "static" else "segb.static_updated", name=view.name)
    return t("segb.created" if created else "segb.updated", name=view.name, count=fmt_number(size, lang))


# Page -------------------------------------------------------------------------------------------------------------
def header() -> None:
    segment_id = editing()
    if segment_id is None:
        st.title(f":material/filter_alt: {t('segb.title_new')}")
        st.caption(t("segb.intro"))
        st.page_link(LIST_PAGE, label=t("segb.to_list"), icon=":material/arrow_back:")
    else:
        st.title(f":material/filter_alt: {t('segb.title_edit', name=state[LOADED]['name'])}")
        st.page_link(
            DETAIL_PAGE, label=t("segb.to_segment"), icon=":material/arrow_back:", query_params={"id": str(segment_id)}
        )


def progress(step: int) -> None:
    titles = [t(f"segb.step_{name}") for name in steps()]
    st.progress((step + 1) / len(titles), text=t("wizard.step_of", n=step + 1, total=len(titles), title=titles[step]))
    if state.get(MESSAGE):
        st.error(state[MESSAGE], icon=":material/error:")
    if state.get(STALE):
        st.button(t("segb.reload"), key=f"{NS}__reload", icon=":material/refresh:", on_click=forget_draft)


STEP_VIEWS: dict[str, Callable[[], Any]] = {"basics": basics_step, "rules": rules_step, "review": review_step}


def page() -> None:
    if not start_draft(requested_segment()):
        return
    header()
    step = min(state[STEP], len(steps()) - 1)
    name = steps()[step]
    progress(step)
    with st.container(border=name != "rules"):
        shown = STEP_VIEWS[name]()
    blocked = name == "rules" and shown is None
    navigation(step, forward_blocked=blocked)


page()
