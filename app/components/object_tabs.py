"""Plug-in point of the account (Kunden-Stamm) and contact object pages: extra tabs and header facets.

Later capabilities (opportunities, timeline, consent …) fill the pages' slots without editing them:
a module in `app/object_slots/` registers an `ObjectTab` (entity, title key, render function,
permission, order) or a `HeaderFacet` (e.g. "Offene Pipeline"). The pages merge the registered tabs
with their built-in ones by `order` (built-ins: Übersicht 10, Adressen 20, Kontakte 30,
Änderungsprotokoll 90) and show a facet only when its capability returns a value.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.components.feedback import show_error
from app.components.i18n import DE, t
from app.components.object_page import Facet, object_sections
from core.errors import DomainError
from core.permissions import PERMISSIONS, Actor

Entity = Literal["account", "contact"]
ENTITIES: tuple[Entity, ...] = ("account", "contact")


@dataclass(frozen=True)
class ObjectTab:
    """A tab on an object page; `render` receives the page's record view (AccountView/ContactView)."""

    entity: Entity
    key: str
    title_key: str
    render: Callable[[Any], None]
    permission: str | None = None
    order: int = 50

    def allowed(self, actor: Actor) -> bool:
        return self.permission is None or actor.can(self.permission)


@dataclass(frozen=True)
class HeaderFacet:
    """A key figure in the object page's header; `value` returns None when there is nothing to show."""

    entity: Entity
    key: str
    label_key: str
    value: Callable[[Any], str | None]
    permission: str | None = None
    order: int = 50

    def allowed(self, actor: Actor) -> bool:
        return self.permission is None or actor.can(self.permission)


OBJECT_TABS: list[ObjectTab] = []
HEADER_FACETS: list[HeaderFacet] = []


def _check(entity: str, key: str, text_key: str, permission: str | None, taken: Sequence[tuple[str, str]]) -> None:
    if entity not in ENTITIES:
        raise ValueError(f"object page slot {key!r}: unknown entity {entity!r} (allowed: {ENTITIES})")
    if (entity, key) in taken:
        raise ValueError(f"object page slot {entity}/{key} registered twice")
    if permission is not None and permission not in PERMISSIONS:
        raise ValueError(f"object page slot {entity}/{key} needs unknown permission {permission!r}")
    if text_key not in DE:
        raise ValueError(f"object page slot {entity}/{key}: text {text_key!r} missing in the catalogue")


def register_object_tab(tab: ObjectTab) -> ObjectTab:
    _check(tab.entity, tab.key, tab.title_key, tab.permission, [(x.entity, x.key) for x in OBJECT_TABS])
    OBJECT_TABS.append(tab)
    return tab


def register_header_facet(facet: HeaderFacet) -> HeaderFacet:
    _check(facet.entity, facet.key, facet.label_key, facet.permission, [(x.entity, x.key) for x in HEADER_FACETS])
    HEADER_FACETS.append(facet)
    return facet


def tabs_for(entity: Entity, actor: Actor, builtins: Sequence[ObjectTab]) -> list[ObjectTab]:
    """Built-in and registered tabs the actor may see, by `order` (built-ins first on a tie)."""
    registered = [tab for tab in OBJECT_TABS if tab.entity == entity]
    return sorted((tab for tab in (*builtins, *registered) if tab.allowed(actor)), key=lambda tab: tab.order)


def facets_for(entity: Entity, actor: Actor, record: Any) -> list[Facet]:
    """Registered facets with a value for this record, by `order`."""
    facets = []
    for facet in sorted((f for f in HEADER_FACETS if f.entity == entity and f.allowed(actor)), key=lambda f: f.order):
        value = facet.value(record)
        if value is not None:
            facets.append(Facet(t(facet.label_key), value))
    return facets


def render_object_tabs(ns: str, entity: Entity, actor: Actor, record: Any, builtins: Sequence[ObjectTab]) -> None:
    """The page's tabs; a domain error inside one tab is shown there and leaves the others intact."""
    tabs = tabs_for(entity, actor, builtins)
    for container, tab in zip(object_sections(ns, [t(tab.title_key) for tab in tabs]), tabs):
        with container:
            try:
                tab.render(record)
            except DomainError as exc:
                show_error(exc)


def _load_slot_modules() -> None:
    import app.object_slots

    for info in pkgutil.iter_modules(app.object_slots.__path__):
        importlib.import_module(f"app.object_slots.{info.name}")


_load_slot_modules()
