"""master data: addresses, match keys, duplicates, merges, imports, settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:24:37.639518
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_settings'))
    )
    op.create_table('duplicate_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('id_a', sa.Integer(), nullable=False),
    sa.Column('id_b', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('found_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('id_a < id_b', name=op.f('ck_duplicate_candidates_ordered_pair')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_duplicate_candidates_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_candidates')),
    sa.UniqueConstraint('entity', 'id_a', 'id_b', name=op.f('uq_duplicate_candidates_entity_id_a_id_b'))
    )
    with op.batch_alter_table('duplicate_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_candidates_entity_status_score', ['entity', 'status', 'score'], unique=False)

    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_created', sa.Integer(), nullable=False),
    sa.Column('rows_updated', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('started_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_import_runs_started_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    op.create_table('merge_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('merged_snapshot', sa.JSON(), nullable=False),
    sa.Column('survivor_before', sa.JSON(), nullable=False),
    sa.Column('relinked', sa.JSON(), nullable=False),
    sa.Column('merged_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('merged_by_id', sa.Integer(), nullable=True),
    sa.Column('undone_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], name=op.f('fk_merge_records_merged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_merge_records_undone_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_records'))
    )
    with op.batch_alter_table('merge_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merge_records_merged_id'), ['merged_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_merge_records_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('record_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('alias_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('merge_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merge_id'], ['merge_records.id'], name=op.f('fk_record_aliases_merge_id_merge_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_aliases')),
    sa.UniqueConstraint('entity', 'alias_id', name=op.f('uq_record_aliases_entity_alias_id'))
    )
    with op.batch_alter_table('record_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_aliases_target_id'), ['target_id'], unique=False)

    op.create_table('addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('house_number', sa.String(length=20), nullable=True),
    sa.Column('address_line2', sa.String(length=200), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(account_id IS NULL) <> (contact_id IS NULL)', name=op.f('ck_addresses_one_owner')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_addresses_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_addresses_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index('ix_addresses_account_id_type', ['account_id', 'type'], unique=False)
        batch_op.create_index('ix_addresses_contact_id_type', ['contact_id', 'type'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('match_phone', sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f('ix_accounts_match_name'), ['match_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_match_phone'), ['match_phone'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_name', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('match_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('match_email', sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_match_email'), ['match_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_match_name'), ['match_name'], unique=False)
        batch_op.create_index('ix_contacts_match_name_postcode', ['match_name', 'postcode'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_match_phone'), ['match_phone'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_match_phone'))
        batch_op.drop_index('ix_contacts_match_name_postcode')
        batch_op.drop_index(batch_op.f('ix_contacts_match_name'))
        batch_op.drop_index(batch_op.f('ix_contacts_match_email'))
        batch_op.drop_column('match_email')
        batch_op.drop_column('match_phone')
        batch_op.drop_column('match_name')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_match_phone'))
        batch_op.drop_index(batch_op.f('ix_accounts_match_name'))
        batch_op.drop_column('match_phone')
        batch_op.drop_column('match_name')

    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_addresses_contact_id_type')
        batch_op.drop_index('ix_addresses_account_id_type')

    op.drop_table('addresses')
    with op.batch_alter_table('record_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_aliases_target_id'))

    op.drop_table('record_aliases')
    with op.batch_alter_table('merge_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merge_records_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_merge_records_merged_id'))

    op.drop_table('merge_records')
    op.drop_table('import_runs')
    with op.batch_alter_table('duplicate_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_duplicate_candidates_entity_status_score')

    op.drop_table('duplicate_candidates')
    op.drop_table('app_settings')
