"""Pure parts: the password policy, Argon2 hashes, access tokens, one-time codes."""

import base64
import json

import jwt
import pyotp
import pytest

from xueliang.security import PasswordRejected, check_password_policy, hash_password, verify_password
from xueliang.security.tokens import (
    InvalidToken,
    decode_access_token,
    issue_access_token,
    load_signing_key,
    new_refresh_token,
    split_refresh_token,
)
from xueliang.security.totp import verify_totp

KEY = b"k" * 64


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Sh0rt!", "at least 10"),
        ("alice-Passw0rd", "user name"),
        ("ALICE-passw0rd", "user name"),
        ("alllowercase", "mix character classes"),
        ("lowercase123", "mix character classes"),
        ("Aa1Aa1Aa1Aa1", "too few different"),
        ("x" * 257 + "A1", "at most"),
    ],
)
def test_policy_refuses_weak_passwords(password, why):
    with pytest.raises(PasswordRejected, match=why):
        check_password_policy(password, "alice")


@pytest.mark.parametrize("password", ["Tr0ub4dor&3x", "correct horse battery staple 2", "Zq8-vw!mKp2"])
def test_policy_accepts_reasonable_passwords(password):
    check_password_policy(password, "alice")


def test_argon2_hash_round_trip():
    stored = hash_password("Tr0ub4dor&3x")
    assert stored.startswith("$argon2id$") and "Tr0ub4dor" not in stored
    assert verify_password(stored, "Tr0ub4dor&3x") == (True, None)
    assert verify_password(stored, "Tr0ub4dor&3y") == (False, None)
    assert verify_password(None, "anything") == (False, None)
    assert verify_password("not a hash", "anything") == (False, None)


def test_access_token_round_trip_and_expiry():
    token = issue_access_token(KEY, 7, "alice", "abc123", now=1000, ttl=60)
    claims = decode_access_token(KEY, token, now=1059)
    assert (claims.user_id, claims.username, claims.session_id) == (7, "alice", "abc123")
    with pytest.raises(InvalidToken, match="expired"):
        decode_access_token(KEY, token, now=1060)


def test_tokens_issued_in_the_same_second_differ():
    """A refresh right after login must hand out a new token, not the same bytes again."""
    first, second = (issue_access_token(KEY, 7, "alice", "abc123", now=1000, ttl=60) for _ in range(2))
    assert first != second


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_tampered_and_unsigned_tokens_are_refused():
    token = issue_access_token(KEY, 7, "alice", "abc123", now=1000, ttl=60)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = f"{header}.{_b64({**claims, 'sub': '1'})}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    forged = issue_access_token(b"x" * 64, 7, "alice", "abc123", now=1000, ttl=60)
    other_kind = jwt.encode({**claims, "typ": "refresh"}, KEY, algorithm="HS256")
    for bad in (tampered, unsigned, forged, other_kind, "", "a.b.c", token[:-2]):
        with pytest.raises(InvalidToken):
            decode_access_token(KEY, bad, now=1001)


def test_refresh_token_shape():
    token, digest = new_refresh_token("abc123")
    session_id, secret = split_refresh_token(token)
    assert session_id == "abc123" and secret not in digest and len(digest) == 64
    for bad in ("", "nodot", ".secret", "a b.c", "abc."):
        with pytest.raises(InvalidToken):
            split_refresh_token(bad)


def test_signing_key_is_made_once_and_private(tmp_path):
    key = load_signing_key(tmp_path)
    assert load_signing_key(tmp_path) == key and len(key) >= 32
    assert (tmp_path / "auth-signing.key").stat().st_mode & 0o077 == 0


def test_totp_codes_are_single_use_and_tolerate_one_step_of_drift():
    secret = pyotp.random_base32()
    now = 1_700_000_000.0
    code = pyotp.TOTP(secret).at(now)
    step = verify_totp(secret, code, now, None)
    assert step == int(now // 30)
    assert verify_totp(secret, code, now, step) is None, "a code is used once"
    assert verify_totp(secret, pyotp.TOTP(secret).at(now - 30), now, None) == step - 1
    assert verify_totp(secret, pyotp.TOTP(secret).at(now - 90), now, None) is None
    assert verify_totp(secret, "abcdef", now, None) is None


def test_sip_digest_lockout_follows_the_login_settings(tmp_path):
    from xueliang.config import Settings
    from xueliang.gb28181.server import SignallingServer
    from xueliang.gb28181.store import DirectoryWriter

    settings = Settings(
        data_dir=tmp_path, login_max_failures=2, login_failure_window=60, login_lockout_seconds=120
    )
    server = SignallingServer(settings, DirectoryWriter(settings.database_url), {})
    device, source = server.registrar.device_lockout, server.registrar.source_lockout
    assert (device.max_failures, device.window, device.lockout) == (2, 60, 120)
    assert (source.max_failures, source.window, source.lockout) == (20, 60, 120)
    assert not device.failure("34020000001320000001", 0.0) and device.failure("34020000001320000001", 1.0)
    assert device.locked("34020000001320000001", 100.0) and not device.locked("34020000001320000001", 121.0)
