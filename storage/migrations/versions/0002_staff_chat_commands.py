"""staff chat commands

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('person', sa.String(length=160), nullable=False),
    sa.Column('chat', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_person_id'), ['person', 'id'], unique=False)

    op.create_table('config_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('person', sa.String(length=160), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_config_changes'))
    )
    with op.batch_alter_table('config_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_config_changes_account_person_id'), ['account', 'person', 'id'], unique=False)

    op.create_table('materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('media_id', sa.String(length=128), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_materials')),
    sa.UniqueConstraint('account', 'name', name=op.f('uq_materials_account_name'))
    )
    op.create_table('menu_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('published_by', sa.String(length=160), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_versions')),
    sa.UniqueConstraint('account', 'version', name=op.f('uq_menu_versions_account_version'))
    )
    op.create_table('menus',
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account', name=op.f('pk_menus'))
    )
    op.create_table('pending_actions',
    sa.Column('person', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('chat', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('person', 'kind', name=op.f('pk_pending_actions'))
    )
    op.create_table('role_grants',
    sa.Column('person', sa.String(length=160), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('granted_by', sa.String(length=160), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('person', 'role', name=op.f('pk_role_grants'))
    )
    op.create_table('staff_updates',
    sa.Column('dedupe_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('dedupe_key', name=op.f('pk_staff_updates'))
    )
    with op.batch_alter_table('staff_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_updates_created_at'), ['created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('staff_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_updates_created_at'))

    op.drop_table('staff_updates')
    op.drop_table('role_grants')
    op.drop_table('pending_actions')
    op.drop_table('menus')
    op.drop_table('menu_versions')
    op.drop_table('materials')
    with op.batch_alter_table('config_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_config_changes_account_person_id'))

    op.drop_table('config_changes')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_person_id'))

    op.drop_table('audit_log')
