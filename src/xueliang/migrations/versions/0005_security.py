"""security: accounts, login sessions, access grants and the audit chain (reviewed: four new tables)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:25:41.781421
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xueliang.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_record")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_record_hash")),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_record_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_record_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_record_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_record_channel"), ["channel"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("oidc_subject", sa.String(length=255), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", xueliang.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("oidc_subject", name=op.f("uq_user_account_oidc_subject")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_department"), ["department"], unique=False)

    op.create_table(
        "access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("effect", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=True),
        sa.Column("org_code", sa.String(length=64), nullable=True),
        sa.Column("point_class", sa.Integer(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("weekdays", sa.Integer(), nullable=True),
        sa.Column("minute_from", sa.Integer(), nullable=True),
        sa.Column("minute_to", sa.Integer(), nullable=True),
        sa.Column("require_reason", sa.Boolean(), nullable=False),
        sa.Column("expires_at", xueliang.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", xueliang.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_access_grant_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grant")),
    )
    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.create_index("ix_access_grant_active", ["user_id", "department", "revoked_at"], unique=False)

    op.create_table(
        "auth_session",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("refresh_hash", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("created_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", xueliang.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", xueliang.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_auth_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_session_user_id"))

    op.drop_table("auth_session")
    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_access_grant_active")

    op.drop_table("access_grant")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_department"))

    op.drop_table("user_account")
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_record_channel"))
        batch_op.drop_index(batch_op.f("ix_audit_record_at"))
        batch_op.drop_index(batch_op.f("ix_audit_record_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_record_action"))

    op.drop_table("audit_record")
