"""segments: segments with stored membership, runs and join/leave history; contact tags; activities

The indexes serve the segment conditions (docs/segments.md): activities by (type, occurred_at, contact_id) and
(campaign_key, type, occurred_at, contact_id), read without touching the table; tags by (tag, contact_id);
members by their primary key (segment_id, contact_id) and by contact.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 10:00:45.678726
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('rules', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('last_refreshed_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refresh_error', sa.Text(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(kind = 'dynamic') = (rules IS NOT NULL)", name=op.f('ck_segments_rules_match_kind')),
    sa.CheckConstraint("kind IN ('dynamic', 'static')", name=op.f('ck_segments_kind_known')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_segments_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name')),
    sqlite_autoincrement=True
    )
    op.create_table('segment_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('started_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('joined', sa.Integer(), nullable=False),
    sa.Column('left', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_runs_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_runs'))
    )
    with op.batch_alter_table('segment_runs', schema=None) as batch_op:
        batch_op.create_index('ix_segment_runs_segment_id_started_at', ['segment_id', 'started_at'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('occurred_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('campaign_key', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_activities_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_campaign_key_type_occurred_at_contact_id', ['campaign_key', 'type', 'occurred_at', 'contact_id'], unique=False)
        batch_op.create_index('ix_activities_contact_id_type_occurred_at', ['contact_id', 'type', 'occurred_at'], unique=False)
        batch_op.create_index('ix_activities_type_occurred_at_contact_id', ['type', 'occurred_at', 'contact_id'], unique=False)

    op.create_table('contact_tags',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_tags_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'tag', name=op.f('pk_contact_tags'))
    )
    with op.batch_alter_table('contact_tags', schema=None) as batch_op:
        batch_op.create_index('ix_contact_tags_tag_contact_id', ['tag', 'contact_id'], unique=False)

    op.create_table('segment_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=10), nullable=False),
    sa.Column('at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("change IN ('joined', 'left')", name=op.f('ck_segment_changes_change_known')),
    sa.ForeignKeyConstraint(['run_id'], ['segment_runs.id'], name=op.f('fk_segment_changes_run_id_segment_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_changes_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_changes'))
    )
    with op.batch_alter_table('segment_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_changes_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_segment_changes_run_id'), ['run_id'], unique=False)
        batch_op.create_index('ix_segment_changes_segment_id_at', ['segment_id', 'at'], unique=False)

    op.create_table('segment_members',
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_segment_members_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_members_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('segment_id', 'contact_id', name=op.f('pk_segment_members'))
    )
    with op.batch_alter_table('segment_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_members_contact_id'), ['contact_id'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        # Statistics for the new tables' indexes (see migration 0008: SQLite misjudges indexes it has none for).
        for table in ("activities", "contact_tags", "segment_members", "segment_changes", "segment_runs", "segments"):
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    with op.batch_alter_table('segment_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_members_contact_id'))

    op.drop_table('segment_members')
    with op.batch_alter_table('segment_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_changes_segment_id_at')
        batch_op.drop_index(batch_op.f('ix_segment_changes_run_id'))
        batch_op.drop_index(batch_op.f('ix_segment_changes_contact_id'))

    op.drop_table('segment_changes')
    with op.batch_alter_table('contact_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_tags_tag_contact_id')

    op.drop_table('contact_tags')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_type_occurred_at_contact_id')
        batch_op.drop_index('ix_activities_contact_id_type_occurred_at')
        batch_op.drop_index('ix_activities_campaign_key_type_occurred_at_contact_id')

    op.drop_table('activities')
    with op.batch_alter_table('segment_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_runs_segment_id_started_at')

    op.drop_table('segment_runs')
    op.drop_table('segments')
