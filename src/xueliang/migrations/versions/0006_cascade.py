"""cascade: upper platforms (uplinks) and the channels listed for them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xueliang.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uplink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sip_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("password", sa.String(length=128), nullable=True),
        sa.Column("local_id", sa.String(length=20), nullable=False),
        sa.Column("register_expires", sa.Integer(), nullable=False),
        sa.Column("keepalive_interval", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("share_rules", sa.JSON(), nullable=False),
        sa.Column("created_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uplink")),
        sa.UniqueConstraint("sip_id", name=op.f("uq_uplink_sip_id")),
    )
    op.create_table(
        "uplink_channel",
        sa.Column("uplink_id", sa.Integer(), nullable=False),
        sa.Column("channel_gb_id", sa.String(length=20), nullable=False),
        sa.Column("upper_id", sa.String(length=20), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uplink_id"], ["uplink.id"], name=op.f("fk_uplink_channel_uplink_id_uplink"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("uplink_id", "channel_gb_id", name=op.f("pk_uplink_channel")),
    )


def downgrade() -> None:
    op.drop_table("uplink_channel")
    op.drop_table("uplink")
