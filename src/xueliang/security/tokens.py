"""Access and refresh tokens (pure: the time is passed in).

An access token is a short-lived JWT (HS256) naming the user and the session it belongs to,
so revoking the session stops the token at once. A refresh token is ``<session id>.<secret>``;
only the secret's SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jwt

__all__ = [
    "AccessClaims",
    "InvalidToken",
    "decode_access_token",
    "issue_access_token",
    "load_signing_key",
    "new_refresh_token",
    "refresh_hash",
    "split_refresh_token",
]

ISSUER = "xueliang"
ALGORITHM = "HS256"
KEY_FILE = "auth-signing.key"


class InvalidToken(Exception):
    """A token that is malformed, forged, tampered with, expired or of the wrong kind."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    username: str
    session_id: str
    expires_at: int


def issue_access_token(key: bytes, user_id: int, username: str, session_id: str, now: int, ttl: int) -> str:
    claims = {
        "iss": ISSUER,
        "typ": "access",
        "sub": str(user_id),
        "name": username,
        "sid": session_id,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(12),  # two tokens issued in the same second still differ
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_access_token(key: bytes, token: str, now: int) -> AccessClaims:
    """The claims of a valid access token; InvalidToken (with a reason) otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # never "none", never an algorithm the token picks
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "iss"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    if claims.get("typ") != "access":
        raise InvalidToken("invalid token: not an access token")
    if not isinstance(claims["exp"], int) or claims["exp"] <= now:
        raise InvalidToken("token expired")
    try:
        return AccessClaims(
            int(claims["sub"]), str(claims.get("name", "")), str(claims["sid"]), claims["exp"]
        )
    except (TypeError, ValueError):
        raise InvalidToken("invalid token: bad subject") from None


def new_refresh_token(session_id: str) -> tuple[str, str]:
    """(token to hand out, hash to store)."""
    secret = secrets.token_urlsafe(32)
    return f"{session_id}.{secret}", refresh_hash(secret)


def refresh_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_refresh_token(token: str) -> tuple[str, str]:
    """(session id, secret); InvalidToken if it is not shaped like a refresh token."""
    session_id, sep, secret = token.partition(".")
    if not sep or not session_id.isalnum() or len(session_id) > 64 or not secret or len(secret) > 128:
        raise InvalidToken("invalid refresh token")
    return session_id, secret


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def load_signing_key(data_dir: Path) -> bytes:
    """The token signing key in ``data_dir``, made (mode 0600) on first use. Never logged."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: another process that got there first wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"the token signing key in {path} is too short; delete it to make a new one")
    return key.encode()
