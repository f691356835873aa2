"""Saved list views: a user's named filter/search/sort/column settings for one list page.

A view belongs to exactly one user (the acting user); nobody else sees or changes it, and an API key
without a user has no views. Views are a UI preference, so they are not audited field by field and
emit no events; every call still runs in its own unit of work behind the `saved_views.use` permission.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import select, update

from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.permissions import Role, Scope, register_permission
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import SavedView

register_permission("saved_views.use", "Eigene Listenansichten speichern", {role: Scope.ALL for role in Role})

PAGE_ID = re.compile(r"[a-z0-9_\-]+")
STATE_KEYS = frozenset({"search", "filters", "sort", "descending", "columns", "page_size"})
MAX_STATE_BYTES = 8_000
MAX_VIEWS_PER_PAGE = 50


@dataclass(frozen=True)
class SavedViewInfo:
    id: int
    page: str
    name: str
    state: dict[str, Any]
    is_default: bool
    version: int
    updated_at: dt.datetime


class SavedViewInput(InputModel):
    page: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=100)
    state: dict[str, Any]
    is_default: bool = False

    @field_validator("name", mode="before")
    @classmethod
    def _name_given(cls, name: Any) -> Any:
        if name is None:
            raise ValueError("Pflichtfeld: bitte einen Namen für die Ansicht angeben")
        return name

    @field_validator("page")
    @classmethod
    def _page_id(cls, page: str) -> str:
        if not PAGE_ID.fullmatch(page):
            raise ValueError("nur Kleinbuchstaben, Ziffern, _ und -")
        return page

    @field_validator("state")
    @classmethod
    def _small_json_object(cls, state: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(state) - STATE_KEYS)
        if unknown:
            raise ValueError(f"unbekannte Einstellung(en): {', '.join(map(str, unknown))}")
        if "filters" in state and not isinstance(state["filters"], dict):
            raise ValueError("Filter müssen ein JSON-Objekt sein")
        try:
            text = json.dumps(state, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError):
            raise ValueError("lässt sich nicht als JSON speichern (nur Text, Zahlen, Listen und ja/nein)") from None
        if len(text.encode()) > MAX_STATE_BYTES:
            raise ValueError(f"zu groß (höchstens {MAX_STATE_BYTES} Byte)")
        return state


def _info(view: SavedView) -> SavedViewInfo:
    return SavedViewInfo(
        view.id, view.page, view.name, dict(view.state), view.is_default, view.version, view.updated_at
    )


def _user_id(uow: UnitOfWork) -> int:
    """The acting user; views belong to a person, so keys and jobs without one are refused."""
    uow.authorize("saved_views.use")
    if uow.actor.user_id is None:
        raise PermissionDenied(
            "Gespeicherte Ansichten gehören zu einem Benutzer; dieser Zugang (API-Schlüssel oder System) hat keinen."
        )
    return uow.actor.user_id


def _own(uow: UnitOfWork, user_id: int, view_id: int) -> SavedView:
    view = uow.session.get(SavedView, view_id)
    if view is None:
        raise NotFound(f"Ansicht {view_id} gibt es nicht.")
    if view.user_id != user_id:
        raise PermissionDenied("Sie können nur Ihre eigenen Ansichten ändern.")
    return view


def _clear_default(uow: UnitOfWork, user_id: int, page: str, keep_id: int) -> None:
    uow.session.execute(
        update(SavedView)
        .where(
            SavedView.user_id == user_id,
            SavedView.page == page,
            SavedView.is_default.is_(True),
            SavedView.id != keep_id,
        )
        .values(is_default=False, updated_at=uow.now, version=SavedView.version + 1)
        .execution_options(synchronize_session="fetch")
    )


def list_views(uow: UnitOfWork, page: str) -> list[SavedViewInfo]:
    """The acting user's views of `page`, by name."""
    with uow:
        user_id = _user_id(uow)
        stmt = (
            select(SavedView)
            .where(SavedView.user_id == user_id, SavedView.page == page)
            .order_by(SavedView.name, SavedView.id)
        )
        return [_info(v) for v in uow.session.scalars(stmt)]


def save_view(
    uow: UnitOfWork, *, page: str, name: str, state: dict[str, Any], is_default: bool = False
) -> SavedViewInfo:
    """Save the current settings under `name`; an existing view of that name is overwritten
    (the UI asks first). A default view replaces the user's previous default of the page."""
    data = parse(SavedViewInput, {"page": page, "name": name, "state": state, "is_default": is_default})
    with uow:
        user_id = _user_id(uow)
        mine = select(SavedView).where(SavedView.user_id == user_id, SavedView.page == data.page)
        view = uow.session.scalar(mine.where(SavedView.name == data.name))
        if view is None:
            if len(uow.session.scalars(mine).all()) >= MAX_VIEWS_PER_PAGE:
                message = f"Höchstens {MAX_VIEWS_PER_PAGE} Ansichten je Liste; bitte zuerst eine löschen."
                raise ValidationFailed({"name": message})
            view = SavedView(user_id=user_id, page=data.page, name=data.name, created_at=uow.now, version=1)
            uow.session.add(view)
        view.state = data.state
        view.is_default = data.is_default
        view.updated_at = uow.now
        uow.session.flush()
        if data.is_default:
            _clear_default(uow, user_id, data.page, view.id)
        info = _info(view)
        uow.commit()
        return info


def delete_view(uow: UnitOfWork, view_id: int) -> None:
    with uow:
        view = _own(uow, _user_id(uow), view_id)
        uow.session.delete(view)
        uow.commit()


def set_default(uow: UnitOfWork, view_id: int, *, is_default: bool = True) -> SavedViewInfo:
    """Make a view the one the page opens with (or stop it being the default)."""
    with uow:
        user_id = _user_id(uow)
        view = _own(uow, user_id, view_id)
        view.is_default = is_default
        view.updated_at = uow.now
        uow.session.flush()
        if is_default:
            _clear_default(uow, user_id, view.page, view.id)
        info = _info(view)
        uow.commit()
        return info
