"""Einwilligungen: one contact's consents — header with the overall state, restriction, objection and
suppression, the channel × purpose matrix with each cell's proof, the actions (grant, withdraw, double
opt-in, restriction or objection and lifting it, suppressing the addresses), the contact's ledger entries
and the preference-centre link. Without a contact (`?id=` or the contact page's tab): a contact picker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from app.components import consent_matrix as cm
from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.i18n import LANGUAGES, current_lang, t
from app.components.links import open_contact, selected_id
from app.components.object_page import Facet, object_header, object_sections
from core.consent.doi import mask_address, request_doi
from core.consent.links import preferences_url
from core.consent.restrictions import RestrictionView, add_restriction, lift_restriction
from core.consent.service import CellView, grant_consent, revoke_consent
from core.consent.suppression import suppress_contact
from core.consent.texts import PurposeView
from core.consent.vocabulary import CHANNELS, LEGAL_BASES, RESTRICTION_KINDS, SUPPRESSION_REASONS, label
from core.contacts import ContactView
from core.email.delivery import backend_from_settings, deliver_message
from core.errors import DomainError
from core.formatting import fmt_date, fmt_datetime
from core.listing import ListQuery
from core.sales.orders import STATUS_LABELS as ORDER_STATUS_LABELS
from core.settings import get_settings

NS = "consent_mgmt"
DIALOG = f"{NS}__dialog"  # the open dialog: grant, revoke, doi, restrict, lift, suppress
LIFT_ID = f"{NS}__lift_id"  # the restriction the "lift" dialog is about
NOTICE = f"{NS}__notice"  # (kind, text) shown once after the rerun, e.g. how the DOI mail went
MANUAL_SOURCES = ("sales", "phone", "event", "webform", "import")
LEDGER_LIMIT = 500
lang = current_lang()

FIELD_LABELS = {
    "channel": t("consent.channel"),
    "purpose": t("consent.purpose"),
    "legal_basis": t("consent.basis"),
    "source": t("consent.source"),
    "text_id": t("consent.text_version"),
    "order_id": t("consent.order"),
    "evidence": t("consent.evidence"),
    "valid_until": t("consent.valid_until"),
    "reason": t("consent.reason"),
    "kind": t("consent.restriction_kind"),
    "language": t("consent.text_language"),
    "email": t("field.contact.email"),
}


# Outcomes ----------------------------------------------------------------------------------------
def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)
    st.session_state.pop(LIFT_ID, None)


def attempt(run: Callable[[], str]) -> None:
    """Run a service call that returns the success message; a domain error stays in the open dialog."""
    try:
        message = run()
    except DomainError as exc:
        show_error(exc, labels=FIELD_LABELS)
        return
    close_dialog()
    queries.clear_reads()
    flash(message)
    st.rerun()


def buttons(k: str, label_text: str, icon: str, *, disabled: bool = False) -> bool:
    """The dialog's action and cancel buttons; True when the action was clicked."""
    go, cancel = st.columns(2)
    clicked = go.button(label_text, key=f"{k}__go", type="primary", icon=icon, width="stretch", disabled=disabled)
    if cancel.button(t("common.cancel"), key=f"{k}__cancel", width="stretch"):
        close_dialog()
        st.rerun()
    return clicked


def show_notice() -> None:
    notice = st.session_state.pop(NOTICE, None)
    if notice is not None:
        kind, text = notice
        if kind == "success":
            st.success(text, icon=":material/mark_email_read:")
        else:
            st.warning(text, icon=":material/schedule_send:")


