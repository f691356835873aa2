"""search indexes: substring search over companies, contacts and deals without a table scan; deals by close date

FTS5 trigram tables (SQLite) and pg_trgm GIN indexes (PostgreSQL), see db/fulltext.py. The list search
at the large size took 2.4 s (contacts) and 1.7 s (deals) on SQLite; numbers in docs/performance.md.
The deal list over all statuses sorted by close date walks (expected_close_date, id) instead of sorting
every deal.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:40:00
"""

from __future__ import annotations

from alembic import op

from db.fulltext import SearchSpec, create_search_index, drop_search_index

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SPECS = (
    SearchSpec("accounts", ("name", "city", "postcode")),
    SearchSpec("contacts", ("first_name", "last_name", "email")),
    SearchSpec("opportunities", ("name",)),
)


def upgrade() -> None:
    op.create_index('ix_opportunities_expected_close_date_id', 'opportunities', ['expected_close_date', 'id'])
    for spec in SPECS:
        create_search_index(op.get_bind(), spec)


def downgrade() -> None:
    op.drop_index('ix_opportunities_expected_close_date_id', table_name='opportunities')
    for spec in SPECS:
        drop_search_index(op.get_bind(), spec)
