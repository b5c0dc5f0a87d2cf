"""The registrar's decisions, with real digest arithmetic."""

from datetime import datetime

import pytest

from xueliang.gb28181.digest import NonceSigner, authorize, parse_challenge
from xueliang.gb28181.guard import Lockout
from xueliang.gb28181.message import SipRequest
from xueliang.gb28181.registrar import Registrar, RegistrationKind, gb_date

DEVICE = "34020000001320000001"
SOURCE = ("127.0.0.1", 5070)
LOCAL = datetime(2026, 11, 28, 19, 30, 5, 123456)


def register(
    *,
    expires: str | None = "3600",
    auth: str | None = None,
    user: str = DEVICE,
    extra: tuple[tuple[str, str], ...] = (),
) -> SipRequest:
    headers = [
        ("Via", "SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK1"),
        ("From", f"<sip:{user}@3402000000>;tag=1"),
        ("To", f"<sip:{user}@3402000000>"),
        ("Call-ID", "c1"),
        ("CSeq", "1 REGISTER"),
        ("Contact", f"<sip:{user}@127.0.0.1:5070>"),
    ]
    if expires is not None:
        headers.append(("Expires", expires))
    if auth is not None:
        headers.append(("Authorization", auth))
    return SipRequest("REGISTER", "sip:34020000002000000001@3402000000", tuple(headers + list(extra)))


@pytest.fixture
def registrar() -> Registrar:
    passwords = {"34020000001320000009": "own-secret"}
    return Registrar(
        realm="3402000000",
        default_password="12345678",
        password_for=passwords.get,
        nonces=NonceSigner(b"k" * 32, lifetime=300),
        device_lockout=Lockout(max_failures=3, window=300, lockout=600),
    )


def answer(registrar: Registrar, challenge_result, password: str, user: str = DEVICE) -> str:
    challenge = parse_challenge(dict(challenge_result.headers)["WWW-Authenticate"])
    return authorize(
        challenge,
        username=user,
        password=password,
        method="REGISTER",
        uri="sip:34020000002000000001@3402000000",
        cnonce="abc",
    ).to_header()


def test_challenge_then_register_with_date_and_version(registrar):
    first = registrar.handle(register(), SOURCE, 0, LOCAL)
    assert (first.kind, first.status) == (RegistrationKind.CHALLENGED, 401)
    assert 'realm="3402000000"' in dict(first.headers)["WWW-Authenticate"]
    auth = answer(registrar, first, "12345678")
    ok = registrar.handle(register(auth=auth, extra=(("X-GB-ver", "3.0"),)), SOURCE, 1, LOCAL)
    assert (ok.kind, ok.status, ok.expires, ok.gb_version) == (RegistrationKind.REGISTERED, 200, 3600, "3.0")
    headers = dict(ok.headers)
    assert headers["Date"] == "2026-11-28T19:30:05.123" == gb_date(LOCAL)
    assert headers["X-GB-ver"] == "3.0" and headers["Expires"] == "3600"


def test_unregister(registrar):
    auth = answer(registrar, registrar.handle(register(expires="0"), SOURCE, 0, LOCAL), "12345678")
    result = registrar.handle(register(expires="0", auth=auth), SOURCE, 1, LOCAL)
    assert (result.kind, result.status) == (RegistrationKind.UNREGISTERED, 200)


def test_per_device_password(registrar):
    own = "34020000001320000009"
    first = registrar.handle(register(user=own), SOURCE, 0, LOCAL)
    bad = registrar.handle(
        register(user=own, auth=answer(registrar, first, "12345678", own)), SOURCE, 1, LOCAL
    )
    assert bad.status == 403
    good = registrar.handle(
        register(user=own, auth=answer(registrar, first, "own-secret", own)), SOURCE, 2, LOCAL
    )
    assert good.status == 200


def test_missing_expires_is_400_and_short_is_423(registrar):
    assert registrar.handle(register(expires=None), SOURCE, 0, LOCAL).status == 400
    brief = registrar.handle(register(expires="10"), SOURCE, 0, LOCAL)
    assert brief.status == 423 and dict(brief.headers)["Min-Expires"] == "60"


def test_not_a_gb_id(registrar):
    assert registrar.handle(register(user="alice"), SOURCE, 0, LOCAL).status == 400


def test_wrong_password_locks_out(registrar):
    challenge = registrar.handle(register(), SOURCE, 0, LOCAL)
    for t in (1, 2):
        assert (
            registrar.handle(register(auth=answer(registrar, challenge, "nope")), SOURCE, t, LOCAL).status
            == 403
        )
    third = registrar.handle(register(auth=answer(registrar, challenge, "nope")), SOURCE, 3, LOCAL)
    assert third.locked_out
    # Even the right password is refused while locked out, and no challenge is offered.
    right = registrar.handle(register(auth=answer(registrar, challenge, "12345678")), SOURCE, 4, LOCAL)
    assert right.status == 403 and right.locked_out
    assert registrar.handle(register(), SOURCE, 5, LOCAL).status == 403
    assert registrar.handle(register(), SOURCE, 700, LOCAL).status == 401  # lockout over


def test_stale_and_forged_nonces_get_a_new_challenge(registrar):
    challenge = registrar.handle(register(), SOURCE, 0, LOCAL)
    auth = answer(registrar, challenge, "12345678")
    stale = registrar.handle(register(auth=auth), SOURCE, 1000, LOCAL)
    assert stale.status == 401 and "stale=true" in dict(stale.headers)["WWW-Authenticate"].lower()
    forged = auth.replace('nonce="', 'nonce="x')
    assert registrar.handle(register(auth=forged), SOURCE, 1, LOCAL).status == 401


def test_unreadable_authorization(registrar):
    assert registrar.handle(register(auth="Basic Zm9vOmJhcg=="), SOURCE, 0, LOCAL).status == 400
