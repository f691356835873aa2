"""Postausgang: every queued, sent, failed and blocked e-mail; the selected one with its headers, text and HTML
parts and the .eml download. Administrators send a waiting e-mail now or put a failed one back in line."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.exporting import download_button
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from app.components.kpi import Kpi, kpi_row
from app.components.list_report import Column, ListFilter, ListReport
from core.consent.vocabulary import GATE_REASONS, label
from core.email import KINDS, STATUSES, backend_from_settings, deliver_message
from core.email.outbox import MessageView, get_message, list_messages, message_categories, retry_message, status_counts
from core.errors import DomainError
from core.formatting import fmt_datetime
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.settings import DATA_DIR, get_settings
from core.uow import UnitOfWork

NS = "postausgang"
SELECTED_KEY = f"{NS}__selected"
NOTICE_KEY = f"{NS}__notice"
lang = current_lang()
can_manage = context.may("mail.manage")


def _cache_key() -> tuple[str, Actor, str, int]:
    """Database, user, this browser session and its data generation (every write bumps it)."""
    token = st.session_state.setdefault(f"{NS}__session", uuid.uuid4().hex)
    return context.database_url(), context.current_actor(), token, queries.data_generation()


def _uow(url: str, reader: Actor) -> UnitOfWork:
    return UnitOfWork(context.factory_for(url), actor=reader)


@st.cache_data(ttl=30, max_entries=200, show_spinner=False)
def _messages_page(url: str, reader: Actor, token: str, generation: int, query: ListQuery) -> Page:
    return list_messages(_uow(url, reader), query)


@st.cache_data(ttl=30, max_entries=200, show_spinner=False)
def _message(url: str, reader: Actor, token: str, generation: int, message_id: int) -> MessageView:
    return get_message(_uow(url, reader), message_id)


@st.cache_data(ttl=30, max_entries=50, show_spinner=False)
def _categories(url: str, reader: Actor, token: str, generation: int) -> list[str]:
    return message_categories(_uow(url, reader))


@st.cache_data(ttl=30, max_entries=50, show_spinner=False)
def _counts(url: str, reader: Actor, token: str, generation: int) -> dict[str, int]:
    return status_counts(_uow(url, reader))


def gate_text(allowed: bool | None, reason: str | None) -> str:
    """The consent check's decision in plain words ("gesperrt: Einwilligung widerrufen")."""
    if allowed is None or pd.isna(allowed):
        return t("mail.gate_not_needed")
    described = label(GATE_REASONS, reason, lang)
    return described if allowed else t("mail.gate_refused", reason=described)


def fetch(query: ListQuery) -> Page:
    page = _messages_page(*_cache_key(), query)
    rows = page.rows.copy()
    rows["status"] = [t(f"mail.status.{s}") for s in rows["status"]]
    rows["kind"] = [t(f"mail.kind.{k}") for k in rows["kind"]]
    rows["gate"] = [gate_text(a, r) for a, r in zip(rows["gate_allowed"], rows["gate_reason"])]
    rows["last_error"] = rows["last_error"].fillna("")
    return Page(rows, page.total, page.page, page.page_size)


def open_message(message_id: int | None) -> None:
    st.session_state[SELECTED_KEY] = message_id


def backend_caption() -> str:
    settings = get_settings()
    if settings.smtp_host:
        return t("mail.backend_smtp", server=f"{settings.smtp_host}:{settings.smtp_port}")
    return t("mail.backend_file", path=str((DATA_DIR / "outbox").resolve()))


def send_now(message_id: int) -> None:
    try:
        status = deliver_message(
            context.factory(),
            message_id,
            now=context.clock()(),
            backend=backend_from_settings(get_settings()),
            actor=context.current_actor(),
        )
    except DomainError as exc:
        show_error(exc)
        return
    queries.clear_reads()
    st.session_state[NOTICE_KEY] = (status, t(f"mail.result.{status}", id=message_id))
    st.rerun()


def retry(message_id: int) -> None:
    try:
        retry_message(context.uow(), message_id)
    except DomainError as exc:
        show_error(exc)
        return
    queries.clear_reads()
    flash(t("mail.retried", id=message_id))
    st.rerun()


