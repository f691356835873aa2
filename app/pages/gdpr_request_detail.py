"""Betroffenenanfrage: one request (`?id=`) — header with type, status, receipt, deadline (traffic light,
extension) and assignee; the steps (identity check, assignee, finding the person's records, extension, the
type's own action — export, erasure, restriction, objection, rectification — and rejection), what the
modules hold about the person, the hash-chained request log and the request's documents. Every rule is the
services' (core.gdpr); this page only asks for input and shows outcomes."""

from __future__ import annotations

import html
import json
import mimetypes
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.history_view import ISO_DATE
from app.components.i18n import current_lang, t, t_or
from app.components.links import open_account, open_contact, selected_id
from app.components.object_page import Facet, object_header, object_sections
from core.errors import Conflict, DomainError
from core.formatting import fmt_date, fmt_datetime, fmt_number
from core.gdpr.deadlines import received_on
from core.gdpr.discovery import Candidate, Discovery
from core.gdpr.registry import DATASETS
from core.gdpr.requests import RequestView, assign, complete, confirm_subject, extend, record_identity, reject
from core.gdpr.vocabulary import (
    CHANNELS,
    IDENTITY_METHODS,
    IDENTITY_RESULTS,
    OPEN_STATUSES,
    REQUEST_TYPES,
    STATUSES,
    label,
    type_label,
)
from core.ledger import Verification

NS = "gdpr_req"
ID_KEY = "gdpr_request_detail__id"
LOADED = f"{NS}__loaded"  # the request whose inputs the widgets hold; another request starts them afresh
DIALOG = f"{NS}__dialog"  # the open dialog: "reject" or "erase"
SEARCH = f"{NS}__search"  # (e-mail, phone, name) of the last candidate search
ERASED = f"{NS}__erased"  # the ErasureResult of the erasure just done
LIST_PAGE = "pages/gdpr_requests.py"
EXPORT_PAGE = "pages/gdpr_export.py"
EXPORT_ID_KEY = "gdpr_export__request_id"  # the export wizard reads the request from here (or ?request=)
MAX_ROWS = 200
MARKDOWN_CHARS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
lang = current_lang()
today = received_on(context.clock()())

FIELD_LABELS = {
    "method": t("gdpr.identity_method"),
    "result": t("gdpr.identity_result"),
    "note": t("gdpr.identity_note"),
    "assignee_id": t("gdpr.assignee"),
    "contact_ids": t("gdpr.records"),
    "query": t("gdpr.search_terms"),
    "email": t("gdpr.requester_email"),
    "phone": t("gdpr.requester_phone"),
    "months": t("gdpr.extension_months"),
    "reason": t("gdpr.reason"),
    "outcome": t("gdpr.outcome"),
}

STEPS_CSS = """
<style>
.gdpr-steps {display: flex; gap: 4px; margin: 0.25rem 0 1rem 0; flex-wrap: wrap;}
.gdpr-steps span {flex: 1 1 0; min-width: 8rem; text-align: center; padding: 0.45rem 1.1rem 0.45rem 1.4rem;
  background: #eef0f4; color: #4a5263; font-size: 0.9rem; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis;
  clip-path: polygon(0 0, calc(100% - 12px) 0, 100% 50%, calc(100% - 12px) 100%, 0 100%, 12px 50%);}
.gdpr-steps span:first-child {clip-path: polygon(0 0, calc(100% - 12px) 0, 100% 50%, calc(100% - 12px) 100%, 0 100%);
  padding-left: 0.9rem;}
.gdpr-steps span.passed {background: #d6e4f5; color: #1d3b63;}
.gdpr-steps span.current {background: #1f6feb; color: #fff; font-weight: 600;}
.gdpr-steps span.completed {background: #1a7f37; color: #fff; font-weight: 600;}
.gdpr-steps span.rejected {background: #c62828; color: #fff; font-weight: 600;}
</style>
"""


# Outcomes ----------------------------------------------------------------------------------------
def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


