"""open deal keyset indexes: the API's filtered keyset pages in id order from an index

The REST list pages by id (`WHERE id > :last ORDER BY id LIMIT n`). Filtered to open deals — all, an owner's or a
team's — or to one stage, PostgreSQL walked the primary key past every closed deal on the way: 3,800 to 12,000 rows
for a first page at 500,000 deals (1.0–1.5 ms of the server's CPU each). A partial index of the open deals (8 % of
them) and (pipeline_id, stage_id, id) instead of (pipeline_id, stage_id) serve those pages in id order (0.1–0.6 ms;
the statement carries status, pipeline and stage as literals, see core/sales/opportunities.py). On SQLite, whose
indexes end in the rowid anyway, the stage index is the same as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index(
        'ix_opportunities_pipeline_id_stage_id_id', 'opportunities', ['pipeline_id', 'stage_id', 'id']
    )
    op.drop_index('ix_opportunities_pipeline_id_stage_id', table_name='opportunities')
    op.create_index(
        'ix_opportunities_open_id', 'opportunities', ['id'], sqlite_where=OPEN, postgresql_where=OPEN
    )
    op.execute("ANALYZE opportunities")


def downgrade() -> None:
    op.drop_index('ix_opportunities_open_id', table_name='opportunities')
    op.create_index('ix_opportunities_pipeline_id_stage_id', 'opportunities', ['pipeline_id', 'stage_id'])
    op.drop_index('ix_opportunities_pipeline_id_stage_id_id', table_name='opportunities')
