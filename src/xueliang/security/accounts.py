"""Accounts and their grants in the database: create, change password, load the rules."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Organization
from xueliang.security.grants import Rule
from xueliang.security.models import AccessGrant, User
from xueliang.security.passwords import check_password_policy, hash_password
from xueliang.security.permissions import ROLES

__all__ = [
    "AccountError",
    "active_grants",
    "create_user",
    "find_user",
    "load_rules",
    "set_password",
    "validate_username",
]

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


def validate_username(name: str) -> str:
    if not USERNAME.match(name):
        raise AccountError(
            "a user name has 2-64 characters: letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


async def find_user(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def create_user(
    session: AsyncSession,
    username: str,
    password: str | None,
    roles: list[str],
    *,
    display_name: str = "",
    department: str | None = None,
    created_by: str = "",
) -> User:
    """A new account with unscoped grants of ``roles``; AccountError or PasswordRejected if not."""
    validate_username(username)
    for role in roles:
        check_role(role)
    if await find_user(session, username) is not None:
        raise AccountError(f"user {username} already exists")
    password_hash = None
    if password is not None:
        check_password_policy(password, username)
        password_hash = await asyncio.to_thread(hash_password, password)
    user = User(
        username=username,
        display_name=display_name or username,
        department=department or None,
        password_hash=password_hash,
    )
    session.add(user)
    await session.flush()
    for role in roles:
        session.add(AccessGrant(user_id=user.id, role=role, created_by=created_by))
    await session.flush()
    return user


async def set_password(session: AsyncSession, user: User, password: str, now: datetime) -> None:
    check_password_policy(password, user.username)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.password_changed_at = now


def active_grants(user: User, now: datetime) -> object:
    """The where-clause for the grants that reach ``user`` (own or department's) and are live."""
    grantee = AccessGrant.user_id == user.id
    if user.department:
        grantee = or_(grantee, AccessGrant.department == user.department)
    return and_(
        grantee,
        AccessGrant.revoked_at.is_(None),
        or_(AccessGrant.expires_at.is_(None), AccessGrant.expires_at > now),
    )


async def load_rules(session: AsyncSession, user: User, now: datetime, zone: ZoneInfo) -> tuple[Rule, ...]:
    """The rules of ``user`` that apply at ``now`` (expiry and time windows checked)."""
    rows = await session.execute(
        select(AccessGrant, Organization.path)
        .outerjoin(Organization, Organization.code == AccessGrant.org_code)
        .where(active_grants(user, now))
        .order_by(AccessGrant.id)
    )
    local = now.astimezone(zone)
    rules = []
    for grant, org_path in rows:
        if grant.role not in ROLES:
            continue
        rule = Rule(
            id=grant.id,
            role=grant.role,
            effect=grant.effect,
            region=grant.region,
            org_code=grant.org_code,
            org_path=org_path,
            point_class=grant.point_class,
            channels=frozenset(grant.channels) if grant.channels is not None else None,
            weekdays=grant.weekdays,
            minute_from=grant.minute_from,
            minute_to=grant.minute_to,
            require_reason=grant.require_reason,
            kind=grant.kind,
        )
        if rule.applies_at(local):
            rules.append(rule)
    return tuple(rules)
