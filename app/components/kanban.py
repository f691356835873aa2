"""Kanban board: lanes side by side, cards in them, moved by drag and drop or by buttons.

Lanes and cards are ordinary Streamlit containers (keyed `<ns>__lane-<id>` / `<ns>__card-<id>`, which
Streamlit exposes as CSS classes `st-key-…`). A small script-only component (`st.components.v2`, no
iframe) makes the cards draggable and reports a drop as `{card, lane}`; Streamlit renders everything
else. Every card also has buttons — ← / → to the neighbouring lane and a "Verschieben" popover with
every lane — so keyboard users (and AppTest) move cards without a mouse.

A move never changes data here: `on_move(card_id, lane_id)` runs as a widget callback before the next
script run; the page decides (move at once, or ask for a reason in a dialog first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import streamlit as st

from app.components.i18n import t

OnMove = Callable[[int, int], None]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")

_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const doc = parentElement.ownerDocument || document;
  const cardPrefix = `st-key-${data.ns}__card-`;
  const lanePrefix = `st-key-${data.ns}__lane-`;
  const keyed = (el, prefix) => {
    for (; el && el !== doc.body; el = el.parentElement) {
      const name = el.classList ? [...el.classList].find((c) => c.startsWith(prefix)) : undefined;
      if (name) return { el, id: Number(name.slice(prefix.length)) };
    }
    return null;
  };
  const background = getComputedStyle(doc.querySelector(".stApp") || doc.body).backgroundColor;
  doc.documentElement.style.setProperty("--kanban-card-background", background);
  const mark = () => {
    doc.querySelectorAll(`[class*="${cardPrefix}"]`).forEach((card) => {
      if (card.draggable) return;
      card.draggable = true;
      card.classList.add("kanban-card");
      card.querySelectorAll("a, img").forEach((inner) => { inner.draggable = false; });
    });
  };
  let dragged = null;
  let over = null;
  const leave = () => { if (over) over.classList.remove("kanban-over"); over = null; };
  const onDragStart = (event) => {
    const card = keyed(event.target, cardPrefix);
    if (!card) return;
    const lane = keyed(card.el.parentElement, lanePrefix);
    dragged = { card: card.id, lane: lane ? lane.id : null, el: card.el };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", String(card.id));
    card.el.classList.add("kanban-dragging");
  };
  const onDragOver = (event) => {
    const lane = dragged && keyed(event.target, lanePrefix);
    if (!lane) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (over !== lane.el) { leave(); over = lane.el; over.classList.add("kanban-over"); }
  };
  const onDrop = (event) => {
    const lane = dragged && keyed(event.target, lanePrefix);
    if (!lane) return;
    event.preventDefault();
    if (lane.id !== dragged.lane) {
      dragged.el.classList.add("kanban-moving");
      setTriggerValue("move", { card: dragged.card, lane: lane.id, at: Date.now() });
    }
    leave();
  };
  const onDragEnd = () => {
    if (dragged) dragged.el.classList.remove("kanban-dragging");
    dragged = null;
    leave();
  };
  const listeners = [["dragstart", onDragStart], ["dragover", onDragOver], ["drop", onDrop], ["dragend", onDragEnd]];
  listeners.forEach(([name, fn]) => doc.addEventListener(name, fn));
  mark();
  const observer = new MutationObserver(mark);
  observer.observe(doc.body, { childList: true, subtree: true });
  return () => {
    observer.disconnect();
    listeners.forEach(([name, fn]) => doc.removeEventListener(name, fn));
  };
}
"""

_CSS = """
.kanban-card { cursor: grab; }
.kanban-card.kanban-dragging { opacity: 0.4; }
.kanban-card.kanban-moving { opacity: 0.6; pointer-events: none; }
.kanban-over { outline: 2px dashed rgba(128, 128, 128, 0.8); outline-offset: 3px;
  background-color: rgba(128, 128, 128, 0.08); }
"""

_drag_and_drop = st.components.v2.component("crm_kanban_drag_and_drop", js=_JS, css=_CSS, isolate_styles=False)


