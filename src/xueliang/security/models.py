"""Security tables: accounts, login sessions, access grants and the audit chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xueliang.db import Base, UtcDateTime, utcnow

__all__ = ["AccessGrant", "AuditRecord", "AuthSession", "User"]


class User(Base):
    """A person's account (账号). ``department`` (部门) is the group shares are made to."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None: single sign-on only
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a one-time code is used once
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuthSession(Base):
    """A login: its refresh token's hash, and whether it was revoked (logout, administrator)."""

    __tablename__ = "auth_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    refresh_hash: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16), default="password")  # password, oidc
    client_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class AccessGrant(Base):
    """A role over a scope for a user or a department, allow or deny (deny wins).

    The scope is every channel when no scope field is set; otherwise a channel must match
    every field that is set: civil-code prefix, organisation subtree, point class, and the
    explicit channel list. ``weekdays`` (bit 0 = Monday) and ``minute_from``/``minute_to``
    (local minutes of the day, the end exclusive; from > to wraps past midnight) limit when it
    applies; ``expires_at`` ends it. A share (共享) is a grant to a department by another one.
    """

    __tablename__ = "access_grant"
    __table_args__ = (Index("ix_access_grant_active", "user_id", "department", "revoked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="role")  # role, share
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    department: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    effect: Mapped[str] = mapped_column(String(8), default="allow")  # allow, deny
    region: Mapped[str | None] = mapped_column(String(12))
    org_code: Mapped[str | None] = mapped_column(String(64))
    point_class: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    weekdays: Mapped[int | None] = mapped_column(Integer)
    minute_from: Mapped[int | None] = mapped_column(Integer)
    minute_to: Mapped[int | None] = mapped_column(Integer)
    require_reason: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class AuditRecord(Base):
    """One audited event (审计日志), append-only and hash-chained: ``hash`` is the SHA-256 of
    the record's canonical form, which includes ``prev_hash`` (the previous record's hash)."""

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # ok, denied, failed
    channel: Mapped[str | None] = mapped_column(String(20), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    client_address: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