def attempt(run: Callable[[], object], message: str) -> None:
    """Run one service call; on success toast and rerun with fresh data, else the service's message here."""
    try:
        run()
    except DomainError as exc:
        if isinstance(exc, Conflict):
            queries.clear_reads()
        show_error(exc, labels=FIELD_LABELS)
        return
    close_dialog()
    queries.clear_reads()
    flash(message)
    st.rerun()


def start_afresh(request_id: int) -> None:
    """Inputs, search and dialogs belong to one request: opening another one clears them."""
    if st.session_state.get(LOADED) == request_id:
        return
    for key in [k for k in st.session_state if str(k).startswith(f"{NS}_")]:
        del st.session_state[key]
    st.session_state[LOADED] = request_id


def show_verification(verification: Verification) -> None:
    if verification.ok:
        st.success(t("audit.chain_ok", n=fmt_number(verification.checked, lang)), icon=":material/verified:")
    else:
        broken = t("audit.chain_broken", id=verification.first_bad_id, problem=verification.problem)
        st.error(broken, icon=":material/gpp_bad:")


# Header ------------------------------------------------------------------------------------------
def deadline_text(view: RequestView) -> str:
    text = f"{t(f'gdpr.light_{view.light(today)}')} {fmt_date(view.due_on, lang)}"
    if not view.is_open:
        return text
    days = (view.due_on - today).days
    return f"{text} · {t('gdpr.days_overdue', n=-days) if days < 0 else t('gdpr.days_remaining', n=days)}"


def header(view: RequestView) -> None:
    object_header(
        t("gdpr.request_title", id=view.id, type=type_label(view.type, lang)),
        subtitle=t(
            "gdpr.request_meta",
            channel=label(CHANNELS, view.channel, lang),
            by=view.created_by,
            version=view.version,
        ),
        facets=[
            Facet(t("gdpr.type"), type_label(view.type, lang)),
            Facet(t("gdpr.status"), label(STATUSES, view.status, lang)),
            Facet(t("gdpr.received_at"), fmt_datetime(view.received_at, lang)),
            Facet(t("gdpr.due_on"), deadline_text(view)),
            Facet(t("gdpr.assignee"), view.assignee_name or t("gdpr.unassigned")),
        ],
        icon=":material/assignment_ind:",
    )
    badges = st.container(horizontal=True, vertical_alignment="center")
    if view.extended:
        badges.badge(
            t("gdpr.extended_until", due=fmt_date(view.due_on, lang), original=fmt_date(view.original_due_on, lang)),
            icon=":material/update:",
            color="orange",
        )
    if view.identity_result:
        color = {"confirmed": "green", "doubtful": "orange", "failed": "red"}.get(view.identity_result, "gray")
        badges.badge(t("gdpr.identity_badge", result=label(IDENTITY_RESULTS, view.identity_result, lang)), color=color)
    if badges.button(t("gdpr.to_list"), key=f"{NS}__to_list", icon=":material/list:", type="tertiary"):
        st.switch_page(LIST_PAGE)
    requester = " · ".join(v for v in (view.requester_name, view.requester_email, view.requester_phone) if v)
    with st.container(border=True):  # what the person wrote is shown as plain text, never as Markdown
        st.caption(t("gdpr.requester"))
        st.text(requester or "–")
        if view.description:
            st.text(view.description)


# Steps -------------------------------------------------------------------------------------------
def stepper(view: RequestView) -> None:
    """eingegangen → Identität prüfen → in Bearbeitung → abgeschlossen/abgelehnt, the current step highlighted."""
    final = view.status if not view.is_open else None
    order = [*OPEN_STATUSES, final or "completed"]
    position = order.index(view.status)
    cells = []
    for index, status in enumerate(order):
        if index == len(order) - 1 and final is None:
            text = t("gdpr.step_final")
        else:
            text = label(STATUSES, status, lang)
        if index < position:
            css = "passed"
        elif index == position:
            css = final or "current"
        else:
            css = ""
        marker = " ✓" if index < position or css in ("completed", "rejected") else ""
        cells.append(f'<span class="{css}">{html.escape(text)}{marker}</span>')
    st.markdown(STEPS_CSS + f'<div class="gdpr-steps">{"".join(cells)}</div>', unsafe_allow_html=True)