def md_text(text: str) -> str:
    """Plain text for a markdown label (names such as „A*B [GmbH]“ show as typed)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class MoreLink:
    """The "Mehr …" link under a lane, to a page that shows everything (e.g. the list filtered to the lane)."""

    label: str
    page: str
    query_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lane:
    id: int
    title: str
    badge: str = ""  # next to the title, e.g. the number of cards
    badge_color: str = "gray"
    header: str = ""  # markdown below the title: sums
    stepwise: bool = True  # reachable with ← / → (e.g. not "Verloren")
    empty_text: str = ""
    more: MoreLink | None = None


@dataclass(frozen=True)
class Card:
    id: int
    lane_id: int
    title: str
    body: str  # markdown
    page: str  # the title links here, with ?id=<card id>
    movable: bool = True


@dataclass
class KanbanBoard:
    ns: str
    lanes: Sequence[Lane]
    cards: Sequence[Card]
    on_move: OnMove
    lane_height: int | None = None  # px; lanes scroll beyond it (None: as tall as their cards)

    def _k(self, name: str) -> str:
        return f"{self.ns}__{name}"

    @property
    def _dnd_key(self) -> str:
        return f"{self.ns}-drag-and-drop"  # a component key must not contain "__"

    # Moves (widget callbacks) -------------------------------------------------------------------
    def _dropped(self) -> None:
        drop = st.session_state.get(self._dnd_key, {}).get("move") or {}
        card = next((c for c in self.cards if c.id == drop.get("card")), None)
        lane_ids = {lane.id for lane in self.lanes}
        if card and card.movable and drop.get("lane") in lane_ids and drop["lane"] != card.lane_id:
            self.on_move(card.id, int(drop["lane"]))

    def _picked(self, key: str, card_id: int) -> None:
        lane_id = st.session_state.get(key)
        st.session_state[key] = None  # the popover offers every lane again next time
        if lane_id is not None:
            self.on_move(card_id, int(lane_id))

    # Rendering -----------------------------------------------------------------------------------
    def _neighbours(self, lane: Lane) -> tuple[Lane | None, Lane | None]:
        if not lane.stepwise:
            return None, None
        steps = [other for other in self.lanes if other.stepwise]
        i = steps.index(lane)
        return (steps[i - 1] if i > 0 else None), (steps[i + 1] if i + 1 < len(steps) else None)

    def _style(self) -> str:
        """Page-scoped layout: tinted lanes, compact cards, titles that wrap, the page's full width."""
        lane = f'[class*="st-key-{self.ns}__lane-"]'
        card = f':is([class*="st-key-{self.ns}__card-"], [class*="st-key-{self.ns}__fixed-"])'
        return f"""<style>
[data-testid="stMainBlockContainer"] {{ padding-left: 2rem; padding-right: 2rem; }}
{lane} {{ background-color: rgba(128, 128, 128, 0.08); border-radius: 0.6rem; padding: 0.6rem 0.4rem 0.5rem; }}
{card} {{ background-color: var(--kanban-card-background, transparent); padding: 0.45rem 0.55rem !important;
  gap: 0.1rem !important; }}
{card} [data-testid="stMarkdownContainer"] p {{ font-size: 0.8rem; line-height: 1.45; }}
{card} [data-testid="stPageLink"] a {{ padding: 0; }}
{lane} [data-testid="stPageLink"] p, {lane} [data-testid="stPageLink"] span {{ white-space: normal;
  overflow: visible; line-height: 1.3; }}
{card} [data-testid="stPageLink"] p {{ font-size: 0.87rem; }}
{card} [data-testid="stMarkdownContainer"] span {{ white-space: normal; }}
{card} button {{ min-height: 1.6rem; padding: 0 0.25rem; }}
</style>"""

    def _card(self, card: Card, lane: Lane) -> None:
        key = self._k(f"card-{card.id}" if card.movable else f"fixed-{card.id}")
        with st.container(border=True, key=key, gap="xxsmall"):
            st.page_link(card.page, label=f"**{md_text(card.title)}**", query_params={"id": str(card.id)})
            st.markdown(card.body)
            if card.movable:
                self._controls(card, lane)

    def _controls(self, card: Card, lane: Lane) -> None:
        """← / → to the neighbouring lanes (not in a lane outside the sequence) and the popover with every lane."""
        back, forward = self._neighbours(lane)
        with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center", gap=None):
            if lane.stepwise:
                self._step_button(card, back, "back", ":material/arrow_back:")
            with st.popover("", icon=":material/swap_horiz:", help=t("kanban.move"), type="tertiary"):
                targets = {other.id: other.title for other in self.lanes if other.id != lane.id}
                pick_key = self._k(f"to-{card.id}")
                st.pills(
                    t("kanban.move_to"),
                    list(targets),
                    format_func=targets.get,
                    key=pick_key,
                    on_change=self._picked,
                    args=(pick_key, card.id),
                )
            if lane.stepwise:
                self._step_button(card, forward, "forward", ":material/arrow_forward:")

    def _step_button(self, card: Card, target: Lane | None, direction: str, icon: str) -> None:
        st.button(
            "",
            key=self._k(f"{direction}-{card.id}"),
            icon=icon,
            help=t(f"kanban.{direction}", stage=target.title) if target else None,
            disabled=target is None,
            on_click=self.on_move,
            args=(card.id, target.id) if target else None,
            type="tertiary",
        )

    def _lane(self, lane: Lane, cards: Sequence[Card]) -> None:
        with st.container(key=self._k(f"lane-{lane.id}"), gap="small"):
            badge = f" :{lane.badge_color}-badge[{md_text(lane.badge)}]" if lane.badge else ""
            st.markdown(f"**{md_text(lane.title)}**{badge}")
            if lane.header:
                st.caption(lane.header)
            with st.container(height=self.lane_height or "content", border=False, gap="small"):
                for card in cards:
                    self._card(card, lane)
                if not cards and lane.empty_text:
                    st.caption(lane.empty_text)
            if lane.more:
                st.page_link(
                    lane.more.page,
                    label=lane.more.label,
                    icon=":material/list:",
                    query_params=dict(lane.more.query_params),
                )

    def render(self) -> None:
        st.html(self._style())
        if any(card.movable for card in self.cards):
            _drag_and_drop(key=self._dnd_key, data={"ns": self.ns}, height=0, on_move_change=self._dropped)
        by_lane: dict[int, list[Card]] = {lane.id: [] for lane in self.lanes}
        for card in self.cards:
            by_lane.setdefault(card.lane_id, []).append(card)
        for column, lane in zip(st.columns(len(self.lanes), gap="small"), self.lanes):
            with column:
                self._lane(lane, by_lane[lane.id])
