"""segment covering indexes: the deal conditions of a segment read their index only

A segment's „has a deal in stage …“ set read the deals by `ix_opportunities_stage_id` and fetched each deal's row for
its id; „won revenue in period > X“ read every won deal of the period from the table for currency, company and amount.
On PostgreSQL at 500,000 deals both are index-only now: (stage_id, expected_close_date, id), and the won-deals index
(status, closed_date) widened by currency, account_id and amount (the forecast still reads it by status and date).
The close date in the stage index also serves a stage's deals in close-date order — the list filtered by one stage
(SQLite had walked the close-date index past every closed deal: 320 ms → see docs/performance.md) and the board.
Because neither set needs a parallel scan of its own any more, PostgreSQL can run the outer pass over the contacts in
parallel: the six-condition segment count went 1,235 → 767 ms (docs/performance.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 00:10:00
"""

from __future__ import annotations

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_opportunities_stage_id_expected_close_date_id', 'opportunities', ['stage_id', 'expected_close_date', 'id']
    )
    op.drop_index('ix_opportunities_stage_id', table_name='opportunities')
    op.create_index(
        'ix_opportunities_status_closed_date_revenue',
        'opportunities',
        ['status', 'closed_date', 'currency', 'account_id', 'amount'],
    )
    op.drop_index('ix_opportunities_status_closed_date', table_name='opportunities')
    op.execute("ANALYZE opportunities")


def downgrade() -> None:
    op.create_index('ix_opportunities_status_closed_date', 'opportunities', ['status', 'closed_date'])
    op.drop_index('ix_opportunities_status_closed_date_revenue', table_name='opportunities')
    op.create_index('ix_opportunities_stage_id', 'opportunities', ['stage_id'])
    op.drop_index('ix_opportunities_stage_id_expected_close_date_id', table_name='opportunities')
