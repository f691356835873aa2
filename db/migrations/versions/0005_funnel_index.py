"""funnel index: the funnel's per-deal pass over the stage history without the revised rows

`core/sales/funnel.py` reads, per deal of the cohort, its created/moved/won/lost/reopened rows (the amount
comes from the live deal). This partial index holds every column that pass needs, without the `revised`
rows (about half of the history), so the pass reads the index instead of the table (numbers in
docs/performance.md, "Sales"). On SQLite the table is analysed again, so the planner has statistics for it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:37:46.916245
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NOT_REVISED = sa.text("kind <> 'revised'")


def upgrade() -> None:
    with op.batch_alter_table('opportunity_stage_events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_opportunity_stage_events_funnel',
            ['opportunity_id', 'kind', 'to_stage_id', 'from_stage_id', 'occurred_at', 'pipeline_id'],
            unique=False,
            sqlite_where=NOT_REVISED,
            postgresql_where=NOT_REVISED,
        )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE opportunity_stage_events")


def downgrade() -> None:
    with op.batch_alter_table('opportunity_stage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_stage_events_funnel')