def identity_summary(view: RequestView) -> None:
    if view.identity_result is None:
        st.caption(t("gdpr.identity_none"))
        return
    st.markdown(
        t(
            "gdpr.identity_done",
            result=label(IDENTITY_RESULTS, view.identity_result, lang),
            method=label(IDENTITY_METHODS, view.identity_method, lang),
            by=view.identity_checked_by or "–",
            when=fmt_datetime(view.identity_checked_at, lang),
        )
    )
    if view.identity_note:
        st.caption(t("gdpr.identity_note_shown", note=view.identity_note))


def identity_step(view: RequestView) -> None:
    with st.container(border=True):
        st.markdown(f"**{t('gdpr.step_identity')}**")
        identity_summary(view)
        if view.identity_confirmed:  # done: checking again stays possible, out of the way
            with st.expander(t("gdpr.identity_again"), icon=":material/badge:"):
                identity_form(view)
        else:
            identity_form(view)


def identity_form(view: RequestView) -> None:
    k = f"{NS}_identity"
    user = context.current_user()
    st.session_state.setdefault(f"{k}__by", user.display_name if user else "")
    left, right = st.columns(2)
    method = left.selectbox(
        t("gdpr.identity_method"),
        list(IDENTITY_METHODS),
        format_func=lambda m: label(IDENTITY_METHODS, m, lang),
        key=f"{k}__method",
    )
    result = right.selectbox(
        t("gdpr.identity_result"),
        list(IDENTITY_RESULTS),
        index=None,
        format_func=lambda r: label(IDENTITY_RESULTS, r, lang),
        placeholder=t("common.choose"),
        key=f"{k}__result",
    )
    checked_by = left.text_input(t("gdpr.identity_checked_by"), key=f"{k}__by")
    note = right.text_area(
        t("gdpr.identity_note"), key=f"{k}__note", height=80, help=t("gdpr.identity_note_help")
    )
    if st.button(
        t("gdpr.identity_save"), key=f"{k}__go", icon=":material/badge:", type="primary", disabled=result is None
    ) and result is not None:
        attempt(
            lambda: record_identity(
                context.uow(), view.id, method=method, result=result, checked_by=checked_by, note=note
            ),
            t("gdpr.identity_saved", result=label(IDENTITY_RESULTS, result, lang)),
        )


def assignee_step(view: RequestView) -> None:
    names: dict[int | None, str] = {None: t("gdpr.unassigned"), **queries.owner_choices()}
    options = list(names)
    with st.container(border=True):
        st.markdown(f"**{t('gdpr.step_assignee')}**")
        pick_col, go_col = st.columns([3, 1], vertical_alignment="bottom")
        chosen = pick_col.selectbox(
            t("gdpr.assignee"),
            options,
            index=options.index(view.assignee_id) if view.assignee_id in options else 0,
            format_func=names.__getitem__,
            key=f"{NS}_assign__user",
        )
        if go_col.button(
            t("gdpr.assign"), key=f"{NS}_assign__go", icon=":material/person_check:", width="stretch",
            disabled=chosen == view.assignee_id,
        ):
            attempt(
                lambda: assign(context.uow(), view.id, assignee_id=chosen),
                t("gdpr.assigned", name=names[chosen]),
            )


def plain(text: str) -> str:
    """Stored text inside a Markdown label, its Markdown characters escaped (no links or images from data)."""
    return MARKDOWN_CHARS.sub(r"\\\1", text)


def candidate_text(candidate: Candidate) -> str:
    details = " · ".join(plain(v) for v in (candidate.email, candidate.phone, candidate.company) if v)
    return t(
        "gdpr.candidate",
        kind=t(f"gdpr.kind_{candidate.kind}"),
        name=plain(candidate.label),
        id=candidate.id,
        details=f" · {details}" if details else "",
        score=candidate.score,
        matched=", ".join(candidate.matched_on),
    )


