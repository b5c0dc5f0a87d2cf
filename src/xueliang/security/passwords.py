"""Password hashing (Argon2id) and the password policy (pure, apart from the hash's cost)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MIN_LENGTH", "PasswordRejected", "check_password_policy", "hash_password", "verify_password"]

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 low-memory profile
# Verified against when the user does not exist, so a missing account costs the same time.
_DUMMY = _hasher.hash("not a password of anyone")


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why."""


def check_password_policy(password: str, username: str) -> None:
    """At least 10 characters, not the user name (nor containing it), and mixed character
    classes: three of lower case, upper case, digits and others, or two for 16+ characters."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"the password must have at most {MAX_LENGTH} characters")
    if username and username.casefold() in password.casefold():
        raise PasswordRejected("the password must not contain the user name")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    needed = 2 if len(password) >= 16 else 3
    if classes < needed:
        raise PasswordRejected(
            "the password must mix character classes: three of lower case, upper case, digits "
            "and other characters (two for 16 characters or more)"
        )
    if len(set(password)) < 4:
        raise PasswordRejected("the password repeats too few different characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one should be upgraded). ``stored`` None: no password."""
    if not stored:
        _safe_verify(_DUMMY, password)
        return False, None
    if not _safe_verify(stored, password):
        return False, None
    return True, (_hasher.hash(password) if _hasher.check_needs_rehash(stored) else None)


def _safe_verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
