"""Einwilligungstexte (consent.configure): the purposes (create, activate or deactivate with a reason), their
versioned texts per language (a change is always a new version with its own hash, never an edit) and the
suppression list (add an address, lift an entry entered by mistake).

Read fresh after every write through the cached reads, which every write here clears.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import consent_matrix as cm
from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.i18n import LANGUAGES as LANGUAGE_NAMES
from app.components.i18n import current_lang, t
from core.consent.suppression import lift_suppression, suppress_address
from core.consent.texts import LANGUAGES, PurposeView, TextView, create_purpose, create_text_version, set_purpose_active
from core.consent.vocabulary import SUPPRESSION_REASONS, label
from core.errors import DomainError
from core.formatting import fmt_datetime

NS = "consent_texts"
LIFT_PENDING = f"{NS}__lift_pending"  # (entry id, its label) while the confirmation is open
lang = current_lang()

PURPOSE_LABELS = {
    "key": t("consent.purpose_key"),
    "name_de": t("consent.name_de"),
    "name_en": t("consent.name_en"),
    "description_de": t("consent.description_de"),
    "description_en": t("consent.description_en"),
}
TEXT_LABELS = {"title": t("consent.text_title"), "body": t("consent.text_body"), "language": t("consent.text_language")}
SUPPRESSION_LABELS = {"address": t("consent.suppress_address"), "reason": t("consent.reason")}


def yes_no(value: bool) -> str:
    return t("common.yes") if value else t("common.no")


def done(message: str) -> None:
    queries.clear_reads()
    flash(message)
    st.rerun()


# Purposes ----------------------------------------------------------------------------------------
def purposes_section(views: list[PurposeView]) -> None:
    st.dataframe(
        pd.DataFrame(
            {
                t("consent.purpose_key"): [p.key for p in views],
                t("consent.name_de"): [p.name_de for p in views],
                t("consent.name_en"): [p.name_en for p in views],
                t("consent.marketing"): [yes_no(p.marketing) for p in views],
                t("consent.tracking"): [yes_no(p.tracking) for p in views],
                t("consent.active"): [yes_no(p.active) for p in views],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    activation(views)
    new_purpose()


def activation(views: list[PurposeView]) -> None:
    by_id = {p.id: p for p in views}
    with st.container(border=True):
        st.markdown(f"**{t('consent.activation_title')}**")
        st.caption(t("consent.activation_hint"))
        pick_col, reason_col, go_col = st.columns([2, 3, 1.2], vertical_alignment="bottom")
        purpose_id = pick_col.selectbox(
            t("consent.purpose"),
            list(by_id),
            format_func=lambda i: f"{by_id[i].name(lang)} ({t('consent.active') if by_id[i].active else t('consent.inactive')})",
            key=f"{NS}__activation_purpose",
        )
        purpose = by_id.get(purpose_id) if purpose_id is not None else None
        # keyed by the purpose's state: after the change the field is empty again
        state = f"{purpose.id}_{purpose.active}" if purpose else "none"
        reason = reason_col.text_input(t("consent.reason"), key=f"{NS}__activation_reason_{state}")
        verb = "consent.deactivate" if purpose is None or purpose.active else "consent.activate"
        if go_col.button(t(verb), key=f"{NS}__activation_go", width="stretch", disabled=purpose is None) and purpose:
            if not reason.strip():
                st.error(t("consent.reason_required"), icon=":material/error:")
                return
            try:
                set_purpose_active(context.uow(), purpose.id, not purpose.active, reason=reason.strip())
            except DomainError as exc:
                show_error(exc)
                return
            done(t("consent.deactivated" if purpose.active else "consent.activated", name=purpose.name(lang)))


def new_purpose() -> None:
    with st.expander(t("consent.new_purpose"), icon=":material/add:"):
        with st.form(f"{NS}__new_purpose"):
            key_col, de_col, en_col = st.columns([1, 2, 2])
            key = key_col.text_input(
                t("consent.purpose_key"), placeholder="webinare", help=t("consent.purpose_key_help"), key=f"{NS}__new_key"
            )
            name_de = de_col.text_input(t("consent.name_de"), placeholder="Webinare", key=f"{NS}__new_name_de")
            name_en = en_col.text_input(t("consent.name_en"), placeholder="Webinars", key=f"{NS}__new_name_en")
            description_de = de_col.text_area(t("consent.description_de"), height=80, key=f"{NS}__new_description_de")
            description_en = en_col.text_area(t("consent.description_en"), height=80, key=f"{NS}__new_description_en")
            marketing = key_col.checkbox(
                t("consent.marketing"), value=True, help=t("consent.marketing_help"), key=f"{NS}__new_marketing"
            )
            tracking = key_col.checkbox(t("consent.tracking"), help=t("consent.tracking_help"), key=f"{NS}__new_tracking")
            submitted = st.form_submit_button(t("consent.create_purpose"), type="primary", icon=":material/add:")
        if submitted:
            values = {
                "key": key.strip(),
                "name_de": name_de.strip(),
                "name_en": name_en.strip(),
                "description_de": description_de.strip() or None,
                "description_en": description_en.strip() or None,
                "marketing": marketing,
                "tracking": tracking,
            }
            try:
                created = create_purpose(context.uow(), values)
            except DomainError as exc:
                show_error(exc, labels=PURPOSE_LABELS)
                return
            done(t("consent.purpose_created", name=created.name(lang)))


# Texts -------------------------------------------------------------------------------------------
def texts_section(views: list[PurposeView]) -> None:
    st.caption(t("consent.versions_hint"))
    names = cm.purpose_names(views)
    purpose_id = st.selectbox(t("consent.purpose"), list(names), format_func=names.get, key=f"{NS}__text_purpose")
    if purpose_id is None:
        return
    versions = cm.text_versions(purpose_id)
    for tab, language in zip(st.tabs([LANGUAGE_NAMES[code] for code in LANGUAGES]), LANGUAGES):
        with tab:
            language_versions(purpose_id, language, [v for v in versions if v.language == language])


def language_versions(purpose_id: int, language: str, versions: list[TextView]) -> None:
    """Versions newest first, then the form for the next one, prefilled with the newest wording."""
    if versions:
        st.dataframe(
            pd.DataFrame(
                {
                    t("consent.version"): [v.version for v in versions],
                    t("consent.text_title"): [v.title for v in versions],
                    t("consent.text_hash"): [v.sha256 for v in versions],
                    t("consent.created_at"): [fmt_datetime(v.created_at, lang) for v in versions],
                    t("consent.created_by"): [v.created_by for v in versions],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.info(t("consent.no_versions"), icon=":material/info:")
    latest = versions[0] if versions else None
    next_version = (latest.version if latest else 0) + 1
    # The keys carry the newest version, so after saving the form shows the new wording.
    k = f"{NS}__text_{purpose_id}_{language}_{latest.version if latest else 0}"
    with st.form(f"{k}__form"):
        st.markdown(f"**{t('consent.new_version', version=next_version)}**")
        title = st.text_input(t("consent.text_title"), value=latest.title if latest else "", key=f"{k}__title")
        body = st.text_area(t("consent.text_body"), value=latest.body if latest else "", height=220, key=f"{k}__body")
        submitted = st.form_submit_button(
            t("consent.save_version", version=next_version), type="primary", icon=":material/post_add:"
        )
    if submitted:
        try:
            created = create_text_version(context.uow(), purpose_id, {"language": language, "title": title, "body": body})
        except DomainError as exc:
            show_error(exc, labels=TEXT_LABELS)
            return
        done(t("consent.version_created", version=created.version, language=LANGUAGE_NAMES[language]))


# Suppression list --------------------------------------------------------------------------------
def suppression_section() -> None:
    st.caption(t("consent.suppression_intro"))
    rows = cm.suppressions()
    if rows.empty:
        st.info(t("consent.suppression_empty"), icon=":material/info:")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    t("list.id"): rows["id"].astype(int),
                    t("consent.suppression_kind"): [t(f"consent.kind_{k}") for k in rows["kind"]],
                    t("consent.suppress_reason"): [label(SUPPRESSION_REASONS, r, lang) for r in rows["reason"]],
                    t("consent.note"): rows["note"].fillna(""),
                    t("consent.created_at"): [fmt_datetime(pd.Timestamp(v).to_pydatetime(), lang) for v in rows["created_at"]],
                    t("consent.created_by"): rows["created_by"],
                    t("consent.digest"): [f"{d[:12]}…" for d in rows["digest"]],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    add_suppression()
    if not rows.empty:
        lift(rows)


def add_suppression() -> None:
    with st.form(f"{NS}__suppress", border=True):
        st.markdown(f"**{t('consent.suppress_add')}**")
        address_col, reason_col, note_col = st.columns([2, 1.5, 2])
        address = address_col.text_input(
            t("consent.suppress_address"), placeholder="name@firma.de / +49 221 123456", key=f"{NS}__suppress_address"
        )
        reason = reason_col.selectbox(
            t("consent.suppress_reason"),
            cm.MANUAL_SUPPRESSION_REASONS,
            format_func=lambda r: label(SUPPRESSION_REASONS, r, lang),
            key=f"{NS}__suppress_reason",
        )
        note = note_col.text_input(t("consent.note"), key=f"{NS}__suppress_note")
        submitted = st.form_submit_button(t("consent.suppress_add_go"), icon=":material/do_not_disturb_on:")
    if submitted:
        try:
            result = suppress_address(context.uow(), address=address.strip(), reason=reason, note=note.strip() or None)
        except DomainError as exc:
            show_error(exc, labels=SUPPRESSION_LABELS)
            return
        done(t("consent.address_suppressed" if result.added else "consent.address_already"))


def lift(rows: pd.DataFrame) -> None:
    liftable = rows[rows["reason"] != "erased"]
    if liftable.empty:
        return
    labels = {
        int(r.id): f"Nr. {int(r.id)} · {t(f'consent.kind_{r.kind}')} · {label(SUPPRESSION_REASONS, r.reason, lang)}"
        + (f" · {r.note}" if isinstance(r.note, str) and r.note else "")
        for r in liftable.itertuples()
    }
    with st.container(border=True):
        st.markdown(f"**{t('consent.lift_suppression')}**")
        st.caption(t("consent.lift_suppression_hint"))
        pick_col, go_col = st.columns([4, 1.2], vertical_alignment="bottom")
        entry_id = pick_col.selectbox(t("consent.suppression_entry"), list(labels), format_func=labels.get, key=f"{NS}__lift_pick")
        if go_col.button(t("consent.lift"), key=f"{NS}__lift", icon=":material/lock_open:", width="stretch") and entry_id:
            st.session_state[LIFT_PENDING] = (entry_id, labels[entry_id])
    pending = st.session_state.get(LIFT_PENDING)
    if pending is not None:
        lift_dialog(*pending)


def lift_dialog(entry_id: int, entry: str) -> None:
    """Confirm lifting one entry, with the reason; open while pending, so errors stay in the dialog."""

    @st.dialog(t("consent.lift_suppression"), on_dismiss=lambda: st.session_state.pop(LIFT_PENDING, None))
    def _dialog() -> None:
        st.markdown(t("consent.lift_suppression_text", entry=entry))
        reason = st.text_input(t("consent.reason"), key=f"{NS}__lift_reason", placeholder=t("consent.lift_suppression_placeholder"))
        yes, no = st.columns(2)
        if yes.button(t("consent.lift"), key=f"{NS}__lift_yes", type="primary", icon=":material/lock_open:", width="stretch"):
            try:
                lift_suppression(context.uow(), entry_id, reason=reason)
            except DomainError as exc:
                show_error(exc, labels=SUPPRESSION_LABELS)
                return
            st.session_state.pop(LIFT_PENDING, None)
            done(t("consent.suppression_lifted", id=entry_id))
        if no.button(t("common.cancel"), key=f"{NS}__lift_no", width="stretch"):
            st.session_state.pop(LIFT_PENDING, None)
            st.rerun()

    _dialog()


st.title(f":material/article: {t('page.consent_texts')}")
st.caption(t("consent.texts_intro"))
purpose_views = cm.purposes(include_inactive=True)
sections = [t("consent.section_purposes"), t("consent.section_texts"), t("consent.section_suppression")]
purposes_tab, texts_tab, suppression_tab = st.tabs(sections, key=f"{NS}__tab")
with purposes_tab:
    purposes_section(purpose_views)
with texts_tab:
    texts_section(purpose_views)
with suppression_tab:
    suppression_section()
