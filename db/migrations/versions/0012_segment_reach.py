"""segment_reach: the stored snapshot of each segment's reachable audience (members ∩ consent gate)

One row per segment × channel × active purpose (members counted by gate reason) and one per segment × channel with
`purpose_id` NULL (reachable for at least one active purpose). Written by core/segments/insights.py after a full
recalculation and on demand; read by the segment list and the segment page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segment_reach',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('purpose_id', sa.Integer(), nullable=True),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('reachable', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('computed_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purposes.id'], name=op.f('fk_segment_reach_purpose_id_consent_purposes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_reach_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_reach'))
    )
    with op.batch_alter_table('segment_reach', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_reach_segment_id'), ['segment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('segment_reach', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_reach_segment_id'))

    op.drop_table('segment_reach')
