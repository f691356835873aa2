"""Sales: pipelines with stages, opportunities with contact roles and stage history, products, quotes, orders.

Money is `Numeric(14, 2)` with an ISO currency next to it. The stage history
(`opportunity_stage_events`) is append-only: the database rejects UPDATE and DELETE, and it is the
single source for funnel conversion, time in stage, backward moves and slipped close dates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import personal, Base, TimestampMixin, VersionedMixin, bigintpk, intpk, money, str100, str200

# Forecast categories (Salesforce/HubSpot vocabulary) and stage kinds.
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
STAGE_KINDS = ("open", "won", "lost")


class Pipeline(Base, TimestampMixin, VersionedMixin):
    """A sales process, e.g. Neugeschäft or Bestandskunden, with its ordered stages."""

    __tablename__ = "pipelines"

    id: Mapped[intpk]
    name: Mapped[str100] = mapped_column(unique=True)
    position: Mapped[int] = mapped_column(default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class PipelineStage(Base, TimestampMixin, VersionedMixin):
    """A stage of a pipeline. Exactly one `won` and one `lost` stage per pipeline; the open stages come first."""

    __tablename__ = "pipeline_stages"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "name"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind_known"),
        CheckConstraint(
            "forecast_category IN ('pipeline', 'best_case', 'commit', 'closed', 'omitted')", name="category_known"
        ),
    )

    id: Mapped[intpk]
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str100]
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10), default="open")
    probability: Mapped[int]
    forecast_category: Mapped[str] = mapped_column(String(20))
    # A deal without any change for this many days is flagged as stale on the board (None: never).
    stale_after_days: Mapped[int | None]


class DealReason(Base, TimestampMixin, VersionedMixin):
    """A configurable won or lost reason; `needs_text` asks for free text (e.g. „Sonstiges“)."""

    __tablename__ = "deal_reasons"
    __table_args__ = (UniqueConstraint("kind", "label"), CheckConstraint("kind IN ('won', 'lost')", name="kind_known"))

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str100]
    position: Mapped[int] = mapped_column(default=0)
    needs_text: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Opportunity(Base, TimestampMixin, VersionedMixin):
    """A deal. `status` mirrors the kind of its stage (open/won/lost) so lists and reports filter by index.

    Probability and forecast category: the stage's default applies unless the user overrode it
    (`*_override`); an override survives later stage moves. Closing (won/lost) sets the
    category to closed/omitted regardless of overrides.
    """

    __tablename__ = "opportunities"
    __table_args__ = (
        # Migration 0014: with `id`, one stage's deals come in id order (the API's keyset page filtered by stage).
        Index("ix_opportunities_pipeline_id_stage_id_id", "pipeline_id", "stage_id", "id"),
        # Migration 0014: the open deals (8 % of them, the newest) in id order, for the API's keyset pages of open
        # deals, also an owner's or a team's; PostgreSQL walked the primary key past every closed deal before.
        Index(
            "ix_opportunities_open_id",
            "id",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        # With `id` (migration 0008): PostgreSQL serves "open deals by close date" from this index exactly instead
        # of walking (expected_close_date, id) past every closed deal (8 → 377 ms without it).
        Index("ix_opportunities_status_expected_close_date_id", "status", "expected_close_date", "id"),
        Index("ix_opportunities_owner_id_status", "owner_id", "status"),
        # Measured at 500,000 deals (migration 0004): sorting the whole list by amount walks the first instead of
        # joining and sorting every deal; the forecast reads the won deals of a period by the second. Its last three
        # columns (migration 0013) let a segment's won-revenue condition read the index only.
        Index("ix_opportunities_amount", "amount"),
        Index(
            "ix_opportunities_status_closed_date_revenue", "status", "closed_date", "currency", "account_id", "amount"
        ),
        # Migration 0013: a segment's „deal in stage …“ condition reads the deal ids from the index only, and one
        # stage's deals come in close-date order (the list filtered by a stage, the board).
        Index("ix_opportunities_stage_id_expected_close_date_id", "stage_id", "expected_close_date", "id"),
        # Migration 0006: the list over all statuses sorted or filtered by close date (1.2 s before on SQLite).
        Index("ix_opportunities_expected_close_date_id", "expected_close_date", "id"),
        CheckConstraint("probability_override BETWEEN 0 AND 100", name="probability_range"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str200] = mapped_column(index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    amount: Mapped[money] = mapped_column(default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    probability_override: Mapped[int | None]
    forecast_category_override: Mapped[str | None] = mapped_column(String(20))
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date)
    closed_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    lead_source: Mapped[str | None] = mapped_column(String(40), index=True)
    campaign: Mapped[str | None] = mapped_column(String(200))
    competitor: Mapped[str | None] = mapped_column(String(200))
    next_step: Mapped[str | None] = mapped_column(String(500), info=personal("free_text"))
    won_reason_id: Mapped[int | None] = mapped_column(ForeignKey("deal_reasons.id", ondelete="RESTRICT"))
    lost_reason_id: Mapped[int | None] = mapped_column(ForeignKey("deal_reasons.id", ondelete="RESTRICT"))
    close_reason_text: Mapped[str | None] = mapped_column(String(500), info=personal("free_text"))
    description: Mapped[str | None] = mapped_column(Text, info=personal("free_text"))
    # Copy of the latest stage event's time (written in the same transaction) so the board can show
    # days in stage without reading the history table.
    stage_entered_at: Mapped[dt.datetime]


class OpportunityContact(Base, TimestampMixin, VersionedMixin):
    """A contact's role in a deal (Entscheider, Einkauf, Anwender, ...). One primary contact per deal."""

    __tablename__ = "opportunity_contacts"
    __table_args__ = (Index("ix_opportunity_contacts_opportunity_id_contact_id", "opportunity_id", "contact_id"),)

    id: Mapped[intpk]
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class OpportunityStageEvent(Base):
    """One row per stage change of a deal (append-only; kinds below), with the deal's values at that moment.

    kind: created (from_stage NULL) · moved (forward or backward between open stages) · won · lost ·
    reopened (from a closed stage to an open one) · revised (amount, probability or close date changed
    without a stage change; from = to). An event ends the previous stage: time in stage = next event − this.
    No foreign key to `opportunities`: the history outlives a deleted deal (reports join live deals).
    """

    __tablename__ = "opportunity_stage_events"
    __table_args__ = (
        Index("ix_opportunity_stage_events_opportunity_id_id", "opportunity_id", "id"),
        Index("ix_opportunity_stage_events_to_stage_id_occurred_at", "to_stage_id", "occurred_at"),
        # The funnel's per-deal pass reads only this index (core/sales/funnel.py); revised rows (about half)
        # are not needed there.
        Index(
            "ix_opportunity_stage_events_funnel",
            "opportunity_id",
            "kind",
            "to_stage_id",
            "from_stage_id",
            "occurred_at",
            "pipeline_id",
            sqlite_where=text("kind <> 'revised'"),
            postgresql_where=text("kind <> 'revised'"),
        ),
        CheckConstraint(
            "kind IN ('created', 'moved', 'won', 'lost', 'reopened', 'revised')", name="kind_known"
        ),
    )

    id: Mapped[bigintpk]
    opportunity_id: Mapped[int]
    pipeline_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    from_stage_id: Mapped[int | None]
    to_stage_id: Mapped[int]
    occurred_at: Mapped[dt.datetime]
    amount: Mapped[money]
    currency: Mapped[str] = mapped_column(String(3))
    probability: Mapped[int]
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date)
    actor_id: Mapped[int | None]