# Picker ------------------------------------------------------------------------------------------
def picker() -> None:
    st.title(f":material/how_to_reg: {t('page.consent_management')}")
    st.caption(t("consent.pick_intro"))
    search_col, pick_col, open_col = st.columns([2, 3, 1], vertical_alignment="bottom")
    term = search_col.text_input(
        t("consent.contact_search"), key=f"{NS}__search", placeholder=t("consent.contact_search_placeholder")
    )
    matches = queries.contact_search(term)
    chosen = pick_col.selectbox(
        t("consent.contact"),
        list(matches),
        index=None,
        format_func=matches.get,
        placeholder=t("common.choose") if matches else t("consent.no_contact_match"),
        key=f"{NS}__pick",
    )
    if open_col.button(
        t("list.open"), key=f"{NS}__open", type="primary", icon=":material/open_in_new:", disabled=chosen is None,
        width="stretch",
    ) and chosen is not None:
        cm.open_consent_page(chosen)


def other_contact() -> None:
    st.session_state[cm.CONSENT_ID_KEY] = None
    st.query_params.pop("id", None)


# Header ------------------------------------------------------------------------------------------
SUPPRESSED_ADDRESS = {"email": "consent.address_email", "phone": "consent.address_phone", "mobile": "consent.address_mobile"}


def header(contact: ContactView, cells: Sequence[CellView], active: Sequence[RestrictionView], suppressed: Sequence[str]) -> None:
    blocked = ", ".join(t(SUPPRESSED_ADDRESS[kind]) for kind in suppressed)
    object_header(
        contact.full_name,
        subtitle=t("consent.subtitle", id=contact.id),
        facets=[
            Facet(t("field.contact.email"), contact.email or "–"),
            Facet(t("field.contact.account_id"), contact.account_name or "–"),
            Facet(t("consent.overall"), t("consent.granted_of", n=cm.granted_count(cells), total=len(cells))),
            Facet(t("consent.suppression"), t("consent.suppressed", addresses=blocked) if blocked else t("consent.not_suppressed")),
        ],
        icon=":material/how_to_reg:",
    )
    badges = st.container(horizontal=True, vertical_alignment="center")
    for restriction in active:
        badges.badge(
            label(RESTRICTION_KINDS, restriction.kind, lang),
            icon=":material/block:",
            color="red" if restriction.kind == "restriction" else "orange",
        )
    if suppressed:
        badges.badge(t("consent.suppressed_badge"), icon=":material/do_not_disturb_on:", color="red")
    if badges.button(t("consent.to_contact"), key=f"{NS}__to_contact", icon=":material/person:", type="tertiary"):
        open_contact(contact.id)
    badges.button(
        t("consent.other_contact"), key=f"{NS}__other", icon=":material/person_search:", type="tertiary",
        on_click=other_contact,
    )


ACTIONS = (
    ("grant", ":material/add_task:", "consent.write"),
    ("revoke", ":material/remove_done:", "consent.write"),
    ("doi", ":material/forward_to_inbox:", "consent.write"),
    ("restrict", ":material/front_hand:", "consent.write"),
    ("suppress", ":material/do_not_disturb_on:", "consent.configure"),
)


def action_bar() -> None:
    if not context.may("consent.write"):
        st.info(t("consent.read_only"), icon=":material/lock:")
        return
    row = st.container(horizontal=True)
    for key, icon, permission in ACTIONS:
        if context.may(permission) and row.button(
            t(f"consent.action_{key}"), key=f"{NS}__{key}", icon=icon, type="primary" if key == "grant" else "secondary"
        ):
            st.session_state[DIALOG] = key


# Dialogs -----------------------------------------------------------------------------------------
def purpose_select(k: str, names: dict[int, str]) -> int | None:
    return st.selectbox(
        t("consent.purpose"), list(names), format_func=names.get, key=f"{k}__purpose", placeholder=t("consent.no_purpose")
    )


def consent_text(k: str, purpose_id: int) -> int | None:
    """The wording the person agrees to, read-only: the newest version in the chosen language."""
    language = st.radio(
        t("consent.text_language"), list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True, key=f"{k}__language"
    )
    text = cm.current_text(purpose_id, language)
    if text is None:
        st.warning(t("consent.no_text"), icon=":material/warning:")
        return None
    with st.container(border=True):
        st.caption(t("consent.text_shown", version=text.version, day=fmt_date(text.created_at, lang), sha=text.sha256[:12]))
        st.markdown(f"**{text.title}**")
        st.markdown(text.body)
    return text.id


