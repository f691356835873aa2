"""Cached read wrappers: every page reads through here, every write clears them (`clear_reads`).

Each wrapper is keyed by the database URL and the acting user, so two users (or two test
databases) never see each other's cached results. Only plain data crosses the cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from app.components import context
from core import accounts, apikeys, contacts, history, reports_basic, saved_views, users
from core.accounts import AccountView
from core.addresses import ChangeLog
from core.contacts import ContactView
from core.gdpr import discovery as gdpr_discovery
from core.gdpr import requests as gdpr_requests_service
from core.ledger import Verification
from core.listing import ListQuery, Page
from core.permissions import Actor
from core.sales import board as sales_board
from core.sales import contact_roles as sales_contact_roles
from core.sales import forecast as sales_forecast
from core.sales import funnel as sales_funnel
from core.sales import history as sales_history
from core.sales import opportunities as sales_opportunities
from core.sales import pipelines as sales_pipelines
from core.sales import related as sales_related
from core.uow import UnitOfWork

if TYPE_CHECKING:
    from core.gdpr.documents import DocumentView

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


# --- sales: opportunities (list, detail, account/contact pages) and saved list views -------------------
@_cached()
def _opportunities_page(url: str, actor: Actor, query: ListQuery) -> Page:
    return sales_opportunities.list_opportunities(_uow(url, actor), query)


@_cached()
def _opportunity(url: str, actor: Actor, opportunity_id: int) -> sales_opportunities.OpportunityView:
    return sales_opportunities.get_opportunity(_uow(url, actor), opportunity_id)


@_cached(ttl=300)
def _pipelines(url: str, actor: Actor) -> list[sales_pipelines.PipelineView]:
    return sales_pipelines.list_pipelines(_uow(url, actor))


@_cached(ttl=300)
def _deal_reasons(url: str, actor: Actor, kind: str) -> list[sales_pipelines.ReasonView]:
    return sales_pipelines.list_reasons(_uow(url, actor), kind)  # type: ignore[arg-type]


@_cached()
def _opportunity_contacts(url: str, actor: Actor, opportunity_id: int) -> list[sales_contact_roles.ContactRoleView]:
    return sales_contact_roles.contact_roles(_uow(url, actor), opportunity_id)


@_cached()
def _stage_history(url: str, actor: Actor, opportunity_id: int) -> pd.DataFrame:
    return sales_history.stage_history(_uow(url, actor), opportunity_id)


@_cached(ttl=15)
def _opportunity_change_log(url: str, actor: Actor, opportunity_id: int) -> ChangeLog:
    return sales_related.opportunity_change_log(_uow(url, actor), opportunity_id)


@_cached()
def _contact_opportunities(url: str, actor: Actor, contact_id: int) -> pd.DataFrame:
    return sales_related.contact_opportunities(_uow(url, actor), contact_id)


@_cached()
def _account_open_pipeline(url: str, actor: Actor, account_id: int) -> dict[str, Decimal]:
    return sales_related.account_open_pipeline(_uow(url, actor), account_id)


@_cached()
def _saved_views(url: str, actor: Actor, page: str) -> list[saved_views.SavedViewInfo]:
    return saved_views.list_views(_uow(url, actor), page)


def opportunities_page(query: ListQuery) -> Page:
    return _opportunities_page(*_key(), query)


def opportunity(opportunity_id: int) -> sales_opportunities.OpportunityView:
    return _opportunity(*_key(), opportunity_id)


def pipelines() -> list[sales_pipelines.PipelineView]:
    return _pipelines(*_key())


def deal_reasons(kind: str) -> list[sales_pipelines.ReasonView]:
    return _deal_reasons(*_key(), kind)


def opportunity_contacts(opportunity_id: int) -> list[sales_contact_roles.ContactRoleView]:
    return _opportunity_contacts(*_key(), opportunity_id)


def stage_history(opportunity_id: int) -> pd.DataFrame:
    return _stage_history(*_key(), opportunity_id)


def opportunity_change_log(opportunity_id: int) -> ChangeLog:
    return _opportunity_change_log(*_key(), opportunity_id)


def contact_opportunities(contact_id: int) -> pd.DataFrame:
    return _contact_opportunities(*_key(), contact_id)


def account_open_pipeline(account_id: int) -> dict[str, Decimal]:
    return _account_open_pipeline(*_key(), account_id)


def contact_search(term: str, account_id: int | None = None) -> dict[int, str]:
    """Up to 50 contacts matching `term` (name, e-mail, company), searched in SQL; without a term the
    contacts of `account_id` (e.g. the deal's company)."""
    filters = {"account_id": account_id} if account_id is not None and not term.strip() else {}
    page = contacts_page(ListQuery(search=term.strip() or None, filters=filters, sort="last_name", page_size=50))
    return {
        int(r.id): f"{r.first_name} {r.last_name}" + (f" · {r.account_name}" if isinstance(r.account_name, str) else "")
        for r in page.rows.itertuples()
    }


def saved_views_of(page: str) -> list[saved_views.SavedViewInfo]:
    return _saved_views(*_key(), page)


# --- sales: the pipeline board (pipeline_kanban.py) ----------------------------------------------------
@_cached(ttl=30)
def _sales_board(
    url: str,
    actor: Actor,
    pipeline_id: int,
    owner_id: int | None,
    team_id: int | None,
    search: str | None,
    include_closed_days: int,
    cards_per_stage: int,
) -> sales_board.BoardView:
    return sales_board.board(
        _uow(url, actor),
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        team_id=team_id,
        search=search,
        include_closed_days=include_closed_days,
        cards_per_stage=cards_per_stage,
    )


def pipeline_board(
    *,
    pipeline_id: int,
    owner_id: int | None = None,
    team_id: int | None = None,
    search: str | None = None,
    include_closed_days: int = 30,
    cards_per_stage: int = 50,
) -> sales_board.BoardView:
    return _sales_board(*_key(), pipeline_id, owner_id, team_id, search, include_closed_days, cards_per_stage)


# --- sales reports: funnel (core.sales.funnel) and forecast (core.sales.forecast) ----------------------
@_cached()
def _funnel(
    url: str, actor: Actor, pipeline_id: int, created_from: Any, created_to: Any, owner_id: int | None, team_id: int | None, currency: str
) -> sales_funnel.FunnelResult:
    return sales_funnel.funnel(
        _uow(url, actor),
        pipeline_id=pipeline_id,
        created_from=created_from,
        created_to=created_to,
        owner_id=owner_id,
        team_id=team_id,
        currency=currency,
    )


@_cached()
def _funnel_deals(url: str, actor: Actor, filters: tuple[Any, ...], stage_id: int, which: str, limit: int) -> pd.DataFrame:
    pipeline_id, created_from, created_to, owner_id, team_id, currency = filters
    return sales_funnel.funnel_deals(
        _uow(url, actor),
        pipeline_id=pipeline_id,
        created_from=created_from,
        created_to=created_to,
        stage_id=stage_id,
        which=which,  # type: ignore[arg-type]
        owner_id=owner_id,
        team_id=team_id,
        currency=currency,
        limit=limit,
    )


@_cached()
def _forecast(
    url: str, actor: Actor, period: str, date_from: Any, date_to: Any, pipeline_id: int | None, owner_id: int | None, team_id: int | None
) -> pd.DataFrame:
    return sales_forecast.forecast(
        _uow(url, actor),
        period=period,  # type: ignore[arg-type]
        date_from=date_from,
        date_to=date_to,
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        team_id=team_id,
    )


def funnel_report(
    *, pipeline_id: int, created_from: Any, created_to: Any, owner_id: int | None, team_id: int | None, currency: str
) -> sales_funnel.FunnelResult:
    return _funnel(*_key(), pipeline_id, created_from, created_to, owner_id, team_id, currency)


def funnel_deals(
    *,
    pipeline_id: int,
    created_from: Any,
    created_to: Any,
    owner_id: int | None,
    team_id: int | None,
    currency: str,
    stage_id: int,
    which: str,
    limit: int,
) -> pd.DataFrame:
    filters = (pipeline_id, created_from, created_to, owner_id, team_id, currency)
    return _funnel_deals(*_key(), filters, stage_id, which, limit)


def forecast_report(
    *, period: str, date_from: Any, date_to: Any, pipeline_id: int | None, owner_id: int | None, team_id: int | None
) -> pd.DataFrame:
    return _forecast(*_key(), period, date_from, date_to, pipeline_id, owner_id, team_id)


# --- GDPR (core/gdpr): data-subject requests, their log, discovery and the compliance cockpit -----------
# Deadline lights and days left depend on the day: those reads run on the session's clock (tests freeze it),
# and the minute it reads is part of their cache key.
def _at(url: str, actor: Actor, now: dt.datetime) -> UnitOfWork:
    return UnitOfWork(context.factory_for(url), actor=actor, clock=lambda: now)


def _now_key() -> tuple[str, Actor, dt.datetime]:
    return (*_key(), context.clock()().replace(second=0, microsecond=0))


@_cached(ttl=15)
def _gdpr_requests(
    url: str, actor: Actor, now: dt.datetime, status: str | None, type: str | None, open_only: bool
) -> pd.DataFrame:
    return gdpr_requests_service.list_requests(_at(url, actor, now), status=status, type=type, open_only=open_only)


@_cached(ttl=15)
def _gdpr_request(url: str, actor: Actor, request_id: int) -> gdpr_requests_service.RequestView:
    return gdpr_requests_service.get_request(_uow(url, actor), request_id)


@_cached(ttl=15)
def _gdpr_log(url: str, actor: Actor, request_id: int) -> list[gdpr_requests_service.LogView]:
    return gdpr_requests_service.request_log(_uow(url, actor), request_id)


@_cached(ttl=15)
def _gdpr_dashboard(url: str, actor: Actor, now: dt.datetime) -> gdpr_requests_service.Dashboard:
    return gdpr_requests_service.dashboard(_at(url, actor, now))


@_cached(ttl=15)
def _gdpr_candidates(url: str, actor: Actor, email: str, phone: str, name: str) -> list[gdpr_discovery.Candidate]:
    return gdpr_discovery.find_candidates(_uow(url, actor), email=email, phone=phone, name=name)


@_cached(ttl=15)
def _gdpr_discovery(
    url: str, actor: Actor, contact_ids: tuple[int, ...], account_ids: tuple[int, ...]
) -> gdpr_discovery.Discovery:
    return gdpr_discovery.discover(_uow(url, actor), contact_ids=list(contact_ids), account_ids=list(account_ids))


@_cached(ttl=15)
def _gdpr_documents(url: str, actor: Actor, request_id: int) -> list[DocumentView]:
    from core.gdpr.documents import list_documents

    return list_documents(_uow(url, actor), request_id)


@_cached(ttl=300)
def _gdpr_chain(url: str, actor: Actor) -> Verification:
    return gdpr_requests_service.check_log(_uow(url, actor))


def gdpr_requests(*, status: str | None = None, type: str | None = None, open_only: bool = False) -> pd.DataFrame:
    return _gdpr_requests(*_now_key(), status, type, open_only)


def gdpr_request(request_id: int) -> gdpr_requests_service.RequestView:
    return _gdpr_request(*_key(), request_id)


def gdpr_log(request_id: int) -> list[gdpr_requests_service.LogView]:
    return _gdpr_log(*_key(), request_id)


def gdpr_dashboard() -> gdpr_requests_service.Dashboard:
    return _gdpr_dashboard(*_now_key())


def gdpr_candidates(*, email: str, phone: str, name: str) -> list[gdpr_discovery.Candidate]:
    return _gdpr_candidates(*_key(), email.strip(), phone.strip(), name.strip())


def gdpr_discovery_of(contact_ids: list[int], account_ids: list[int]) -> gdpr_discovery.Discovery:
    return _gdpr_discovery(*_key(), tuple(sorted(contact_ids)), tuple(sorted(account_ids)))


def gdpr_documents(request_id: int) -> list[DocumentView]:
    return _gdpr_documents(*_key(), request_id)


def gdpr_chain_status(*, fresh: bool = False) -> Verification:
    """The request log's hash chain; `fresh` skips the cache (the "Kette prüfen" buttons)."""
    if fresh:
        _gdpr_chain.clear()
    return _gdpr_chain(*_key())
