"""lead channels, live codes, contact events and group codes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("app", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("welcome_status", sa.String(length=16), nullable=False),
        sa.Column("welcome_detail", sa.Text(), nullable=False),
        sa.Column("welcome_ms", sa.Integer(), nullable=True),
        sa.Column("followup", sa.String(length=16), nullable=False),
        sa.Column("followup_detail", sa.Text(), nullable=False),
        sa.Column("remark", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_contact_events_dedupe_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("contact_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_events_app_day"), ["app", "day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contact_events_app_userid_external_userid"),
            ["app", "userid", "external_userid"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_contact_events_followup"), ["followup"], unique=False)

    op.create_table(
        "contact_settings",
        sa.Column("app", sa.String(length=32), nullable=False),
        sa.Column("default_welcome", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=160), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("app", name=op.f("pk_contact_settings")),
    )
    op.create_table(
        "group_code_joins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_code_joins")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_group_code_joins_dedupe_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("group_code_joins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_code_joins_code_id_day"), ["code_id", "day"], unique=False
        )

    op.create_table(
        "group_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=True),
        sa.Column("qr_code", sa.String(length=512), nullable=False),
        sa.Column("pool", sa.JSON(), nullable=False),
        sa.Column("active", sa.JSON(), nullable=False),
        sa.Column("auto_create", sa.Boolean(), nullable=False),
        sa.Column("base_name", sa.String(length=64), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=False),
        sa.Column("full_members", sa.Integer(), nullable=False),
        sa.Column("low_water", sa.Integer(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("chat", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_codes")),
        sa.UniqueConstraint("app", "name", name=op.f("uq_group_codes_app_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_group_codes_slug")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "lead_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("welcome", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_channels")),
        sa.UniqueConstraint("app", "name", name=op.f("uq_lead_channels_app_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "live_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("skip_verify", sa.Boolean(), nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=True),
        sa.Column("qr_code", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("chat", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_codes")),
        sa.UniqueConstraint("app", "name", name=op.f("uq_live_codes_app_name")),
        sa.UniqueConstraint("app", "state", name=op.f("uq_live_codes_app_state")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "reception_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=False),
        sa.Column("remark", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_groups")),
        sa.UniqueConstraint("app", "name", name=op.f("uq_reception_groups_app_name")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("reception_groups")
    op.drop_table("live_codes")
    op.drop_table("lead_channels")
    op.drop_table("group_codes")
    with op.batch_alter_table("group_code_joins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_code_joins_code_id_day"))

    op.drop_table("group_code_joins")
    op.drop_table("contact_settings")
    with op.batch_alter_table("contact_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_events_followup"))
        batch_op.drop_index(batch_op.f("ix_contact_events_app_userid_external_userid"))
        batch_op.drop_index(batch_op.f("ix_contact_events_app_day"))

    op.drop_table("contact_events")
