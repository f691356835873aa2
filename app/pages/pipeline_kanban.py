"""Pipeline (Kanban): the deals of one pipeline as cards in their stages, moved by drag and drop or buttons.

Every move goes through `core.sales.opportunities.move_stage` with the version the card showed. A move to
Gewonnen or Verloren first asks for the reason in a dialog (Verloren: required).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.components import context, queries
from app.components.feedback import flash, show_error
from app.components.i18n import current_lang, t
from app.components.kanban import Card, KanbanBoard, Lane, MoreLink, OnMove, md_text
from app.components.links import OPPORTUNITY_PAGE
from app.components.opportunity_form import label, reason_inputs
from core.errors import DomainError, PermissionDenied, ValidationFailed
from core.formatting import fmt_date, fmt_money
from core.permissions import Scope, authorize
from core.sales.board import BoardCard, BoardColumn, BoardView, MoneyTotal
from core.sales.opportunities import move_stage
from core.sales.pipelines import StageView

NS = "pipeline_kanban"
PENDING = f"{NS}__pending"  # the move waiting for a reason (dialog) or for the next run
NOTICE = f"{NS}__notice"  # an error of a move, shown above the board after the rerun
CARDS_PER_LANE = 20
CLOSED_DAYS = (7, 30, 90, 365)
LIST_PAGE = "pages/opportunities_liste.py"

actor = context.current_actor()
lang = current_lang()


@dataclass(frozen=True)
class PendingMove:
    card: BoardCard
    stage: StageView


def money(amount: object, currency: str) -> str:
    return fmt_money(amount, lang, currency)  # type: ignore[arg-type]


def may_move(owner_id: int | None) -> bool:
    try:
        authorize(actor, "opportunities.write", owner_id=owner_id, check_owner=True)
    except PermissionDenied:
        return False
    return True


# Moving --------------------------------------------------------------------------------------------
def requester(view: BoardView) -> OnMove:
    """The board's `on_move`: remember the card (with the version it showed) and the target stage."""

    def request(card_id: int, stage_id: int) -> None:
        card = view.card(card_id)
        if card is not None:
            st.session_state[PENDING] = PendingMove(card, view.pipeline.stage(stage_id))

    return request


def move(pending: PendingMove, *, reason_id: int | None = None, reason_text: str | None = None) -> None:
    """The move through the service; any outcome changes what the board shows, so the reads are cleared."""
    try:
        move_stage(
            context.uow(),
            pending.card.id,
            stage_id=pending.stage.id,
            expected_version=pending.card.version,
            reason_id=reason_id,
            reason_text=reason_text,
        )
    finally:
        queries.clear_reads()


def run_pending() -> None:
    """A move to an open stage happens at once; Gewonnen/Verloren ask for the reason first."""
    pending: PendingMove | None = st.session_state.get(PENDING)
    if pending is None:
        return
    if not pending.stage.is_open:
        closing_dialog(pending)
        return
    del st.session_state[PENDING]
    try:
        move(pending)
    except DomainError as error:
        st.session_state[NOTICE] = error
    else:
        st.toast(t("kanban.moved", name=pending.card.name, stage=pending.stage.name), icon=":material/check_circle:")


def closing_dialog(pending: PendingMove) -> None:
    card, kind = pending.card, pending.stage.kind

    def dismiss() -> None:
        st.session_state.pop(PENDING, None)

    @st.dialog(t(f"kanban.{kind}_title"), on_dismiss=dismiss)
    def _dialog() -> None:
        st.markdown(
            t(
                f"kanban.{kind}_text",
                name=md_text(card.name),
                account=md_text(card.account_name),
                amount=money(card.amount, card.currency),
            )
        )
        reason_id, reason_text = reason_inputs(f"{NS}__close_{card.id}", kind)
        confirm_col, cancel_col = st.columns(2)
        if confirm_col.button(
            t(f"kanban.confirm_{kind}"),
            key=f"{NS}__confirm",
            type="primary",
            icon=":material/thumb_up:" if kind == "won" else ":material/thumb_down:",
            width="stretch",
        ):
            try:
                move(pending, reason_id=reason_id, reason_text=reason_text)
            except ValidationFailed as error:
                show_error(
                    error, labels={f: label(f) for f in ("won_reason_id", "lost_reason_id", "close_reason_text")}
                )
                return
            except DomainError as error:
                st.session_state[NOTICE] = error
            else:
                flash(t("kanban.moved", name=card.name, stage=pending.stage.name))
            dismiss()
            st.rerun()
        if cancel_col.button(t("common.cancel"), key=f"{NS}__cancel", width="stretch"):
            dismiss()
            st.rerun()

    _dialog()


# Showing -------------------------------------------------------------------------------------------
def totals_text(totals: tuple[MoneyTotal, ...], stage: StageView) -> str:
    """One line per currency; open stages add the weighted amount on the next line."""
    lines = []
    for total in totals:
        lines.append(f"**{money(total.amount, total.currency)}**")
        if stage.is_open:
            lines.append(t("kanban.weighted", amount=money(total.weighted, total.currency)))
    return "  \n".join(lines)


def lane_of(column: BoardColumn, view: BoardView) -> Lane:
    stage = column.stage
    header = totals_text(column.totals, stage)
    if not stage.is_open:
        header = "  \n".join(filter(None, [header, t("kanban.closed_since", date=fmt_date(view.closed_since, lang))]))
    more = None
    if column.hidden:
        more = MoreLink(
            t("kanban.more", n=column.hidden),
            LIST_PAGE,
            {"pipeline_id": str(view.pipeline.id), "stage_id": str(stage.id)},
        )
    return Lane(
        id=stage.id,
        title=stage.name,
        badge=str(column.count),
        badge_color={"won": "green", "lost": "red"}.get(stage.kind, "gray"),
        header=header,
        stepwise=stage.kind != "lost",
        empty_text=t("kanban.lane_empty"),
        more=more,
    )