def order_choice(k: str, contact: ContactView) -> int | None:
    """Existing customer (§ 7 Abs. 3 UWG): the order of the contact's company that justifies it."""
    orders = cm.company_orders(contact.account_id) if contact.account_id else pd.DataFrame()
    if orders.empty:
        st.warning(t("consent.no_orders"), icon=":material/warning:")
        return None
    labels = {
        int(r.id): f"{r.number} · {fmt_date(r.order_date, lang)} · {ORDER_STATUS_LABELS.get(r.status, r.status)}"
        for r in orders.itertuples()
    }
    return st.selectbox(
        t("consent.order"),
        list(labels),
        index=None,
        format_func=labels.get,
        placeholder=t("common.choose"),
        key=f"{k}__order",
        help=t("consent.order_help"),
    )


def grant_dialog(contact: ContactView, names: dict[int, str]) -> None:
    k = f"{NS}_grant"

    @st.dialog(t("consent.grant_title"), width="large", on_dismiss=close_dialog)
    def _dialog() -> None:
        st.caption(t("consent.grant_intro", name=contact.full_name))
        left, right = st.columns(2)
        channel = left.selectbox(t("consent.channel"), list(CHANNELS), format_func=cm.channel_label, key=f"{k}__channel")
        with right:
            purpose_id = purpose_select(k, names)
        basis = left.selectbox(
            t("consent.basis"), list(LEGAL_BASES), format_func=cm.basis_label, key=f"{k}__basis", help=t("consent.basis_help")
        )
        source = right.selectbox(t("consent.source"), MANUAL_SOURCES, format_func=cm.source_label, key=f"{k}__source")
        text_id = consent_text(k, purpose_id) if basis == "consent" and purpose_id is not None else None
        order_id = order_choice(k, contact) if basis == "existing_customer" else None
        evidence = st.text_area(
            t("consent.evidence"),
            key=f"{k}__evidence",
            placeholder=t("consent.evidence_placeholder"),
            help=t("consent.evidence_help"),
            height=80,
        )
        until = st.date_input(
            t("consent.valid_until_input"), value=None, format="DD.MM.YYYY", key=f"{k}__until", help=t("consent.valid_until_help")
        )
        if buttons(k, t("consent.grant_go"), ":material/add_task:", disabled=purpose_id is None) and purpose_id is not None:

            def run(purpose_id: int = purpose_id) -> str:
                grant_consent(
                    context.uow(),
                    contact_id=contact.id,
                    channel=channel,
                    purpose=purpose_id,
                    source=source,
                    legal_basis=basis,
                    text_id=text_id,
                    order_id=order_id,
                    evidence=evidence,
                    valid_until=cm.local_day_start(until + dt.timedelta(days=1)) if isinstance(until, dt.date) else None,
                )
                return t("consent.granted_done", purpose=names[purpose_id], channel=cm.channel_label(channel))

            attempt(run)

    _dialog()


def revoke_dialog(contact: ContactView, cells: Sequence[CellView], names: dict[int, str]) -> None:
    k = f"{NS}_revoke"
    by_cell = {(c.channel, c.purpose_id): c for c in cells}

    @st.dialog(t("consent.revoke_title"), width="medium", on_dismiss=close_dialog)
    def _dialog() -> None:
        st.caption(t("consent.revoke_intro", name=contact.full_name))
        left, right = st.columns(2)
        channel = left.selectbox(t("consent.channel"), list(CHANNELS), format_func=cm.channel_label, key=f"{k}__channel")
        with right:
            purpose_id = purpose_select(k, names)
        cell = by_cell.get((channel, purpose_id)) if purpose_id is not None else None
        if cell is not None:
            st.caption(t("consent.current_status", status=cm.status_label(cell.status)))
        source = st.selectbox(t("consent.source"), MANUAL_SOURCES, format_func=cm.source_label, key=f"{k}__source")
        reason = st.text_input(t("consent.reason"), key=f"{k}__reason", placeholder=t("consent.revoke_reason_placeholder"))
        if buttons(k, t("consent.revoke_go"), ":material/remove_done:", disabled=purpose_id is None) and purpose_id is not None:

            def run(purpose_id: int = purpose_id) -> str:
                entry = revoke_consent(
                    context.uow(),
                    contact_id=contact.id,
                    channel=channel,
                    purpose=purpose_id,
                    source=source,
                    reason=reason,
                )
                done = "consent.revoked_done" if entry is not None else "consent.revoked_already"
                return t(done, purpose=names[purpose_id], channel=cm.channel_label(channel))

            attempt(run)

    _dialog()


