"""Cached reads of the segment pages (list and segment page), keyed like `queries` by database and user and
cleared with every other read by `queries.clear_reads()` after a write.

Reads that depend on the time (why a contact is a member: relative periods) run on the session's clock, with the
minute in the cache key.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from app.components import context, queries
from app.components.i18n import current_lang
from core.permissions import Actor
from core.segments import insights
from core.segments import service as segments
from core.uow import UnitOfWork

TTL_SECONDS = 60


def _uow(url: str, actor: Actor) -> UnitOfWork:
    return queries._uow(url, actor)


def _now_key() -> tuple[str, Actor, dt.datetime]:
    return (*queries._key(), context.clock()().replace(second=0, microsecond=0))


@queries._cached(ttl=TTL_SECONDS)
def _segment_list(url: str, actor: Actor) -> pd.DataFrame:
    listed = segments.list_segments(_uow(url, actor))
    reach = insights.reach_by_channel(_uow(url, actor)).rename(columns={"computed_at": "reach_at"})
    return listed.merge(reach, how="left", left_on="id", right_on="segment_id").drop(columns="segment_id")


@queries._cached(ttl=TTL_SECONDS)
def _segment(url: str, actor: Actor, segment_id: int) -> segments.SegmentView:
    return segments.get_segment(_uow(url, actor), segment_id)


@queries._cached(ttl=TTL_SECONDS)
def _outline(url: str, actor: Actor, segment_id: int, lang: str) -> list[insights.RuleLine]:
    return insights.definition(_uow(url, actor), segment_id, lang=lang)


@queries._cached(ttl=TTL_SECONDS)
def _members(
    url: str, actor: Actor, segment_id: int, after: int | None, limit: int
) -> tuple[list[segments.MemberRow], int | None]:
    return segments.members_page(_uow(url, actor), segment_id, after_contact_id=after, limit=limit)


@queries._cached(ttl=TTL_SECONDS)
def _history(url: str, actor: Actor, segment_id: int) -> pd.DataFrame:
    return segments.member_history(_uow(url, actor), segment_id)


@queries._cached(ttl=TTL_SECONDS)
def _changes(url: str, actor: Actor, segment_id: int, limit: int) -> pd.DataFrame:
    return segments.changes(_uow(url, actor), segment_id, limit=limit)


@queries._cached(ttl=TTL_SECONDS)
def _reach(url: str, actor: Actor, segment_id: int) -> insights.ReachSnapshot:
    return insights.reach(_uow(url, actor), segment_id)


@queries._cached(ttl=TTL_SECONDS)
def _usages(url: str, actor: Actor, segment_id: int) -> list[insights.SegmentUsage]:
    return insights.usages(_uow(url, actor), segment_id)


@queries._cached(ttl=TTL_SECONDS)
def _performance(url: str, actor: Actor, segment_id: int) -> insights.Performance:
    return insights.performance(_uow(url, actor), segment_id)


@queries._cached(ttl=TTL_SECONDS)
def _why(url: str, actor: Actor, now: dt.datetime, segment_id: int, contact_id: int, lang: str) -> list[str]:
    at_now = UnitOfWork(context.factory_for(url), actor=actor, clock=lambda: now)
    return segments.why_member(at_now, segment_id, contact_id, lang=lang)


def segment_list() -> pd.DataFrame:
    """`list_segments` with the reach snapshot per channel (`email`, `sms`, `phone`, `post`, `reach_at`; empty
    where a segment has none yet)."""
    return _segment_list(*queries._key())


def segment(segment_id: int) -> segments.SegmentView:
    return _segment(*queries._key(), segment_id)


def outline(segment_id: int) -> list[insights.RuleLine]:
    return _outline(*queries._key(), segment_id, current_lang())


def members(segment_id: int, *, after: int | None, limit: int) -> tuple[list[segments.MemberRow], int | None]:
    return _members(*queries._key(), segment_id, after, limit)


def history(segment_id: int) -> pd.DataFrame:
    return _history(*queries._key(), segment_id)


def recent_changes(segment_id: int, limit: int = 200) -> pd.DataFrame:
    return _changes(*queries._key(), segment_id, limit)


def reach(segment_id: int) -> insights.ReachSnapshot:
    return _reach(*queries._key(), segment_id)


def usages(segment_id: int) -> list[insights.SegmentUsage]:
    return _usages(*queries._key(), segment_id)


def performance(segment_id: int) -> insights.Performance:
    return _performance(*queries._key(), segment_id)


def why_member(segment_id: int, contact_id: int) -> list[str]:
    return _why(*_now_key(), segment_id, contact_id, current_lang())