def subject_step(view: RequestView) -> None:
    """Search by the requester's identifiers, tick the records that are the person, confirm them."""
    k = f"{NS}_find"
    given = {"email": view.requester_email, "phone": view.requester_phone, "name": view.requester_name}
    for name, value in given.items():
        st.session_state.setdefault(f"{k}__{name}", value or "")
    with st.container(border=True):
        st.markdown(f"**{t('gdpr.step_find')}**")
        if view.contact_ids or view.account_ids:
            st.caption(t("gdpr.subject_confirmed", contacts=len(view.contact_ids), accounts=len(view.account_ids)))
        email_col, phone_col, name_col, go_col = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
        email = email_col.text_input(t("gdpr.requester_email"), key=f"{k}__email")
        phone = phone_col.text_input(t("gdpr.requester_phone"), key=f"{k}__phone")
        name = name_col.text_input(t("gdpr.requester_name"), key=f"{k}__name")
        if go_col.button(t("gdpr.search"), key=f"{k}__go", icon=":material/person_search:", width="stretch"):
            st.session_state[SEARCH] = (email, phone, name)
        terms = st.session_state.get(SEARCH)
        if terms is None:
            st.caption(t("gdpr.search_hint"))
            return
        try:
            candidates = queries.gdpr_candidates(email=terms[0], phone=terms[1], name=terms[2])
        except DomainError as exc:
            show_error(exc, labels=FIELD_LABELS)
            return
        confirmed = {("contact", i) for i in view.contact_ids} | {("account", i) for i in view.account_ids}
        found = {(c.kind, c.id) for c in candidates}
        if candidates:
            st.caption(t("gdpr.candidates_intro", n=len(candidates)))
        else:
            st.info(t("gdpr.no_candidates"), icon=":material/search_off:")
        ticked: list[tuple[str, int]] = []
        for candidate in candidates:
            key = f"{k}__pick_{candidate.kind}_{candidate.id}"
            st.session_state.setdefault(key, (candidate.kind, candidate.id) in confirmed)
            if st.checkbox(candidate_text(candidate), key=key):
                ticked.append((candidate.kind, candidate.id))
        for kind, record_id in sorted(confirmed - found):  # confirmed earlier, not found by this search
            key = f"{k}__pick_{kind}_{record_id}"
            st.session_state.setdefault(key, True)
            if st.checkbox(t("gdpr.confirmed_before", kind=t(f"gdpr.kind_{kind}"), id=record_id), key=key):
                ticked.append((kind, record_id))
        if not (candidates or confirmed):
            return
        if st.button(t("gdpr.confirm_subject"), key=f"{k}__confirm", icon=":material/how_to_reg:", type="primary"):
            contacts = [i for kind, i in ticked if kind == "contact"]
            accounts = [i for kind, i in ticked if kind == "account"]
            attempt(
                lambda: confirm_subject(context.uow(), view.id, contact_ids=contacts, account_ids=accounts),
                t("gdpr.subject_saved", contacts=len(contacts), accounts=len(accounts)),
            )


def extension_step(view: RequestView) -> None:
    k = f"{NS}_extend"
    with st.container(border=True):
        st.markdown(f"**{t('gdpr.step_extend')}**")
        if view.extended:
            st.info(
                t("gdpr.extended_info", due=fmt_date(view.due_on, lang), reason=view.extension_reason or "–"),
                icon=":material/update:",
            )
            return
        st.caption(t("gdpr.extension_help", original=fmt_date(view.original_due_on, lang)))
        months_col, reason_col = st.columns([1, 3])
        periods = {n: t("gdpr.months", n=n) for n in (1, 2)}
        months = months_col.radio(
            t("gdpr.extension_months"), list(periods), format_func=periods.__getitem__, horizontal=True,
            key=f"{k}__months",
        )
        reason = reason_col.text_input(
            t("gdpr.extension_reason"), key=f"{k}__reason", placeholder=t("gdpr.extension_reason_placeholder")
        )
        if st.button(t("gdpr.extend"), key=f"{k}__go", icon=":material/more_time:"):
            attempt(
                lambda: extend(context.uow(), view.id, months=months, reason=reason),
                t("gdpr.extended_done", n=months),
            )


def complete_form(view: RequestView) -> None:
    k = f"{NS}_complete"
    outcome = st.text_area(
        t("gdpr.outcome"), key=f"{k}__outcome", height=80, placeholder=t("gdpr.outcome_placeholder")
    )
    if st.button(t("gdpr.complete"), key=f"{k}__go", icon=":material/task_alt:"):
        attempt(lambda: complete(context.uow(), view.id, outcome=outcome), t("gdpr.completed_done"))


