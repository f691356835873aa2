"""Cached read wrappers: every page reads through here, every write clears them (`clear_reads`).

Each wrapper is keyed by the database URL and the acting user, so two users (or two test
databases) never see each other's cached results. Only plain data crosses the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.components import context
from core import accounts, apikeys, contacts, history, reports_basic, users
from core.accounts import AccountView
from core.contacts import ContactView
from core.ledger import Verification
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.uow import UnitOfWork

TTL_SECONDS = 60
MAX_ENTRIES = 200
_CACHED: list[Any] = []


def _cached(ttl: int = TTL_SECONDS) -> Callable[[Callable[..., Any]], Any]:
    def wrap(fn: Callable[..., Any]) -> Any:
        cached = st.cache_data(ttl=ttl, max_entries=MAX_ENTRIES, show_spinner=False)(fn)
        _CACHED.append(cached)
        return cached

    return wrap


def _uow(url: str, actor: Actor) -> UnitOfWork:
    return UnitOfWork(context.factory_for(url), actor=actor)


def clear_reads() -> None:
    """After any write: the next read of every wrapper goes to the database."""
    for cached in _CACHED:
        cached.clear()
    st.session_state["ui__data_generation"] = data_generation() + 1


def data_generation() -> int:
    """Bumped by every write; grids use it in their key so they redraw with fresh data."""
    return int(st.session_state.get("ui__data_generation", 0))


@_cached()
def _accounts_page(url: str, actor: Actor, query: ListQuery) -> Page:
    return accounts.list_accounts(_uow(url, actor), query)


@_cached()
def _contacts_page(url: str, actor: Actor, query: ListQuery) -> Page:
    return contacts.list_contacts(_uow(url, actor), query)


@_cached()
def _account(url: str, actor: Actor, account_id: int) -> AccountView:
    return accounts.get_account(_uow(url, actor), account_id)


@_cached()
def _contact(url: str, actor: Actor, contact_id: int) -> ContactView:
    return contacts.get_contact(_uow(url, actor), contact_id)


@_cached()
def _account_options(url: str, actor: Actor, search: str, ids: tuple[int, ...]) -> pd.DataFrame:
    return accounts.account_options(_uow(url, actor), search=search, ids=ids)


@_cached()
def _owner_options(url: str, actor: Actor) -> pd.DataFrame:
    return users.owner_options(_uow(url, actor))


@_cached()
def _teams(url: str, actor: Actor) -> pd.DataFrame:
    return users.list_teams(_uow(url, actor))


@_cached()
def _users(url: str, actor: Actor) -> pd.DataFrame:
    return users.list_users(_uow(url, actor))


@_cached()
def _api_keys(url: str, actor: Actor) -> pd.DataFrame:
    return apikeys.list_api_keys(_uow(url, actor))


@_cached()
def _figures(url: str, actor: Actor) -> reports_basic.MasterDataFigures:
    return reports_basic.master_data_figures(_uow(url, actor))


@_cached()
def _accounts_by(url: str, actor: Actor, dimension: reports_basic.Dimension, limit: int) -> pd.DataFrame:
    return reports_basic.accounts_by(_uow(url, actor), dimension, limit=limit)


@_cached(ttl=15)
def _audit_log(url: str, actor: Actor, entity: str | None, actor_name: str | None, since: Any, until: Any, limit: int) -> pd.DataFrame:
    return history.audit_log(_uow(url, actor), entity=entity, actor_name=actor_name, since=since, until=until, limit=limit)


@_cached(ttl=15)
def _audited_entities(url: str, actor: Actor) -> list[str]:
    return history.audited_entities(_uow(url, actor))


@_cached(ttl=300)
def _chain_status(url: str, actor: Actor) -> Verification:
    return history.check_audit_chain(_uow(url, actor))


@_cached(ttl=15)
def _events(url: str, actor: Actor, limit: int, name_prefix: str | None) -> pd.DataFrame:
    return history.recent_events(_uow(url, actor), limit=limit, name_prefix=name_prefix)


def _key() -> tuple[str, Actor]:
    return context.database_url(), context.current_actor()


def accounts_page(query: ListQuery) -> Page:
    return _accounts_page(*_key(), query)


def contacts_page(query: ListQuery) -> Page:
    return _contacts_page(*_key(), query)


def account(account_id: int) -> AccountView:
    return _account(*_key(), account_id)


def contact(contact_id: int) -> ContactView:
    return _contact(*_key(), contact_id)


def _account_labels(frame: pd.DataFrame) -> dict[int, str]:
    return {int(r.id): f"{r.name} ({r.city})" if r.city else str(r.name) for r in frame.itertuples()}


def account_search(term: str, current: int | None = None) -> dict[int, str]:
    """Up to 50 accounts matching `term`, plus the one currently chosen (for the company picker)."""
    found = _account_labels(_account_options(*_key(), term.strip(), ()))
    if current is not None and current not in found:
        return account_labels((current,)) | found
    return found


def account_labels(ids: tuple[int, ...]) -> dict[int, str]:
    return _account_labels(_account_options(*_key(), "", tuple(sorted(ids)))) if ids else {}


def owner_choices() -> dict[int, str]:
    return {int(r.id): str(r.display_name) for r in _owner_options(*_key()).itertuples()}


def team_choices() -> dict[int, str]:
    return {int(r.id): str(r.name) for r in _teams(*_key()).itertuples()}


def users_table() -> pd.DataFrame:
    return _users(*_key())


def api_keys_table() -> pd.DataFrame:
    return _api_keys(*_key())


def master_data_figures() -> reports_basic.MasterDataFigures:
    return _figures(*_key())


def accounts_by(dimension: reports_basic.Dimension, limit: int = 15) -> pd.DataFrame:
    return _accounts_by(*_key(), dimension, limit)


def audit_log(*, entity: str | None, actor_name: str | None, since: Any, until: Any, limit: int) -> pd.DataFrame:
    return _audit_log(*_key(), entity, actor_name, since, until, limit)


def audited_entities() -> list[str]:
    return _audited_entities(*_key())


def chain_status(*, fresh: bool = False) -> Verification:
    """The audit chain check; `fresh` skips the cache (the "Kette prüfen" button)."""
    if fresh:
        _chain_status.clear()
    return _chain_status(*_key())


def events(limit: int = 100, name_prefix: str | None = None) -> pd.DataFrame:
    return _events(*_key(), limit, name_prefix)