def card_body(card: BoardCard, stage: StageView) -> str:
    amount = f"**{money(card.amount, card.currency)}**"
    lines = [f":gray[{md_text(card.account_name)}]", f"{amount} · {card.probability} %" if stage.is_open else amount]
    owner = f" · :material/person: {md_text(card.owner_initials)}" if card.owner_initials else ""
    if not stage.is_open:
        lines.append(f":material/event_available: {fmt_date(card.closed_date, lang)}{owner}")
    elif card.expected_close_date is None:
        lines.append(f":material/event: {t('kanban.no_close_date')}{owner}")
    elif card.is_overdue:
        lines.append(f":red[:material/event_busy: {fmt_date(card.expected_close_date, lang)}]{owner}")
        lines.append(f":red-badge[{t('kanban.overdue')}]")
    else:
        lines.append(f":material/event: {fmt_date(card.expected_close_date, lang)}{owner}")
    if stage.is_open:
        days = card.days_in_stage
        text = t("kanban.days_in_stage_one") if days == 1 else t("kanban.days_in_stage", n=days)
        lines.append(f":material/hourglass_empty: {text}")
    if card.is_stale:
        lines.append(f":orange-badge[:material/schedule: {t('kanban.stale', n=card.days_unchanged)}]")
    return "  \n".join(lines)


def summary(view: BoardView) -> str:
    open_columns = [c for c in view.columns if c.stage.is_open]
    by_currency: dict[str, list[MoneyTotal]] = {}
    for column in open_columns:
        for total in column.totals:
            by_currency.setdefault(total.currency, []).append(total)
    amounts = " · ".join(
        t(
            "kanban.summary_amount",
            amount=money(sum(x.amount for x in totals), currency),
            weighted=money(sum(x.weighted for x in totals), currency),
        )
        for currency, totals in by_currency.items()
    )
    return t("kanban.summary", count=sum(c.count for c in open_columns), amounts=amounts or money(0, "EUR"))


def filters() -> dict[str, object]:
    pipelines = queries.pipelines()
    if not pipelines:
        st.info(t("kanban.no_pipeline"), icon=":material/info:")
        st.stop()
    names = {p.id: p.name for p in pipelines}
    default = next((i for i, p in enumerate(pipelines) if p.is_default), 0)
    # Labels computed now: a format_func may run outside the script run, where the language is unknown.
    owners: dict[int | None, str] = {None: t("kanban.all"), **queries.owner_choices()}
    teams: dict[int | None, str] = {None: t("kanban.all"), **queries.team_choices()}
    days = {n: t("kanban.days", n=n) for n in CLOSED_DAYS}
    cols = st.columns([1.2, 1.2, 1, 1.8, 1.1], vertical_alignment="bottom")
    pipeline_id = cols[0].selectbox(
        t("kanban.pipeline"), list(names), index=default, format_func=names.get, key=f"{NS}__pipeline"
    )
    owner_id = cols[1].selectbox(
        t("kanban.owner"),
        list(owners),
        format_func=owners.get,
        key=f"{NS}__owner",
    )
    team_id = cols[2].selectbox(
        t("kanban.team"),
        list(teams),
        format_func=teams.get,
        key=f"{NS}__team",
    )
    search = cols[3].text_input(
        t("kanban.search"), key=f"{NS}__search", placeholder=t("kanban.search_placeholder"), icon=":material/search:"
    )
    closed_days = cols[4].selectbox(
        t("kanban.closed_days"),
        CLOSED_DAYS,
        index=CLOSED_DAYS.index(30),
        format_func=days.get,
        key=f"{NS}__closed_days",
    )
    return {
        "pipeline_id": pipeline_id,
        "owner_id": owner_id,
        "team_id": team_id,
        "search": search.strip() or None,
        "include_closed_days": closed_days,
    }


# Page ----------------------------------------------------------------------------------------------
st.title(f":material/view_kanban: {t('page.pipeline_kanban')}")
chosen = filters()
run_pending()
notice: DomainError | None = st.session_state.pop(NOTICE, None)
if notice is not None:
    show_error(notice)
    st.caption(t("kanban.reloaded"))
try:
    view = queries.pipeline_board(**chosen, cards_per_stage=CARDS_PER_LANE)  # type: ignore[arg-type]
except DomainError as error:
    show_error(error)
    st.stop()

cards = [
    Card(
        id=card.id,
        lane_id=column.stage.id,
        title=card.name,
        body=card_body(card, column.stage),
        page=OPPORTUNITY_PAGE,
        movable=may_move(card.owner_id),
    )
    for column in view.columns
    for card in column.cards
]
scope = actor.scope_for("opportunities.write")
hints = {None: ["kanban.hint_read"], Scope.OWN: ["kanban.hint_drag", "kanban.hint_own"]}.get(
    scope, ["kanban.hint_drag"]
)
st.caption("  \n".join([summary(view), *map(t, hints)]))
KanbanBoard(
    ns=NS,
    lanes=[lane_of(column, view) for column in view.columns],
    cards=cards,
    on_move=requester(view),
    lane_height=760 if any(len(c.cards) > 4 for c in view.columns) else None,
).render()
