"""Segments (dynamic rule trees or static lists) with stored membership and its history, plus the data the
rules read that no earlier module stores: contact tags and behavioural activities.

`segment_members` is the stored membership (a segment-in-segment condition reads it); every recalculation
is a `segment_runs` row, and each contact that joined or left is a `segment_changes` row, which gives the
size history and "since when is this contact in the segment".
`activities` is the behavioural data (e-mail opens and clicks, calls, meetings, visits, forms, event
registrations and attendance); the timeline module extends it later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TimestampMixin, VersionedMixin, bigintpk, intpk, personal, str100


class Segment(Base, TimestampMixin, VersionedMixin):
    """A named set of contacts: `dynamic` by its rule tree (`rules`, see core/segments/rules.py), `static` by
    the members added by hand or by upload (`rules` is NULL). Ids are never reused (AUTOINCREMENT on SQLite):
    another segment's rules may name this one."""

    __tablename__ = "segments"
    __table_args__ = (
        CheckConstraint("kind IN ('dynamic', 'static')", name="kind_known"),
        CheckConstraint("(kind = 'dynamic') = (rules IS NOT NULL)", name="rules_match_kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    name: Mapped[str100] = mapped_column(unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    last_refreshed_at: Mapped[dt.datetime | None]
    refresh_error: Mapped[str | None] = mapped_column(Text)


class SegmentMember(Base):
    """A contact in a segment now. The primary key (segment_id, contact_id) answers "members of S" from the
    index alone; (contact_id) answers "segments of this contact"."""

    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True)
    joined_at: Mapped[dt.datetime]


class SegmentRun(Base):
    """One recalculation of a segment: when, why (`reason`: schedule, manual, change, event, …), the size
    afterwards and how many contacts joined and left."""

    __tablename__ = "segment_runs"
    __table_args__ = (Index("ix_segment_runs_segment_id_started_at", "segment_id", "started_at"),)

    id: Mapped[intpk]
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    reason: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer, default=0)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    left: Mapped[int] = mapped_column(Integer, default=0)


class SegmentChange(Base):
    """A contact joined or left a segment in a run. No foreign key to `contacts`: the history outlives a
    deleted contact (an erasure deletes the person's rows through the personal-data registry)."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index("ix_segment_changes_segment_id_at", "segment_id", "at"),
        CheckConstraint("change IN ('joined', 'left')", name="change_known"),
    )

    id: Mapped[bigintpk]
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(index=True)
    change: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("segment_runs.id", ondelete="SET NULL"), index=True)


class ContactTag(Base):
    """A free tag on a contact ("VIP", "Messe 2026"). (tag, contact_id) finds a tag's contacts from the index
    alone."""

    __tablename__ = "contact_tags"
    __table_args__ = (Index("ix_contact_tags_tag_contact_id", "tag", "contact_id"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class Activity(Base):
    """Something a contact did or that was done with them: `type` (email_open, email_click, call, meeting,
    web_visit, form, event_registration, event_attendance, …) at `occurred_at`, for mails and events the
    campaign's or event's key.

    Indexes, each ending in `contact_id` so a segment condition reads the index only: (type, occurred_at,
    contact_id) for "activity of a type in a period", (campaign_key, type, occurred_at, contact_id) for "opened
    campaign X" / "attended event X", (contact_id, type, occurred_at) for one contact's timeline.
    """

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_contact_id_type_occurred_at", "contact_id", "type", "occurred_at"),
        Index("ix_activities_type_occurred_at_contact_id", "type", "occurred_at", "contact_id"),
        Index(
            "ix_activities_campaign_key_type_occurred_at_contact_id",
            "campaign_key",
            "type",
            "occurred_at",
            "contact_id",
        ),
    )

    id: Mapped[bigintpk]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[dt.datetime]
    subject: Mapped[str | None] = mapped_column(String(200), info=personal("free_text"))
    campaign_key: Mapped[str | None] = mapped_column(String(64))


class SegmentReach(Base):
    """A snapshot of a segment's reachable audience (members ∩ consent gate), written by
    `core.segments.insights.refresh_reach`: per channel × active purpose the members counted by gate reason
    (`reasons`, e.g. {"allowed": 120, "missing": 30}), and per channel one row with `purpose_id` NULL: the members
    reachable for at least one active purpose. Counting a large segment takes seconds, so pages read the snapshot;
    a refresh replaces all rows of the segment with one `computed_at`."""

    __tablename__ = "segment_reach"

    id: Mapped[intpk]
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    purpose_id: Mapped[int | None] = mapped_column(ForeignKey("consent_purposes.id", ondelete="CASCADE"))
    members: Mapped[int] = mapped_column(Integer)
    reachable: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[dict[str, int]] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime]