def show_notice() -> None:
    """The outcome of "Jetzt zustellen", once, after the rerun that shows the new state."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is None:
        return
    status, message = notice
    if status == "sent":
        st.success(message, icon=":material/check_circle:")
    else:
        st.warning(message, icon=":material/warning:")


def facts(view: MessageView) -> None:
    cells = [
        (t("mail.status"), t(f"mail.status.{view.status}")),
        (t("mail.to"), view.to_address),
        (t("mail.from"), view.from_address),
        (t("mail.kind"), f"{t(f'mail.kind.{view.kind}')} · {view.category}"),
        (t("mail.attempts"), str(view.attempts)),
        (t("mail.created_at"), fmt_datetime(view.created_at, lang)),
    ]
    if view.sent_at is not None:
        cells.append((t("mail.sent_at"), fmt_datetime(view.sent_at, lang)))
    else:
        cells.append((t("mail.next_attempt"), fmt_datetime(view.next_attempt_at, lang)))
    for cell, (caption, value) in zip(st.columns(len(cells)), cells):
        with cell.container(border=True):
            st.caption(caption)
            st.markdown(f"**{value or '–'}**")
    decision = gate_text(view.gate_allowed, view.gate_reason)
    if view.gate_checked_at is not None:
        decision = t("mail.gate_checked", decision=decision, when=fmt_datetime(view.gate_checked_at, lang))
    st.markdown(f"**{t('mail.gate')}:** {decision}")
    if view.last_error:
        st.error(f"**{t('mail.last_error')}:** {view.last_error}", icon=":material/error:")


def actions(view: MessageView) -> None:
    send_col, retry_col, download_col, close_col = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    if can_manage and view.status == "queued" and send_col.button(
        t("mail.send_now"), key=f"{NS}__send_now", type="primary", icon=":material/send:", help=t("mail.send_now_help"),
        width="stretch",
    ):
        send_now(view.id)
    if can_manage and view.status == "failed" and retry_col.button(
        t("mail.retry"), key=f"{NS}__retry", type="primary", icon=":material/replay:", help=t("mail.retry_help"),
        width="stretch",
    ):
        retry(view.id)
    download_button(download_col, t("mail.download_eml"), lambda: view.eml, file_name=view.eml_name, key=f"{NS}__eml")
    if close_col.button(t("mail.close"), key=f"{NS}__close", icon=":material/close:", width="stretch"):
        open_message(None)
        st.rerun()
    if not can_manage and view.status in ("queued", "failed"):
        st.caption(t("mail.read_only"))


def parts(view: MessageView) -> None:
    text_tab, html_tab, headers_tab = st.tabs(
        [t("mail.tab_text"), t("mail.tab_html"), t("mail.tab_headers")], key=f"{NS}__tab"
    )
    with text_tab:
        st.code(view.body_text, language=None, wrap_lines=True)
    with html_tab:
        if view.body_html:
            with st.container(border=True):
                st.html(view.body_html)  # sanitised by Streamlit (DOMPurify), scripts never run
            with st.expander(t("mail.html_source"), icon=":material/code:"):
                st.code(view.body_html, language="html", wrap_lines=True)
        else:
            st.info(t("mail.no_html"), icon=":material/info:")
    with headers_tab:
        st.dataframe(
            pd.DataFrame(view.header_lines, columns=[t("mail.header_name"), t("mail.header_value")]),
            hide_index=True,
            width="stretch",
        )


def detail(message_id: int) -> None:
    try:
        view = _message(*_cache_key(), message_id)
    except DomainError as exc:
        show_error(exc)
        open_message(None)
        return
    st.divider()
    st.subheader(t("mail.detail", id=view.id, subject=view.subject))
    show_notice()
    facts(view)
    actions(view)
    parts(view)


st.title(f":material/outbox: {t('page.admin_postausgang')}")
st.caption(f"{t('mail.intro')} {backend_caption()}")
counts = _counts(*_cache_key())
kpi_row([Kpi(t(f"mail.count.{s}"), counts.get(s, 0)) for s in STATUSES])

ListReport(
    ns=f"{NS}_list",
    noun=t("mail.plural"),
    columns=[
        Column("id", t("list.id"), "int", sortable=True),
        Column("created_at", t("mail.created_at"), "datetime", sortable=True),
        Column("to_address", t("mail.to"), sortable=True),
        Column("subject", t("mail.subject")),
        Column("category", t("mail.category")),
        Column("kind", t("mail.kind")),
        Column("status", t("mail.status"), sortable=True),
        Column("attempts", t("mail.attempts"), "int", sortable=True),
        Column("last_error", t("mail.last_error")),
        Column("gate", t("mail.gate")),
        Column("sent_at", t("mail.sent_at"), "datetime", sortable=True, visible=False),
        Column("next_attempt_at", t("mail.next_attempt"), "datetime", visible=False),
    ],
    fetch=fetch,
    row_label=lambda row: f"#{row['id']} · {row['to_address']} · {row['subject']}",
    open_record=open_message,
    filters=[
        ListFilter("status", t("mail.status"), STATUSES, format_func=lambda s: t(f"mail.status.{s}")),
        ListFilter("category", t("mail.category"), _categories(*_cache_key())),
        ListFilter("kind", t("mail.kind"), KINDS, format_func=lambda k: t(f"mail.kind.{k}")),
    ],
    export_name="postausgang",
    search_placeholder=t("mail.search_placeholder"),
    empty_hint=t("mail.empty"),
    default_sort="created_at",
    default_descending=True,
).render()

selected = st.session_state.get(SELECTED_KEY)
if selected is not None:
    detail(int(selected))