MAIL_STATUS = {
    "queued": "consent.mail_queued",
    "sending": "consent.mail_sending",
    "failed": "consent.mail_failed",
    "blocked": "consent.mail_blocked",
}


def doi_dialog(contact: ContactView, names: dict[int, str]) -> None:
    k = f"{NS}_doi"

    @st.dialog(t("consent.doi_title"), width="medium", on_dismiss=close_dialog)
    def _dialog() -> None:
        if not contact.email:
            st.warning(t("consent.doi_no_email"), icon=":material/warning:")
            buttons(k, t("consent.doi_go"), ":material/forward_to_inbox:", disabled=True)
            return
        masked = mask_address(contact.email)
        st.caption(t("consent.doi_intro", address=masked))
        purpose_id = purpose_select(k, names)
        language = st.radio(
            t("consent.mail_language"), list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True, key=f"{k}__language"
        )
        source = st.selectbox(t("consent.source"), MANUAL_SOURCES, format_func=cm.source_label, key=f"{k}__source")
        if buttons(k, t("consent.doi_go"), ":material/forward_to_inbox:", disabled=purpose_id is None) and purpose_id is not None:

            def run(purpose_id: int = purpose_id) -> str:
                sent = request_doi(
                    context.uow(), contact_id=contact.id, purpose=purpose_id, source=source, language=language
                )
                # The request is committed; the mail goes out at once (the job would otherwise send it).
                status = deliver_message(
                    context.factory(),
                    sent.email_message_id,
                    now=context.clock()(),
                    backend=backend_from_settings(get_settings()),
                )
                if status == "sent":
                    text = t("consent.doi_resent" if sent.resent else "consent.doi_sent", address=masked)
                    st.session_state[NOTICE] = ("success", text)
                else:
                    state = t(MAIL_STATUS.get(status, "consent.mail_queued"))
                    st.session_state[NOTICE] = ("warning", t("consent.doi_not_sent", address=masked, state=state))
                return t("consent.doi_requested", purpose=names[purpose_id])

            attempt(run)

    _dialog()


def restrict_dialog(contact: ContactView) -> None:
    k = f"{NS}_restrict"

    @st.dialog(t("consent.restrict_title"), width="medium", on_dismiss=close_dialog)
    def _dialog() -> None:
        kind = st.radio(
            t("consent.restriction_kind"),
            list(RESTRICTION_KINDS),
            format_func=lambda key: label(RESTRICTION_KINDS, key, lang),
            key=f"{k}__kind",
        )
        st.caption(t(f"consent.effect_{kind}"))
        reason = st.text_area(
            t("consent.reason"), key=f"{k}__reason", placeholder=t("consent.restrict_reason_placeholder"), height=80
        )
        if buttons(k, t("consent.restrict_go"), ":material/front_hand:"):

            def run() -> str:
                add_restriction(context.uow(), contact_id=contact.id, kind=kind, reason=reason)
                return t("consent.restricted_done", kind=label(RESTRICTION_KINDS, kind, lang))

            attempt(run)

    _dialog()


