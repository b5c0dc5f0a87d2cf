"""Logins, token refresh, logout and request authentication against the database.

Failed logins lock the user name (and, at ten times the count, the client address) out with
the same :class:`~xueliang.gb28181.Lockout` policy as failed SIP digest registrations; logins
and refreshes are rate limited per client address.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.config import Settings
from xueliang.db import utcnow
from xueliang.gb28181.guard import Lockout, RateLimiter
from xueliang.security.accounts import find_user, load_rules
from xueliang.security.audit import AuditEntry, append_audit, record_audit
from xueliang.security.models import AuthSession, User
from xueliang.security.passwords import verify_password
from xueliang.security.principal import Principal
from xueliang.security.tokens import (
    InvalidToken,
    decode_access_token,
    issue_access_token,
    load_signing_key,
    new_refresh_token,
    refresh_hash,
    same_hash,
    split_refresh_token,
)
from xueliang.security.totp import verify_totp

__all__ = ["AuthError", "Authority", "TokenPair", "login_lockout"]


class AuthError(Exception):
    """Authentication refused: ``status`` (401, 429) and a ``detail`` safe to show."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user: User

    def public(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


def login_lockout(settings: Settings, per_source: bool = False) -> Lockout:
    """The lockout policy shared by logins and SIP digest registration (``login_*`` settings)."""
    factor = 10 if per_source else 1
    return Lockout(
        max_failures=settings.login_max_failures * factor,
        window=settings.login_failure_window,
        lockout=settings.login_lockout_seconds,
    )


BAD_LOGIN = "wrong user name or password"
LOCKED = "too many failed logins: this account or address is locked for a while; try again later"


class Authority:
    """Issues and checks tokens for one platform process."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], key: bytes) -> None:
        self.settings = settings
        self.sessions = sessions
        self.key = key
        self.zone = ZoneInfo(settings.timezone)
        self.user_lockout = login_lockout(settings)
        self.source_lockout = login_lockout(settings, per_source=True)
        per_minute = settings.login_rate_limit
        self.limiter = RateLimiter(rate=per_minute / 60.0, burst=max(per_minute, 1.0))

    @classmethod
    def open(cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Authority:
        return cls(settings, sessions, load_signing_key(settings.data_dir))

    def _limit(self, client: str) -> None:
        if not self.limiter.allow(client, time.monotonic()):
            wait = max(1, round(60.0 / self.settings.login_rate_limit))
            raise AuthError(429, "too many requests from this address: wait and try again", wait)

    async def login(
        self, username: str, password: str, otp: str | None, client: str, user_agent: str = ""
    ) -> TokenPair:
        """A new session for a correct user name, password (and one-time code when enrolled).
        Every attempt past the rate limit is audited, successful or not."""
        self._limit(client)
        try:
            return await self._login(username, password, otp, client, user_agent)
        except AuthError as exc:
            outcome = "denied" if exc.detail == LOCKED else "failed"
            entry = AuditEntry(
                username[:64], "login", outcome, client_address=client, detail={"error": exc.detail}
            )
            await record_audit(self.sessions, entry)
            raise

    async def _login(
        self, username: str, password: str, otp: str | None, client: str, user_agent: str
    ) -> TokenPair:
        now_mono = time.monotonic()
        key = username.casefold()
        if self.user_lockout.locked(key, now_mono) or self.source_lockout.locked(client, now_mono):
            raise AuthError(401, LOCKED)
        async with self.sessions() as session, session.begin():
            user = await find_user(session, username)
            ok, rehashed = await asyncio.to_thread(
                verify_password, user.password_hash if user else None, password
            )
            if user is None or not ok or user.disabled:
                self._failed(key, client)
                raise AuthError(401, BAD_LOGIN)
            if user.totp_secret:
                if not otp:
                    raise AuthError(401, "a one-time code is required: send it in the 'otp' field")
                step = verify_totp(user.totp_secret, otp, time.time(), user.totp_last_step)
                if step is None:
                    self._failed(key, client)
                    raise AuthError(401, "wrong or already used one-time code")
                user.totp_last_step = step
            if rehashed:
                user.password_hash = rehashed
            self.user_lockout.success(key)
            pair = await self._open_session(session, user, "password", client, user_agent)
            entry = AuditEntry(
                user.username, "login", client_address=client, detail={"session": pair.session_id}
            )
            await append_audit(session, entry)
            return pair

    async def login_as(self, user_id: int, method: str, client: str, user_agent: str = "") -> TokenPair:
        """A new session for an account already authenticated elsewhere (single sign-on)."""
        async with self.sessions() as session, session.begin():
            user = await session.get(User, user_id)
            if user is None or user.disabled:
                raise AuthError(401, "the account is disabled")
            pair = await self._open_session(session, user, method, client, user_agent)
            detail = {"session": pair.session_id, "method": method}
            await append_audit(
                session, AuditEntry(user.username, "login", client_address=client, detail=detail)
            )
            return pair

    def _failed(self, key: str, client: str) -> None:
        now = time.monotonic()
        self.user_lockout.failure(key, now)
        self.source_lockout.failure(client, now)

    async def _open_session(
        self, session: AsyncSession, user: User, method: str, client: str, user_agent: str
    ) -> TokenPair:
        now = utcnow()
        session_id = secrets.token_hex(16)
        refresh, digest = new_refresh_token(session_id)
        session.add(
            AuthSession(
                id=session_id,
                user_id=user.id,
                refresh_hash=digest,
                method=method,
                client_address=client[:64],
                user_agent=user_agent[:200],
                created_at=now,
                refreshed_at=now,
                expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl),
            )
        )
        await session.flush()
        return self._pair(user, session_id, refresh)

    def _pair(self, user: User, session_id: str, refresh: str) -> TokenPair:
        ttl = self.settings.access_token_ttl
        access = issue_access_token(self.key, user.id, user.username, session_id, int(time.time()), ttl)
        return TokenPair(access, refresh, ttl, session_id, user)

    async def refresh(self, token: str, client: str) -> TokenPair:
        """New tokens for a live session; the refresh token rotates. Presenting an old one
        again means it was copied: the session is revoked."""
        self._limit(client)
        try:
            session_id, secret = split_refresh_token(token)
        except InvalidToken as exc:
            raise AuthError(401, str(exc)) from None
        now = utcnow()
        async with self.sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(AuthSession, User)
                    .join(User, User.id == AuthSession.user_id)
                    .where(AuthSession.id == session_id)
                )
            ).first()
            if row is None:
                raise AuthError(401, "invalid refresh token")
            auth, user = row
            if auth.revoked_at is not None or auth.expires_at <= now or user.disabled:
                raise AuthError(401, "the session has ended: log in again")
            reused = not same_hash(auth.refresh_hash, refresh_hash(secret))
            if reused:  # committed before the error below
                auth.revoked_at, auth.revoked_by = now, "refresh-token-reuse"
            else:
                refresh, digest = new_refresh_token(session_id)
                auth.refresh_hash = digest
                auth.refreshed_at = now
                auth.expires_at = now + timedelta(seconds=self.settings.refresh_token_ttl)
        if reused:
            raise AuthError(401, "refresh token already used: the session is revoked, log in again")
        return self._pair(user, session_id, refresh)

    async def authenticate(self, token: str) -> Principal:
        """The principal behind a bearer access token whose session is still live."""
        try:
            claims = decode_access_token(self.key, token, int(time.time()))
        except InvalidToken as exc:
            raise AuthError(401, str(exc)) from None
        now = utcnow()
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(AuthSession.revoked_at, AuthSession.expires_at, User)
                    .join(User, User.id == AuthSession.user_id)
                    .where(AuthSession.id == claims.session_id)
                )
            ).first()
            if row is None or row[2].id != claims.user_id:
                raise AuthError(401, "invalid token: unknown session")
            revoked_at, expires_at, user = row
            if revoked_at is not None or expires_at <= now:
                raise AuthError(401, "the session has ended: log in again")
            if user.disabled:
                raise AuthError(401, "the account is disabled")
            rules = await load_rules(session, user, now, self.zone)
        return Principal(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            department=user.department,
            session_id=claims.session_id,
            rules=rules,
        )

    async def revoke(self, session_id: str, by: str, client: str, action: str = "logout") -> bool:
        """End a session (``logout``, or an administrator's ``revoke_session``), audited;
        False if it was not live."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(AuthSession)
                .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_by=by)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                await append_audit(session, AuditEntry(by, action, target=session_id, client_address=client))
        return bool(result.rowcount)  # type: ignore[attr-defined]