def open_export(request_id: int) -> None:
    st.session_state[EXPORT_ID_KEY] = request_id
    st.switch_page(EXPORT_PAGE, query_params={"request": str(request_id)})


def export_action(view: RequestView) -> None:
    st.caption(t(f"gdpr.{view.type}_help"))
    if st.button(t(f"gdpr.{view.type}_go"), key=f"{NS}__export", type="primary", icon=":material/folder_zip:"):
        open_export(view.id)
    complete_form(view)


def rectification_action(view: RequestView) -> None:
    st.caption(t("gdpr.rectification_help"))
    if not (view.contact_ids or view.account_ids):
        st.caption(t("gdpr.confirm_subject_first"))
    row = st.container(horizontal=True)
    for contact_id in view.contact_ids:
        if row.button(
            t("gdpr.open_contact", id=contact_id), key=f"{NS}__contact_{contact_id}", icon=":material/person:"
        ):
            open_contact(contact_id)
    for account_id in view.account_ids:
        if row.button(
            t("gdpr.open_account", id=account_id), key=f"{NS}__account_{account_id}", icon=":material/domain:"
        ):
            open_account(account_id)
    complete_form(view)


def erasure_action(view: RequestView) -> None:
    st.caption(t("gdpr.erasure_help"))
    if st.button(t("gdpr.erase"), key=f"{NS}__erase", type="primary", icon=":material/delete_forever:"):
        st.session_state[DIALOG] = "erase"


def restriction_action(view: RequestView) -> None:
    st.caption(t("gdpr.restriction_help"))
    reason = st.text_input(
        t("gdpr.reason"), key=f"{NS}_restrict__reason", placeholder=t("gdpr.restriction_placeholder")
    )
    if st.button(t("gdpr.restrict"), key=f"{NS}_restrict__go", type="primary", icon=":material/front_hand:"):
        from core.gdpr.processing import apply_restriction

        attempt(lambda: apply_restriction(context.uow(), view.id, reason=reason), t("gdpr.restricted_done"))


def objection_action(view: RequestView) -> None:
    st.caption(t("gdpr.objection_help"))
    if st.button(t("gdpr.object"), key=f"{NS}_object__go", type="primary", icon=":material/block:"):
        from core.gdpr.processing import apply_objection

        attempt(lambda: apply_objection(context.uow(), view.id), t("gdpr.objected_done"))


TYPE_ACTIONS: dict[str, Callable[[RequestView], None]] = {
    "access": export_action,
    "portability": export_action,
    "rectification": rectification_action,
    "erasure": erasure_action,
    "restriction": restriction_action,
    "objection": objection_action,
}


def action_step(view: RequestView) -> None:
    with st.container(border=True):
        st.markdown(f"**{t('gdpr.step_action', type=type_label(view.type, lang))}**")
        TYPE_ACTIONS[view.type](view)


def reject_step() -> None:
    with st.container(border=True):
        st.markdown(f"**{t('gdpr.step_reject')}**")
        st.caption(t("gdpr.reject_help"))
        if st.button(t("gdpr.reject"), key=f"{NS}__reject", icon=":material/cancel:"):
            st.session_state[DIALOG] = "reject"


def closed_summary(view: RequestView) -> None:
    when = fmt_datetime(view.closed_at, lang)
    if view.status == "rejected":
        st.error(t("gdpr.rejected_summary", when=when, reason=view.rejection_reason or "–"), icon=":material/cancel:")
    else:
        st.success(t("gdpr.completed_summary", when=when, outcome=view.outcome or "–"), icon=":material/task_alt:")