class Product(Base, TimestampMixin, VersionedMixin):
    """A catalogue item: net list price per unit and its German VAT rate (19 % or 7 %)."""

    __tablename__ = "products"
    __table_args__ = (CheckConstraint("vat_rate IN (0, 7, 19)", name="vat_rate_known"),)

    id: Mapped[intpk]
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str200] = mapped_column(index=True)
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(20), default="Stück")
    unit_price: Mapped[money]
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("19"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Quote(Base, TimestampMixin, VersionedMixin):
    """An offer (Angebot): Entwurf → Versendet → Angenommen / Abgelehnt. Totals are stored as computed on save."""

    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint("status IN ('entwurf', 'versendet', 'angenommen', 'abgelehnt')", name="status_known"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(20), unique=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="entwurf")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    quote_date: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    net_total: Mapped[money] = mapped_column(default=Decimal("0"))
    vat_total: Mapped[money] = mapped_column(default=Decimal("0"))
    gross_total: Mapped[money] = mapped_column(default=Decimal("0"))
    introduction: Mapped[str | None] = mapped_column(Text, info=personal("free_text"))
    terms: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(500), info=personal("free_text"))


class QuoteLine(Base):
    """A line of a quote; `net_amount` = quantity × unit price × (1 − line discount), rounded to cents."""

    __tablename__ = "quote_lines"

    id: Mapped[intpk]
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[money]
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    net_amount: Mapped[money]


class SalesOrder(Base, TimestampMixin, VersionedMixin):
    """An order (Auftrag) created from an accepted quote; lines are copied so the order never changes with it.

    Orders are commercial documents under retention duty (§ 147 AO, § 257 HGB): cancelled, never deleted.
    """

    __tablename__ = "sales_orders"
    __table_args__ = (
        CheckConstraint("status IN ('aufgegeben', 'storniert')", name="status_known"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(20), unique=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="RESTRICT"), unique=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="aufgegeben")
    order_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net_total: Mapped[money]
    vat_total: Mapped[money]
    gross_total: Mapped[money]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500), info=personal("free_text"))


class SavedView(Base, TimestampMixin, VersionedMixin):
    """A user's saved list view (filters, search, sort, columns) for one list page."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "page", "name"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    page: Mapped[str] = mapped_column(String(60))
    name: Mapped[str100]
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
