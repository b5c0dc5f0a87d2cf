"""privacy masks, security alerts and the vulnerable-firmware list (reviewed: three new
tables; at most one open alert per device and kind through a partial unique index)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 15:03:49.434249
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xueliang.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("device_id", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", xueliang.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alert")),
    )
    with op.batch_alter_table("security_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_alert_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_alert_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_alert_last_seen"), ["last_seen"], unique=False)
        batch_op.create_index(
            "ix_security_alert_open",
            ["device_id", "kind"],
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )

    op.create_table(
        "vulnerable_firmware",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manufacturer", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("firmware", sa.String(length=100), nullable=False),
        sa.Column("advisory", sa.Text(), nullable=False),
        sa.Column("created_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vulnerable_firmware")),
    )
    op.create_table(
        "privacy_mask",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("updated_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_privacy_mask_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "position", name=op.f("pk_privacy_mask")),
    )


def downgrade() -> None:
    op.drop_table("privacy_mask")
    op.drop_table("vulnerable_firmware")
    with op.batch_alter_table("security_alert", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_security_alert_open",
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_security_alert_last_seen"))
        batch_op.drop_index(batch_op.f("ix_security_alert_kind"))
        batch_op.drop_index(batch_op.f("ix_security_alert_device_id"))

    op.drop_table("security_alert")