def erasure_notice(view: RequestView) -> None:
    """The outcome of the erasure just done: complete, or what is still left, and the certificate."""
    result = st.session_state.get(ERASED)
    if result is None or result.request_id != view.id:
        return
    total = fmt_number(sum(result.counts.values()), lang)
    if result.complete:
        done = t("gdpr.erased_complete", n=total, sets=len(result.counts), holds=result.holds)
        st.success(done, icon=":material/task_alt:")
    else:
        residues = "\n".join(f"- {r}" for r in result.residues)
        st.error(f"{t('gdpr.erased_residues', n=total)}\n\n{residues}", icon=":material/warning:")
    certificate = next((d for d in queries.gdpr_documents(view.id) if d.id == result.certificate_id), None)
    if certificate is not None:
        document_download(st.container(), certificate, key=f"{NS}__certificate", text=t("gdpr.certificate_download"))


def steps_section(view: RequestView) -> None:
    stepper(view)
    erasure_notice(view)
    if not view.is_open:
        closed_summary(view)
        identity_summary(view)
        return
    if not context.may("gdpr.manage"):
        st.info(t("gdpr.read_only"), icon=":material/lock:")
        identity_summary(view)
        return
    identity_step(view)
    assignee_step(view)
    subject_step(view)
    extension_step(view)
    action_step(view)
    reject_step()


# Dialogs -----------------------------------------------------------------------------------------
def dialog_buttons(k: str, go_label: str, icon: str, *, disabled: bool = False) -> bool:
    go, cancel = st.columns(2)
    clicked = go.button(go_label, key=f"{k}__go", type="primary", icon=icon, width="stretch", disabled=disabled)
    if cancel.button(t("common.cancel"), key=f"{k}__cancel", width="stretch"):
        close_dialog()
        st.rerun()
    return clicked


def reject_dialog(view: RequestView) -> None:
    k = f"{NS}_reject"

    @st.dialog(t("gdpr.reject_title", id=view.id), width="medium", on_dismiss=close_dialog)
    def _dialog() -> None:
        st.markdown(t("gdpr.reject_text"))
        reason = st.text_area(
            t("gdpr.reason"), key=f"{k}__reason", height=100, placeholder=t("gdpr.reject_placeholder")
        )
        if dialog_buttons(k, t("gdpr.reject"), ":material/cancel:"):
            attempt(lambda: reject(context.uow(), view.id, reason=reason), t("gdpr.rejected_done", id=view.id))

    _dialog()


def erase_plan(found: Discovery) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("gdpr.dataset"): [dataset_label(g.key) for g in found.groups],
            t("gdpr.module"): [g.module for g in found.groups],
            t("gdpr.count"): [fmt_number(g.count, lang) for g in found.groups],
            t("gdpr.erasure_action"): [g.erasure_label for g in found.groups],
            t("gdpr.retention"): [g.retention for g in found.groups],
        }
    )


def erase_dialog(view: RequestView) -> None:
    """What will happen per data set (and what a law makes us keep), then the request number to confirm."""
    k = f"{NS}_erase"

    @st.dialog(t("gdpr.erase_title", id=view.id), width="large", on_dismiss=close_dialog)
    def _dialog() -> None:
        st.warning(t("gdpr.erase_warning"), icon=":material/warning:")
        if not (view.contact_ids or view.account_ids):
            st.info(t("gdpr.confirm_subject_first"), icon=":material/info:")
            dialog_buttons(k, t("gdpr.erase_go"), ":material/delete_forever:", disabled=True)
            return
        try:
            found = queries.gdpr_discovery_of(view.contact_ids, view.account_ids)
        except DomainError as exc:
            show_error(exc, labels=FIELD_LABELS)
            return
        st.caption(t("gdpr.erase_plan", n=fmt_number(found.total, lang), sets=len(found.groups)))
        st.dataframe(erase_plan(found), hide_index=True, width="stretch")
        held = [g for g in found.groups if g.erasure == "retain"]
        if held:
            kept = fmt_number(sum(g.count for g in held), lang)
            names = ", ".join(dataset_label(g.key) for g in held)
            st.info(t("gdpr.erase_holds", n=kept, sets=names), icon=":material/inventory:")
        full_sweep = st.checkbox(t("gdpr.erase_full_sweep"), key=f"{k}__sweep", help=t("gdpr.erase_full_sweep_help"))
        typed = st.text_input(t("gdpr.erase_confirm", id=view.id), key=f"{k}__confirm")
        matches = typed.strip().lstrip("#") == str(view.id)
        if dialog_buttons(k, t("gdpr.erase_go"), ":material/delete_forever:", disabled=not matches) and matches:
            from core.gdpr.erasure import erase

            try:
                with st.spinner(t("gdpr.erase_running")):
                    result = erase(context.uow(), view.id, full_sweep=full_sweep)
            except DomainError as exc:
                show_error(exc, labels=FIELD_LABELS)
                return
            close_dialog()
            st.session_state[ERASED] = result
            queries.clear_reads()
            flash(t("gdpr.erased_done", id=view.id))
            st.rerun()

    _dialog()