def lift_dialog(restriction: RestrictionView) -> None:
    k = f"{NS}_lift"
    kind = label(RESTRICTION_KINDS, restriction.kind, lang)

    @st.dialog(t("consent.lift_title"), width="medium", on_dismiss=close_dialog)
    def _dialog() -> None:
        st.markdown(t("consent.lift_text", kind=kind, since=fmt_date(restriction.started_at, lang)))
        if restriction.reason:
            st.caption(t("consent.lift_original", reason=restriction.reason))
        reason = st.text_input(t("consent.reason"), key=f"{k}__reason", placeholder=t("consent.lift_reason_placeholder"))
        if buttons(k, t("consent.lift_go"), ":material/lock_open:"):

            def run() -> str:
                lift_restriction(context.uow(), restriction.id, reason=reason)
                return t("consent.lifted_done", kind=kind)

            attempt(run)

    _dialog()


def suppress_dialog(contact: ContactView) -> None:
    k = f"{NS}_suppress"
    addresses = [a for a in (contact.email, contact.phone, contact.mobile) if a]

    @st.dialog(t("consent.suppress_title"), width="medium", on_dismiss=close_dialog)
    def _dialog() -> None:
        if not addresses:
            st.warning(t("consent.suppress_nothing"), icon=":material/warning:")
            buttons(k, t("consent.suppress_go"), ":material/do_not_disturb_on:", disabled=True)
            return
        st.markdown(t("consent.suppress_text", name=contact.full_name, addresses=", ".join(addresses)))
        st.caption(t("consent.suppress_hint"))
        reason = st.selectbox(
            t("consent.suppress_reason"),
            cm.MANUAL_SUPPRESSION_REASONS,
            format_func=lambda key: label(SUPPRESSION_REASONS, key, lang),
            key=f"{k}__reason",
        )
        note = st.text_input(t("consent.note"), key=f"{k}__note")
        if buttons(k, t("consent.suppress_go"), ":material/do_not_disturb_on:"):

            def run() -> str:
                result = suppress_contact(context.uow(), contact.id, reason=reason, note=note.strip() or None)
                return t("consent.suppressed_done", added=result.added, already=result.already)

            attempt(run)

    _dialog()


def open_dialog(contact: ContactView, cells: Sequence[CellView], names: dict[int, str], active: Sequence[RestrictionView]) -> None:
    """The dialog chosen in the action bar (or a restriction's "Aufheben"); it stays open until done."""
    dialog = st.session_state.get(DIALOG)
    if dialog == "grant":
        grant_dialog(contact, names)
    elif dialog == "revoke":
        revoke_dialog(contact, cells, names)
    elif dialog == "doi":
        doi_dialog(contact, names)
    elif dialog == "restrict":
        restrict_dialog(contact)
    elif dialog == "suppress" and context.may("consent.configure"):
        suppress_dialog(contact)
    elif dialog == "lift" and context.may("consent.configure"):
        restriction = next((r for r in active if r.id == st.session_state.get(LIFT_ID)), None)
        if restriction is not None:
            lift_dialog(restriction)
    else:
        close_dialog()


# Sections ----------------------------------------------------------------------------------------
def matrix_section(cells: Sequence[CellView], purpose_views: Sequence[PurposeView]) -> None:
    if not cells:
        st.info(t("consent.no_purposes"), icon=":material/info:")
        return
    st.caption(t("consent.matrix_intro"))
    cm.render_matrix(f"{NS}_matrix", cells, purpose_views)


