"""Saved list views: per user and page, overwrite by name, one default, validation, no access for others."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.apikeys import authenticate_api_key, create_api_key
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.permissions import SYSTEM, Actor, Role
from core.saved_views import MAX_VIEWS_PER_PAGE, delete_view, list_views, save_view, set_default
from core.uow import UnitOfWork
from db.models import AuditEntry, OutboxEvent
from tests.conftest import FrozenClock
from tests.factories.identity import make_user

PAGE = "opp_list"
STATE = {
    "search": "Fräs",
    "filters": {"status": ["open"], "close_from": "2026-12-01", "amount_min": 10000},
    "sort": "amount",
    "descending": True,
    "columns": ["name", "amount"],
}


@pytest.fixture
def rep(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.SALES_REP).actor()


@pytest.fixture
def colleague(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.VIEWER).actor()


def uow(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock | None = None) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock) if clock else UnitOfWork(factory, actor=actor)


def names(factory: sessionmaker[Session], actor: Actor, page: str = PAGE) -> list[tuple[str, bool]]:
    return [(v.name, v.is_default) for v in list_views(uow(factory, actor), page)]


def test_save_list_and_overwrite_by_name(factory: sessionmaker[Session], rep: Actor, clock: FrozenClock) -> None:
    first = save_view(uow(factory, rep, clock), page=PAGE, name="Große Deals", state=STATE)
    assert (first.name, first.state, first.is_default) == ("Große Deals", STATE, False)
    save_view(uow(factory, rep, clock), page=PAGE, name="Abschluss Dezember", state={"filters": {}})
    save_view(uow(factory, rep, clock), page="acc_list", name="Köln", state={"search": "Köln"})
    assert names(factory, rep) == [("Abschluss Dezember", False), ("Große Deals", False)]

    clock.advance(hours=1)
    changed = STATE | {"sort": "expected_close_date"}
    again = save_view(uow(factory, rep, clock), page=PAGE, name="Große Deals", state=changed)
    assert again.id == first.id, "same name overwrites"
    assert again.state["sort"] == "expected_close_date"
    assert again.updated_at == clock()
    assert [v.name for v in list_views(uow(factory, rep), "acc_list")] == ["Köln"]


def test_one_default_per_user_and_page(factory: sessionmaker[Session], rep: Actor, colleague: Actor) -> None:
    a = save_view(uow(factory, rep), page=PAGE, name="A", state={}, is_default=True)
    save_view(uow(factory, colleague), page=PAGE, name="Meine", state={}, is_default=True)
    b = save_view(uow(factory, rep), page=PAGE, name="B", state={}, is_default=True)
    assert names(factory, rep) == [("A", False), ("B", True)]
    set_default(uow(factory, rep), a.id)
    assert names(factory, rep) == [("A", True), ("B", False)]
    set_default(uow(factory, rep), a.id, is_default=False)
    assert names(factory, rep) == [("A", False), ("B", False)]
    assert names(factory, colleague) == [("Meine", True)], "another user's default is untouched"
    delete_view(uow(factory, rep), b.id)
    assert names(factory, rep) == [("A", False)]


def test_only_the_owner_sees_and_changes_a_view(
    factory: sessionmaker[Session], rep: Actor, colleague: Actor
) -> None:
    view = save_view(uow(factory, rep), page=PAGE, name="Privat", state=STATE)
    assert names(factory, colleague) == []
    with pytest.raises(PermissionDenied, match="eigenen Ansichten"):
        delete_view(uow(factory, colleague), view.id)
    with pytest.raises(PermissionDenied, match="eigenen Ansichten"):
        set_default(uow(factory, colleague), view.id)
    with pytest.raises(NotFound):
        delete_view(uow(factory, rep), view.id + 1000)
    # Saving the same name as a colleague creates the colleague's own view.
    save_view(uow(factory, colleague), page=PAGE, name="Privat", state={})
    assert [v.state for v in list_views(uow(factory, rep), PAGE)] == [STATE]


def test_api_keys_and_the_system_have_no_views(factory: sessionmaker[Session]) -> None:
    key = create_api_key(uow(factory, SYSTEM), name="ERP", scopes="saved_views.use,opportunities.read")
    with factory() as session:
        key_actor = authenticate_api_key(session, key.key, now=dt.datetime.now(dt.timezone.utc))
    for actor in (key_actor, SYSTEM):
        with pytest.raises(PermissionDenied, match="gehören zu einem Benutzer"):
            list_views(uow(factory, actor), PAGE)
        with pytest.raises(PermissionDenied, match="gehören zu einem Benutzer"):
            save_view(uow(factory, actor), page=PAGE, name="X", state={})
    without_scope = Actor(user_id=None, name="ERP", scopes=frozenset({"opportunities.read"}))
    with pytest.raises(PermissionDenied, match="Listenansichten"):
        list_views(uow(factory, without_scope), PAGE)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": ""}, "name", "Pflichtfeld"),
        ({"name": "x" * 101}, "name", "zu lang"),
        ({"page": "Opp List!"}, "page", "Kleinbuchstaben"),
        ({"state": {"colour": "blau"}}, "state", "unbekannte Einstellung(en): colour"),
        ({"state": {"filters": ["open"]}}, "state", "JSON-Objekt"),
        ({"state": {"filters": {"close_from": dt.date(2026, 1, 1)}}}, "state", "als JSON speichern"),
        ({"state": {"filters": {"amount_min": float("nan")}}}, "state", "als JSON speichern"),
        ({"state": {"search": "x" * 9000}}, "state", "zu groß"),
    ],
)
def test_bad_input_gets_a_german_message(
    factory: sessionmaker[Session], rep: Actor, values: dict[str, object], field: str, message: str
) -> None:
    data = {"page": PAGE, "name": "Ansicht", "state": {}} | values
    with pytest.raises(ValidationFailed) as error:
        save_view(uow(factory, rep), **data)  # type: ignore[arg-type]
    assert field in error.value.fields
    assert message in error.value.fields[field]


def test_views_per_page_are_limited(factory: sessionmaker[Session], rep: Actor) -> None:
    for n in range(MAX_VIEWS_PER_PAGE):
        save_view(uow(factory, rep), page=PAGE, name=f"Ansicht {n:02d}", state={})
    save_view(uow(factory, rep), page=PAGE, name="Ansicht 00", state={"search": "x"})  # overwriting is fine
    with pytest.raises(ValidationFailed, match="Höchstens 50 Ansichten"):
        save_view(uow(factory, rep), page=PAGE, name="Eine zu viel", state={})


def test_views_are_a_preference_not_audited_or_evented(factory: sessionmaker[Session], rep: Actor) -> None:
    def counts() -> tuple[int, int]:
        with factory() as session:
            return (
                session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                session.scalar(select(func.count()).select_from(OutboxEvent)) or 0,
            )

    before = counts()
    view = save_view(uow(factory, rep), page=PAGE, name="Still", state=STATE, is_default=True)
    set_default(uow(factory, rep), view.id, is_default=False)
    delete_view(uow(factory, rep), view.id)
    assert counts() == before
