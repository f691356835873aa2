"""Sales: pipelines and stages, opportunities with stage history (append-only), products, quotes, orders,
saved list views; reference data (two pipelines, won/lost reasons).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:54:04.568462
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import db.base
from db.append_only import append_only_ddl, drop_append_only_ddl

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# (name, kind, probability, forecast category, stale after days)
PIPELINES: dict[str, list[tuple[str, str, int, str, int | None]]] = {
    "Neugeschäft": [
        ("Qualifizierung", "open", 10, "pipeline", 14),
        ("Bedarfsanalyse", "open", 25, "pipeline", 21),
        ("Angebot", "open", 50, "best_case", 21),
        ("Verhandlung", "open", 75, "commit", 14),
        ("Gewonnen", "won", 100, "closed", None),
        ("Verloren", "lost", 0, "omitted", None),
    ],
    "Bestandskunden": [
        ("Bedarf erkannt", "open", 30, "pipeline", 21),
        ("Angebot", "open", 60, "best_case", 21),
        ("Verhandlung", "open", 80, "commit", 14),
        ("Gewonnen", "won", 100, "closed", None),
        ("Verloren", "lost", 0, "omitted", None),
    ],
}
REASONS = {
    "lost": ["Preis zu hoch", "Wettbewerber gewählt", "Kein Budget", "Projekt verschoben", "Kein Bedarf mehr",
             "Keine Rückmeldung", "Sonstiges"],
    "won": ["Preis-Leistung", "Funktionsumfang", "Beziehung und Vertrauen", "Service und Support", "Referenzen",
            "Sonstiges"],
}


def _seed_reference_data() -> None:
    bind = op.get_bind()
    now = dt.datetime.now(dt.timezone.utc)
    stamp = {"created_at": now, "updated_at": now, "version": 1}
    meta = sa.MetaData()
    pipelines = sa.Table("pipelines", meta, autoload_with=bind)
    stages = sa.Table("pipeline_stages", meta, autoload_with=bind)
    reasons = sa.Table("deal_reasons", meta, autoload_with=bind)
    ts = db.base.UTCDateTime()
    for table in (pipelines, stages, reasons):
        table.c.created_at.type = ts
        table.c.updated_at.type = ts
    for position, (name, rows) in enumerate(PIPELINES.items(), start=1):
        pipeline_id = bind.execute(
            pipelines.insert().values(name=name, position=position, is_default=position == 1, is_active=True, **stamp)
            .returning(pipelines.c.id)
        ).scalar_one()
        bind.execute(stages.insert(), [
            {"pipeline_id": pipeline_id, "name": stage, "position": index, "kind": kind, "probability": probability,
             "forecast_category": category, "stale_after_days": stale, **stamp}
            for index, (stage, kind, probability, category, stale) in enumerate(rows, start=1)
        ])
    bind.execute(reasons.insert(), [
        {"kind": kind, "label": label, "position": index, "needs_text": label == "Sonstiges", "is_active": True, **stamp}
        for kind, labels in REASONS.items() for index, label in enumerate(labels, start=1)
    ])


def upgrade() -> None:
    op.create_table('deal_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('needs_text', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('won', 'lost')", name=op.f('ck_deal_reasons_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_reasons')),
    sa.UniqueConstraint('kind', 'label', name=op.f('uq_deal_reasons_kind_label'))
    )
    op.create_table('opportunity_stage_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('from_stage_id', sa.Integer(), nullable=True),
    sa.Column('to_stage_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('created', 'moved', 'won', 'lost', 'reopened', 'revised')", name=op.f('ck_opportunity_stage_events_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_stage_events'))
    )
    with op.batch_alter_table('opportunity_stage_events', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_stage_events_opportunity_id_id', ['opportunity_id', 'id'], unique=False)
        batch_op.create_index('ix_opportunity_stage_events_to_stage_id_occurred_at', ['to_stage_id', 'occurred_at'], unique=False)

    op.create_table('pipelines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipelines')),
    sa.UniqueConstraint('name', name=op.f('uq_pipelines_name'))
    )
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('vat_rate IN (0, 7, 19)', name=op.f('ck_products_vat_rate_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('sku', name=op.f('uq_products_sku'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_name'), ['name'], unique=False)

    op.create_table('pipeline_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('forecast_category', sa.String(length=20), nullable=False),
    sa.Column('stale_after_days', sa.Integer(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("forecast_category IN ('pipeline', 'best_case', 'commit', 'closed', 'omitted')", name=op.f('ck_pipeline_stages_category_known')),
    sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f('ck_pipeline_stages_kind_known')),
    sa.CheckConstraint('probability BETWEEN 0 AND 100', name=op.f('ck_pipeline_stages_probability_range')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_pipeline_stages_pipeline_id_pipelines'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_stages')),
    sa.UniqueConstraint('pipeline_id', 'name', name=op.f('uq_pipeline_stages_pipeline_id_name'))
    )
    with op.batch_alter_table('pipeline_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipeline_stages_pipeline_id'), ['pipeline_id'], unique=False)

    op.create_table('saved_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_views_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
    sa.UniqueConstraint('user_id', 'page', 'name', name=op.f('uq_saved_views_user_id_page_name'))
    )
    op.create_table('opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('probability_override', sa.Integer(), nullable=True),
    sa.Column('forecast_category_override', sa.String(length=20), nullable=True),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('closed_date', sa.Date(), nullable=True),
    sa.Column('lead_source', sa.String(length=40), nullable=True),
    sa.Column('campaign', sa.String(length=200), nullable=True),
    sa.Column('competitor', sa.String(length=200), nullable=True),
    sa.Column('next_step', sa.String(length=500), nullable=True),
    sa.Column('won_reason_id', sa.Integer(), nullable=True),
    sa.Column('lost_reason_id', sa.Integer(), nullable=True),
    sa.Column('close_reason_text', sa.String(length=500), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('stage_entered_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('probability_override BETWEEN 0 AND 100', name=op.f('ck_opportunities_probability_range')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_opportunities_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['lost_reason_id'], ['deal_reasons.id'], name=op.f('fk_opportunities_lost_reason_id_deal_reasons'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_opportunities_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_opportunities_pipeline_id_pipelines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['stage_id'], ['pipeline_stages.id'], name=op.f('fk_opportunities_stage_id_pipeline_stages'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['won_reason_id'], ['deal_reasons.id'], name=op.f('fk_opportunities_won_reason_id_deal_reasons'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities')),
    sa.UniqueConstraint('external_id', name=op.f('uq_opportunities_external_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunities_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_closed_date'), ['closed_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_lead_source'), ['lead_source'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_name'), ['name'], unique=False)
        batch_op.create_index('ix_opportunities_owner_id_status', ['owner_id', 'status'], unique=False)
        batch_op.create_index('ix_opportunities_pipeline_id_stage_id', ['pipeline_id', 'stage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_stage_id'), ['stage_id'], unique=False)
        batch_op.create_index('ix_opportunities_status_expected_close_date', ['status', 'expected_close_date'], unique=False)

    op.create_table('opportunity_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_opportunity_contacts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_contacts_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_contacts'))
    )
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_contacts_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_opportunity_contacts_opportunity_id_contact_id', ['opportunity_id', 'contact_id'], unique=False)

    op.create_table('quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('quote_date', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('net_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('gross_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('introduction', sa.Text(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('sent_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('entwurf', 'versendet', 'angenommen', 'abgelehnt')", name=op.f('ck_quotes_status_known')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_quotes_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_quotes_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_quotes_opportunity_id_opportunities'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('number', name=op.f('uq_quotes_number')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_opportunity_id'), ['opportunity_id'], unique=False)

    op.create_table('quote_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quote_lines_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines'))
    )
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_lines_quote_id'), ['quote_id'], unique=False)

    op.create_table('sales_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('gross_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('cancelled_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('aufgegeben', 'storniert')", name=op.f('ck_sales_orders_status_known')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sales_orders_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_sales_orders_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_sales_orders_opportunity_id_opportunities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_sales_orders_quote_id_quotes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_sales_orders_number')),
    sa.UniqueConstraint('quote_id', name=op.f('uq_sales_orders_quote_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_orders_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_orders_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_orders_opportunity_id'), ['opportunity_id'], unique=False)


    for statement in append_only_ddl("opportunity_stage_events", op.get_bind().dialect.name):
        op.execute(statement)
    _seed_reference_data()


def downgrade() -> None:
    for statement in drop_append_only_ddl("opportunity_stage_events", op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_orders_opportunity_id'))
        batch_op.drop_index(batch_op.f('ix_sales_orders_contact_id'))
        batch_op.drop_index(batch_op.f('ix_sales_orders_account_id'))

    op.drop_table('sales_orders')
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_lines_quote_id'))

    op.drop_table('quote_lines')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quotes_opportunity_id'))
        batch_op.drop_index(batch_op.f('ix_quotes_contact_id'))
        batch_op.drop_index(batch_op.f('ix_quotes_account_id'))

    op.drop_table('quotes')
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_contacts_opportunity_id_contact_id')
        batch_op.drop_index(batch_op.f('ix_opportunity_contacts_contact_id'))

    op.drop_table('opportunity_contacts')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunities_status_expected_close_date')
        batch_op.drop_index(batch_op.f('ix_opportunities_stage_id'))
        batch_op.drop_index('ix_opportunities_pipeline_id_stage_id')
        batch_op.drop_index('ix_opportunities_owner_id_status')
        batch_op.drop_index(batch_op.f('ix_opportunities_name'))
        batch_op.drop_index(batch_op.f('ix_opportunities_lead_source'))
        batch_op.drop_index(batch_op.f('ix_opportunities_closed_date'))
        batch_op.drop_index(batch_op.f('ix_opportunities_account_id'))

    op.drop_table('opportunities')
    op.drop_table('saved_views')
    with op.batch_alter_table('pipeline_stages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pipeline_stages_pipeline_id'))

    op.drop_table('pipeline_stages')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_name'))

    op.drop_table('products')
    op.drop_table('pipelines')
    with op.batch_alter_table('opportunity_stage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_stage_events_to_stage_id_occurred_at')
        batch_op.drop_index('ix_opportunity_stage_events_opportunity_id_id')

    op.drop_table('opportunity_stage_events')
    op.drop_table('deal_reasons')
