"""mass sends, customer groups and SOPs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('notice', sa.Text(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('group_created_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_groups')),
    sa.UniqueConstraint('app', 'chat_id', name=op.f('uq_customer_groups_app_chat_id'))
    )
    with op.batch_alter_table('customer_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_groups_app_owner'), ['app', 'owner'], unique=False)

    op.create_table('group_daily',
    sa.Column('app', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('joins', sa.Integer(), nullable=False),
    sa.Column('quits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('app', 'chat_id', 'day', name=op.f('pk_group_daily'))
    )
    op.create_table('mass_send_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('clientmsgid', sa.String(length=64), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('msg_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mass_send_parts')),
    sa.UniqueConstraint('clientmsgid', name=op.f('uq_mass_send_parts_clientmsgid')),
    sa.UniqueConstraint('send_id', 'part', name=op.f('uq_mass_send_parts_send_id_part'))
    )
    with op.batch_alter_table('mass_send_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mass_send_parts_account_msg_id'), ['account', 'msg_id'], unique=False)

    op.create_table('mass_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('audience_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('send_at', sa.DateTime(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('chat', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mass_sends')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mass_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mass_sends_account_created_at'), ['account', 'created_at'], unique=False)

    op.create_table('sop_executions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('fire_at', sa.DateTime(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('chat_ids', sa.JSON(), nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fail_list', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sop_executions')),
    sa.UniqueConstraint('rule_id', 'fire_at', 'owner', name=op.f('uq_sop_executions_rule_id_fire_at_owner'))
    )
    with op.batch_alter_table('sop_executions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sop_executions_status'), ['status'], unique=False)

    op.create_table('sop_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('schedule', sa.JSON(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('chat', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sop_rules')),
    sa.UniqueConstraint('app', 'name', name=op.f('uq_sop_rules_app_name')),
    sqlite_autoincrement=True
    )


def downgrade() -> None:
    op.drop_table('sop_rules')
    with op.batch_alter_table('sop_executions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sop_executions_status'))

    op.drop_table('sop_executions')
    with op.batch_alter_table('mass_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mass_sends_account_created_at'))

    op.drop_table('mass_sends')
    with op.batch_alter_table('mass_send_parts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mass_send_parts_account_msg_id'))

    op.drop_table('mass_send_parts')
    op.drop_table('group_daily')
    with op.batch_alter_table('customer_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_groups_app_owner'))

    op.drop_table('customer_groups')