def open_dialog(view: RequestView) -> None:
    dialog = st.session_state.get(DIALOG)
    if dialog and (not view.is_open or not context.may("gdpr.manage")):
        close_dialog()
    elif dialog == "reject":
        reject_dialog(view)
    elif dialog == "erase" and view.type == "erasure":
        erase_dialog(view)


# Gefundene Daten ----------------------------------------------------------------------------------
def dataset_label(key: str) -> str:
    dataset = DATASETS.get(key)
    if dataset is None:
        return key
    return dataset.label_en if lang == "en" else dataset.label_de


def readable_cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def found_section(view: RequestView) -> None:
    if not (view.contact_ids or view.account_ids):
        st.info(t("gdpr.found_none_confirmed"), icon=":material/person_search:")
        return
    found = queries.gdpr_discovery_of(view.contact_ids, view.account_ids)
    if not found.groups:
        st.info(t("gdpr.found_nothing"), icon=":material/info:")
        return
    st.caption(t("gdpr.found_intro", n=fmt_number(found.total, lang), sets=len(found.groups)))
    st.dataframe(
        pd.DataFrame(
            {
                t("gdpr.dataset"): [dataset_label(g.key) for g in found.groups],
                t("gdpr.module"): [g.module for g in found.groups],
                t("gdpr.count"): [g.count for g in found.groups],
                t("gdpr.legal_basis"): [g.legal_basis for g in found.groups],
                t("gdpr.retention"): [g.retention for g in found.groups],
                t("gdpr.erasure_action"): [g.erasure_label for g in found.groups],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            t("gdpr.count"): st.column_config.NumberColumn(width="small"),
            t("gdpr.legal_basis"): st.column_config.TextColumn(width="large"),
        },
    )
    for group in found.groups:
        with st.expander(f"{dataset_label(group.key)} ({fmt_number(group.count, lang)})", icon=":material/table_rows:"):
            st.markdown(
                t("gdpr.group_facts", purpose=group.purpose, basis=group.legal_basis, retention=group.retention,
                  erasure=group.erasure_label)
            )
            if not group.rows:
                st.caption(t("gdpr.rows_not_shown"))
                continue
            rows = group.rows[:MAX_ROWS]
            if group.count > len(rows):
                st.caption(t("gdpr.rows_limited", shown=len(rows), total=fmt_number(group.count, lang)))
            frame = pd.DataFrame([{k: readable_cell(v) for k, v in row.items()} for row in rows])
            st.dataframe(frame, hide_index=True, width="stretch")


# Protokoll ---------------------------------------------------------------------------------------
def detail_value(key: str, value: Any) -> str:
    """A log detail in words: codes by their labels, ISO dates German, counts and lists as text."""
    if key == "type" and value in REQUEST_TYPES:
        return type_label(value, lang)
    if key in ("channel", "method", "result"):
        mapping = {"channel": CHANNELS, "method": IDENTITY_METHODS, "result": IDENTITY_RESULTS}[key]
        return label(mapping, value, lang)
    if key == "assignee_id":
        return queries.owner_choices().get(value, t("gdpr.unassigned")) if value else t("gdpr.unassigned")
    if isinstance(value, bool):
        return t("common.yes") if value else t("common.no")
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return fmt_date(pd.Timestamp(value).date(), lang)
    if key == "counts" and isinstance(value, dict):
        return ", ".join(f"{dataset_label(k)}: {fmt_number(v, lang)}" for k, v in value.items())
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def details_text(details: dict[str, Any]) -> str:
    return " · ".join(f"{t_or(f'gdpr.detail_{k}', k)}: {detail_value(k, v)}" for k, v in details.items())


def log_section(view: RequestView) -> None:
    entries = queries.gdpr_log(view.id)
    st.caption(t("gdpr.log_intro", n=len(entries)))
    st.dataframe(
        pd.DataFrame(
            {
                t("gdpr.log_when"): [fmt_datetime(e.occurred_at, lang) for e in entries],
                t("gdpr.log_step"): [t_or(f"gdpr.action_{e.action}", e.action) for e in entries],
                t("gdpr.log_details"): [details_text(e.details) for e in entries],
                t("gdpr.log_who"): [e.actor_name for e in entries],
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(600, 38 + 35 * max(1, len(entries))),
        column_config={t("gdpr.log_details"): st.column_config.TextColumn(width="large")},
    )
    if st.button(t("audit.check_chain"), key=f"{NS}__check", icon=":material/verified:", help=t("gdpr.check_help")):
        show_verification(queries.gdpr_chain_status(fresh=True))


# Dokumente ---------------------------------------------------------------------------------------
def document_download(container: Any, document: Any, *, key: str, text: str) -> None:
    """The stored document, read (and its download logged by the service) only when clicked."""

    def build() -> bytes:
        from core.gdpr.documents import document_content

        return document_content(context.uow(), document.id)[1]

    container.download_button(
        text,
        data=context.deferred(build),
        file_name=document.file_name,
        mime=mimetypes.guess_type(document.file_name)[0] or "application/octet-stream",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def documents_section(view: RequestView) -> None:
    documents = queries.gdpr_documents(view.id)
    if not documents:
        st.info(t("gdpr.no_documents"), icon=":material/description:")
        return
    st.caption(t("gdpr.documents_intro"))
    st.dataframe(
        pd.DataFrame(
            {
                t("gdpr.doc_kind"): [t_or(f"gdpr.doc_{d.kind}", d.kind) for d in documents],
                t("gdpr.doc_file"): [d.file_name for d in documents],
                t("gdpr.doc_size"): [
                    t("gdpr.kilobytes", n=fmt_number(d.size / 1024, lang, digits=1)) for d in documents
                ],
                t("gdpr.doc_sha"): [d.sha256 for d in documents],
                t("gdpr.doc_created"): [fmt_datetime(d.created_at, lang) for d in documents],
                t("gdpr.doc_by"): [d.created_by for d in documents],
                t("gdpr.doc_stored"): [t("gdpr.stored") if d.stored else t("gdpr.logged_only") for d in documents],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    for document in (d for d in documents if d.stored):
        name_col, button_col = st.columns([3, 1], vertical_alignment="center")
        name_col.markdown(f"**{t_or(f'gdpr.doc_{document.kind}', document.kind)}** · {document.file_name}")
        document_download(button_col, document, key=f"{NS}__doc_{document.id}", text=t("gdpr.download"))


# Page --------------------------------------------------------------------------------------------
request_id = selected_id(ID_KEY)
if request_id is None:
    st.title(f":material/assignment_ind: {t('page.gdpr_request')}")
    st.info(t("gdpr.pick_from_list"), icon=":material/info:")
    st.page_link(LIST_PAGE, label=t("page.gdpr_requests"), icon=":material/assignment_ind:")
else:
    try:
        request = queries.gdpr_request(request_id)
    except DomainError as exc:
        show_error(exc)
        if st.button(t("gdpr.to_list"), key=f"{NS}__back", icon=":material/arrow_back:"):
            st.switch_page(LIST_PAGE)
    else:
        start_afresh(request.id)
        header(request)
        sections: list[tuple[str, Callable[[], None]]] = [
            (t("gdpr.section_steps"), lambda: steps_section(request)),
            (t("gdpr.section_found"), lambda: found_section(request)),
            (t("gdpr.section_log"), lambda: log_section(request)),
            (t("gdpr.section_documents"), lambda: documents_section(request)),
        ]
        for container, (_title, render) in zip(object_sections(NS, [title for title, _ in sections]), sections):
            with container:
                try:
                    render()
                except DomainError as exc:
                    show_error(exc)
        open_dialog(request)
