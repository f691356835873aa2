"""sales indexes: deals sorted by amount, won deals by closing date

Measured at 500,000 deals (docs/performance.md, "Sales"):

- The opportunity list sorted by amount without a filter joined and sorted every deal (SQLite 2.7 s,
  PostgreSQL 0.65 s for one page); with `ix_opportunities_amount` the page walks the index backwards
  and stops after 50 rows (SQLite 6 ms, PostgreSQL under 1 ms).
- The forecast's won amounts (`status = 'won'` and `closed_date` in the period) were read through the
  closed_date index together with every lost deal of the period (SQLite 1.1 s for that statement);
  `ix_opportunities_status_closed_date` reads the won deals only (0.2 s).

An index on the close date alone was tried and left out: PostgreSQL then preferred it for "open deals by
close date" (list and board) and filtered out the closed deals with the earliest dates, 0.3–0.4 s per
statement instead of walking (status, expected_close_date). On SQLite the table is analysed again, so
the planner has statistics for the new indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 04:53:30.713163
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index('ix_opportunities_amount', ['amount'], unique=False)
        batch_op.create_index('ix_opportunities_status_closed_date', ['status', 'closed_date'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes an index without statistics for very selective: "open deals by close date" then went
        # through (status, closed_date) and sorted 40,000 deals (0.14 s instead of 5 ms).
        op.execute("ANALYZE opportunities")


def downgrade() -> None:
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunities_status_closed_date')
        batch_op.drop_index('ix_opportunities_amount')