def ledger_section(contact: ContactView, names: dict[int, str]) -> None:
    page = cm.history(ListQuery(filters={"contact_id": contact.id}, page_size=LEDGER_LIMIT))
    rows = page.rows
    if rows.empty:
        st.info(t("consent.ledger_empty"), icon=":material/history:")
        return
    shown = t("consent.ledger_count", n=page.total, limit=LEDGER_LIMIT) if page.total > len(rows) else None
    st.caption(shown or t("consent.ledger_all", n=page.total))
    table = pd.DataFrame(
        {
            t("consent.when"): [fmt_datetime(v.to_pydatetime(), lang) for v in rows["occurred_at"]],
            t("consent.action"): [cm.action_label(a) for a in rows["action"]],
            t("consent.channel"): [cm.channel_label(c) for c in rows["channel"]],
            t("consent.purpose"): [names.get(int(p), str(p)) for p in rows["purpose_id"]],
            t("consent.status"): [cm.status_label(s) for s in rows["status"]],
            t("consent.basis"): [cm.basis_label(b, short=True) for b in rows["legal_basis"]],
            t("consent.source"): [cm.source_label(s) for s in rows["source"]],
            t("consent.text_version"): ["" if pd.isna(v) else f"v{int(v)}" for v in rows["text_version"]],
            t("consent.note_or_reason"): [r or e or "" for r, e in zip(rows["reason"], rows["evidence"])],
            t("consent.actor"): rows["actor_name"],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", height=min(600, 38 + 35 * len(table)))
    st.page_link(
        cm.HISTORY_PAGE, label=t("consent.to_history"), icon=":material/history:", query_params={"contact_id": str(contact.id)}
    )


def restrictions_section(rows: Sequence[RestrictionView]) -> None:
    st.caption(t("consent.restrictions_intro"))
    if not rows:
        st.info(t("consent.no_restrictions"), icon=":material/info:")
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("consent.restriction_kind"): [label(RESTRICTION_KINDS, r.kind, lang) for r in rows],
                t("consent.since"): [fmt_datetime(r.started_at, lang) for r in rows],
                t("consent.reason"): [r.reason or "" for r in rows],
                t("consent.actor"): [r.created_by for r in rows],
                t("consent.lifted_at"): [fmt_datetime(r.lifted_at, lang) for r in rows],
                t("consent.lifted_reason"): [r.lifted_reason or "" for r in rows],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if not context.may("consent.configure"):
        return
    for restriction in (r for r in rows if r.active):
        text_col, lift_col = st.columns([3, 1], vertical_alignment="center")
        text_col.markdown(t("consent.active_since", kind=label(RESTRICTION_KINDS, restriction.kind, lang),
                            since=fmt_date(restriction.started_at, lang)))
        if lift_col.button(t("consent.lift"), key=f"{NS}__lift_{restriction.id}", icon=":material/lock_open:", width="stretch"):
            st.session_state[DIALOG] = "lift"
            st.session_state[LIFT_ID] = restriction.id


def preferences_section(contact: ContactView) -> None:
    if not context.may("consent.write"):
        st.info(t("consent.preferences_read_only"), icon=":material/lock:")
        return
    st.caption(t("consent.preferences_intro"))
    st.code(preferences_url(contact.id), language=None, wrap_lines=True)


# Page --------------------------------------------------------------------------------------------
contact_id = selected_id(cm.CONSENT_ID_KEY)
if contact_id is None:
    picker()
else:
    try:
        contact = queries.contact(contact_id)
        cells = cm.matrix(contact_id)
        all_restrictions = cm.restrictions(contact_id)
        suppressed = cm.suppressed_channels(contact)
    except DomainError as exc:
        show_error(exc)
        st.button(t("consent.other_contact"), key=f"{NS}__back", icon=":material/person_search:", on_click=other_contact)
    else:
        purpose_views = cm.purposes(include_inactive=True)
        names = cm.purpose_names(purpose_views)
        active_names = cm.purpose_names([p for p in purpose_views if p.active])
        active = [r for r in all_restrictions if r.active]
        header(contact, cells, active, suppressed)
        show_notice()
        action_bar()
        sections: list[tuple[str, Callable[[], None]]] = [
            (t("consent.section_matrix"), lambda: matrix_section(cells, purpose_views)),
            (t("consent.section_ledger"), lambda: ledger_section(contact, names)),
            (t("consent.section_restrictions"), lambda: restrictions_section(all_restrictions)),
            (t("consent.section_preferences"), lambda: preferences_section(contact)),
        ]
        for container, (_title, render) in zip(object_sections(NS, [title for title, _ in sections]), sections):
            with container:
                try:
                    render()
                except DomainError as exc:
                    show_error(exc)
        open_dialog(contact, cells, active_names, active)
