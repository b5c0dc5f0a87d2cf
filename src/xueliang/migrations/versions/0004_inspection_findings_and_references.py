"""inspection findings and channel references (reviewed: two new tables, their indexes and FKs)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:30:48.168319
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xueliang.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("output_ok", sa.Boolean(), nullable=False),
        sa.Column("failure", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("defects", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("codec", sa.String(length=8), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("reference_set", sa.Boolean(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_inspection_finding_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_finding")),
    )
    with op.batch_alter_table("inspection_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_finding_at"), ["at"], unique=False)
        batch_op.create_index("ix_inspection_finding_channel_at", ["channel_id", "at"], unique=False)

    op.create_table(
        "inspection_reference",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_inspection_reference_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["inspection_finding.id"],
            name=op.f("fk_inspection_reference_finding_id_inspection_finding"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_inspection_reference")),
    )


def downgrade() -> None:
    op.drop_table("inspection_reference")
    with op.batch_alter_table("inspection_finding", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_finding_channel_at")
        batch_op.drop_index(batch_op.f("ix_inspection_finding_at"))

    op.drop_table("inspection_finding")
