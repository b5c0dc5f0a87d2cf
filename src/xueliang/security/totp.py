"""Time-based one-time codes (RFC 6238) as a second factor (pure: the time is passed in)."""

from __future__ import annotations

import hmac

import pyotp

__all__ = ["new_totp_secret", "provisioning_uri", "verify_totp"]

STEP = 30  # seconds


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=username, issuer_name="xueliang")


def verify_totp(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side for clock drift), or
    None; a step at or before ``last_step`` was used already and does not count again."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now // STEP)
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
