"""Vertrieb einrichten (admin): per pipeline the stages with their defaults (name, probability, forecast
category, "veraltet nach N Tagen"), the won and lost reasons (add, rename, needs text, deactivate), and for
quotes and orders whether an order wins its deal and the company letterhead of the quote PDF (with a preview).

Settings are read fresh on every run (not cached): after a save the page shows exactly what is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Literal

import streamlit as st

from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.fields import FormField
from app.components.i18n import t
from app.components.object_page import EditForm
from core.errors import DomainError
from core.sales.opportunities import local_today
from core.sales.orders import get_win_on_order, set_win_on_order
from core.sales.pipelines import (
    FORECAST_LABELS,
    PipelineView,
    ReasonView,
    StageView,
    create_reason,
    list_pipelines,
    list_reasons,
    update_reason,
    update_stage,
)
from core.sales.pricing import PricedLine, line_net, quote_totals
from core.sales.quotes import (
    DEFAULT_INTRODUCTION,
    DEFAULT_TERMS,
    VALIDITY_DAYS,
    company_letterhead,
    set_company_letterhead,
)
from core.users import UserView
from db.models.sales import FORECAST_CATEGORIES
from exports.pdf.quote import CompanyLetterhead, QuoteDocument, QuoteDocumentLine, TaxLine, quote_pdf

NS = "admin_vertrieb"
STAGE_COLUMNS = [2.2, 0.8, 1.3, 1.5, 1.3]
REASON_COLUMNS = [3, 1.2, 1]
Kind = Literal["won", "lost"]
LETTERHEAD_NS = f"{NS}_letterhead"
# Two columns, row by row: address and contact on the left, legal and bank data on the right.
LETTERHEAD_LAYOUT = (
    ("name", True),
    ("managing_directors", True),
    ("street", True),
    ("register_court", True),
    ("postcode", True),
    ("vat_id", True),
    ("city", True),
    ("bank_name", True),
    ("phone", False),
    ("iban", True),
    ("email", False),
    ("bic", False),
    ("website", False),
)
# The preview is a German business letter like every quote PDF, so its sample content is German too.
# (description, quantity, unit, unit price, VAT rate, line discount %)
SAMPLE_LINES = (
    ("Beratung und Konzeption\nWorkshop vor Ort", Decimal(8), "Std.", Decimal("120.00"), Decimal(19), Decimal(0)),
    ("Fachbuch „Vertrieb planen“", Decimal(2), "Stück", Decimal("49.90"), Decimal(7), Decimal(10)),
)


def header(labels: list[str], widths: list[float]) -> None:
    for col, text in zip(st.columns(widths), labels):
        col.markdown(f"**{text}**")


def stage_labels(stage: StageView) -> dict[str, str]:
    names = {
        "name": t("sales_admin.stage"),
        "probability": t("sales_admin.probability"),
        "forecast_category": t("sales_admin.category"),
        "stale_after_days": t("sales_admin.stale_days"),
    }
    return {field: f"{stage.name} – {text}" for field, text in names.items()}


def stage_row(stage: StageView) -> dict[str, Any]:
    labels = stage_labels(stage)
    cols = st.columns(STAGE_COLUMNS, vertical_alignment="center")
    values: dict[str, Any] = {
        "name": cols[0].text_input(
            labels["name"], value=stage.name, max_chars=100, key=f"{NS}__name_{stage.id}", label_visibility="collapsed"
        )
    }
    cols[1].markdown(t(f"sales_admin.kind_{stage.kind}"))
    values["probability"] = cols[2].number_input(
        labels["probability"],
        min_value=0,
        max_value=100,
        step=5,
        value=stage.probability,
        disabled=not stage.is_open,
        help=None if stage.is_open else t("sales_admin.probability_fixed"),
        key=f"{NS}__probability_{stage.id}",
        label_visibility="collapsed",
    )
    values["forecast_category"] = cols[3].selectbox(
        labels["forecast_category"],
        FORECAST_CATEGORIES,
        index=FORECAST_CATEGORIES.index(stage.forecast_category),
        format_func=FORECAST_LABELS.get,
        key=f"{NS}__category_{stage.id}",
        label_visibility="collapsed",
    )
    values["stale_after_days"] = cols[4].number_input(
        labels["stale_after_days"],
        min_value=1,
        max_value=365,
        step=1,
        value=stage.stale_after_days,
        placeholder="–",
        disabled=not stage.is_open,
        help=None if stage.is_open else t("sales_admin.stale_open_only"),
        key=f"{NS}__stale_{stage.id}",
        label_visibility="collapsed",
    )
    return values


def changes(current: Mapping[str, Any], chosen: Mapping[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in chosen.items() if value != current[field]}


def stages_form(pipeline: PipelineView) -> None:
    with st.form(f"{NS}__stages_{pipeline.id}", border=False):
        header(
            [
                t("sales_admin.stage"),
                t("sales_admin.kind"),
                t("sales_admin.probability"),
                t("sales_admin.category"),
                t("sales_admin.stale_days"),
            ],
            STAGE_COLUMNS,
        )
        chosen = {stage.id: stage_row(stage) for stage in pipeline.stages}
        st.caption(t("sales_admin.stale_help"))
        submitted = st.form_submit_button(t("sales_admin.save_stages"), type="primary", icon=":material/save:")
    if not submitted:
        return
    edits = [
        (stage, diff)
        for stage in pipeline.stages
        if (diff := changes({f: getattr(stage, f) for f in chosen[stage.id]}, chosen[stage.id]))
    ]
    saved = 0
    for stage, diff in edits:
        try:
            update_stage(context.uow(), stage.id, diff, expected_version=stage.version)
        except DomainError as error:
            show_error(error, labels=stage_labels(stage))
            break
        saved += 1
    finish(saved, failed=saved < len(edits), message=t("sales_admin.stages_saved", n=saved))


def finish(saved: int, *, failed: bool, message: str) -> None:
    """After saving: fresh reads everywhere; a toast (and a rerun) unless an error must stay visible."""
    if saved:
        queries.clear_reads()
    if failed:
        if saved:
            st.toast(message, icon=":material/check_circle:")
        return
    flash(message if saved else t("sales_admin.nothing_changed"))
    st.rerun()


def reason_labels() -> dict[str, str]:
    return {"label": t("sales_admin.reason_label"), "needs_text": t("sales_admin.needs_text")}


def reasons_form(kind: Kind, reasons: list[ReasonView]) -> None:
    with st.form(f"{NS}__reasons_{kind}", border=False):
        header([t("sales_admin.reason_label"), t("sales_admin.needs_text"), t("sales_admin.active")], REASON_COLUMNS)
        chosen: dict[int, dict[str, Any]] = {}
        for reason in reasons:
            cols = st.columns(REASON_COLUMNS, vertical_alignment="center")
            chosen[reason.id] = {
                "label": cols[0].text_input(
                    t("sales_admin.reason_label"),
                    value=reason.label,
                    max_chars=100,
                    key=f"{NS}__reason_{reason.id}",
                    label_visibility="collapsed",
                ),
                "needs_text": cols[1].checkbox(
                    t("sales_admin.needs_text"),
                    value=reason.needs_text,
                    key=f"{NS}__needs_text_{reason.id}",
                    label_visibility="collapsed",
                ),
                "is_active": cols[2].toggle(
                    t("sales_admin.active"),
                    value=reason.is_active,
                    key=f"{NS}__active_{reason.id}",
                    label_visibility="collapsed",
                ),
            }
        submitted = st.form_submit_button(t("sales_admin.save_reasons"), icon=":material/save:")
    if not submitted:
        return
    edits = [(r, diff) for r in reasons if (diff := changes(asdict(r), chosen[r.id]))]
    saved = 0
    for reason, diff in edits:
        try:
            update_reason(context.uow(), reason.id, diff)
        except DomainError as error:
            show_error(error, labels={f: f"{reason.label} – {text}" for f, text in reason_labels().items()})
            break
        saved += 1
    finish(saved, failed=saved < len(edits), message=t("sales_admin.reasons_saved", n=saved))


def new_reason_form(kind: Kind) -> None:
    form = f"{NS}__new_{kind}"
    with st.form(form):
        st.markdown(f"**{t('sales_admin.new_reason')}**")
        cols = st.columns([3, 1.4, 1], vertical_alignment="bottom")
        label = cols[0].text_input(t("sales_admin.reason_label"), max_chars=100, key=f"{form}__label")
        needs_text = cols[1].checkbox(
            t("sales_admin.needs_text"), key=f"{form}__needs_text", help=t("sales_admin.needs_text_help")
        )
        submitted = cols[2].form_submit_button(t("sales_admin.add_reason"), icon=":material/add:", width="stretch")
    if not submitted:
        return
    try:
        created = create_reason(context.uow(), {"kind": kind, "label": label.strip(), "needs_text": needs_text})
    except DomainError as error:
        show_error(error, labels=reason_labels())
        return
    for key in (f"{form}__label", f"{form}__needs_text"):
        del st.session_state[key]  # an empty form for the next reason
    queries.clear_reads()
    flash(t("sales_admin.reason_added", label=created.label))
    st.rerun()


def reasons_section(kind: Kind) -> None:
    st.caption(t("sales_admin.reasons_intro"))
    reasons = list_reasons(context.uow(), kind, include_inactive=True)
    if reasons:
        reasons_form(kind, reasons)
    else:
        st.info(t("sales_admin.no_reasons"), icon=":material/info:")
    new_reason_form(kind)


def win_on_order_form() -> None:
    current = get_win_on_order(context.uow())
    with st.form(f"{NS}__win_on_order"):
        chosen = st.toggle(t("sales_admin.win_on_order"), value=current, key=f"{NS}__win_on_order_value")
        st.caption(t("sales_admin.win_on_order_help"))
        submitted = st.form_submit_button(t("sales_admin.save_setting"), icon=":material/save:")
    if not submitted:
        return
    if chosen == current:
        flash(t("sales_admin.nothing_changed"))
        st.rerun()
    try:
        set_win_on_order(context.uow(), chosen)
    except DomainError as error:
        show_error(error, labels={"value": t("sales_admin.win_on_order")})
        return
    queries.clear_reads()
    flash(t("sales_admin.win_on_order_on" if chosen else "sales_admin.win_on_order_off"))
    st.rerun()


def letterhead_fields() -> list[FormField]:
    helps = {
        "managing_directors": t("sales_admin.lh_managing_directors_help"),
        "register_court": t("sales_admin.lh_register_court_help"),
    }
    return [
        FormField(name, t(f"sales_admin.lh_{name}"), required=required, help=helps.get(name))
        for name, required in LETTERHEAD_LAYOUT
    ]


@dataclass(frozen=True)
class SettingSaved:
    """What EditForm remembers of a save. A setting has no id or version; (0, 0) differs from the form's
    (None, None), so the next run reloads the stored values (trimmed, e-mail domain in lower case)."""

    id: int = 0
    version: int = 0


def save_letterhead(values: dict[str, Any], _expected_version: int | None, _reason: str | None) -> SettingSaved:
    set_company_letterhead(context.uow(), values)
    return SettingSaved()


def sample_quote(today: dt.date, seller: UserView | None) -> QuoteDocument:
    """A draft quote with two lines (19 % and 7 % VAT, one line discount) to preview the letterhead."""
    lines = tuple(
        QuoteDocumentLine(n, text, quantity, unit, price, discount, vat, line_net(quantity, price, discount))
        for n, (text, quantity, unit, price, vat, discount) in enumerate(SAMPLE_LINES, 1)
    )
    totals = quote_totals(PricedLine(x.quantity, x.unit_price, x.vat_rate, x.discount_percent) for x in lines)
    return QuoteDocument(
        number=f"AN-{today.year}-00000",
        status="entwurf",
        quote_date=today,
        valid_until=today + dt.timedelta(days=VALIDITY_DAYS),
        currency="EUR",
        recipient_name="Musterkunde GmbH",
        recipient_contact="Herr Max Mustermann",
        street="Musterstraße 1",
        postcode="12345",
        city="Musterstadt",
        country="DE",
        salutation="Sehr geehrter Herr Mustermann,",
        seller_name=seller.display_name if seller else None,
        seller_email=seller.email if seller else None,
        introduction=DEFAULT_INTRODUCTION,
        terms=DEFAULT_TERMS,
        lines=lines,
        lines_net=totals.lines_net,
        discount_percent=totals.discount_percent,
        discount=totals.discount,
        net=totals.net,
        taxes=tuple(TaxLine(rate.rate, rate.net, rate.vat) for rate in totals.per_rate),
        gross=totals.gross,
    )


def preview_download(letterhead: CompanyLetterhead) -> None:
    """The PDF is made only on click. The callable then runs outside the script (no session state), so it
    gets everything it needs now: the stored letterhead and the sample quote."""
    document = sample_quote(local_today(context.clock()()), context.current_user())
    st.download_button(
        t("sales_admin.preview_pdf"),
        data=partial(quote_pdf, document, company=letterhead),
        file_name="Angebot_Vorschau.pdf",
        mime="application/pdf",
        key=f"{NS}__preview_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        help=t("sales_admin.preview_help"),
    )


def letterhead_section() -> None:
    st.subheader(t("sales_admin.letterhead"))
    st.caption(t("sales_admin.letterhead_intro"))
    letterhead = company_letterhead(context.uow())
    EditForm(
        ns=LETTERHEAD_NS,
        fields=letterhead_fields(),
        save=save_letterhead,
        submit_label=t("sales_admin.save_letterhead"),
    ).render(record_id=None, version=None, values=letterhead.as_dict())
    preview_download(letterhead)


def documents_section() -> None:
    st.subheader(t("sales_admin.orders"))
    win_on_order_form()
    letterhead_section()


st.title(f":material/tune: {t('page.sales_settings')}")
st.caption(t("sales_admin.intro"))
pipelines = list_pipelines(context.uow())
tabs = st.tabs(
    [
        *(f"{t('sales_admin.stages')}: {p.name}" for p in pipelines),
        t("sales_admin.won_reasons"),
        t("sales_admin.lost_reasons"),
        t("sales_admin.documents"),
    ]
)
for tab, pipeline in zip(tabs, pipelines):
    with tab:
        stages_form(pipeline)
won_tab, lost_tab, documents_tab = tabs[-3:]
with won_tab:
    reasons_section("won")
with lost_tab:
    reasons_section("lost")
with documents_tab:
    documents_section()
