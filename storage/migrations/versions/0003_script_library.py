"""script library

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_library_files'))
    )
    op.create_table('library_state',
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', name=op.f('pk_library_state'))
    )
    op.create_table('platform_media',
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('media_id', sa.String(length=256), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'source', name=op.f('pk_platform_media'))
    )
    op.create_table('script_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_script_categories')),
    sa.UniqueConstraint('account', 'path', name=op.f('uq_script_categories_account_path'))
    )
    op.create_table('script_favourites',
    sa.Column('person', sa.String(length=160), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('person', 'script_id', name=op.f('pk_script_favourites'))
    )
    op.create_table('script_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('person', sa.String(length=160), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_script_uses'))
    )
    with op.batch_alter_table('script_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_script_uses_person_id'), ['person', 'id'], unique=False)

    op.create_table('scripts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('shortcode', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('owner', sa.String(length=160), nullable=False),
    sa.Column('usage_count', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=160), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scripts')),
    sa.UniqueConstraint('account', 'shortcode', name=op.f('uq_scripts_account_shortcode')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('scripts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scripts_account_id'), ['account', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scripts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scripts_account_id'))

    op.drop_table('scripts')
    with op.batch_alter_table('script_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_script_uses_person_id'))

    op.drop_table('script_uses')
    op.drop_table('script_favourites')
    op.drop_table('script_categories')
    op.drop_table('platform_media')
    op.drop_table('library_state')
    op.drop_table('library_files')
