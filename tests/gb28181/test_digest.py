"""Digest authentication: RFC 2617 vectors, device header styles, stateless nonces."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from xueliang.gb28181 import (
    DigestError,
    NonceSigner,
    NonceStatus,
    authorize,
    compute_response,
    make_challenge,
    parse_authorization,
    parse_challenge,
    parse_message,
    verify_response,
)

DATA = Path(__file__).parent / "data"


def test_rfc2617_vector() -> None:
    assert compute_response(
        username="Mufasa", password="Circle Of Life", realm="testrealm@host.com",
        method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth", nc="00000001", cnonce="0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"  # fmt: skip


def test_challenge_round_trip() -> None:
    c = make_challenge("3402000000", "abc")
    assert c.to_header() == 'Digest realm="3402000000", nonce="abc", algorithm=MD5'
    assert parse_challenge(c.to_header()) == c
    q = make_challenge("3402000000", "n", qop=True, stale=True, opaque="o")
    assert 'qop="auth"' in q.to_header() and "stale=TRUE" in q.to_header()
    assert parse_challenge(q.to_header()) == q
    hik = parse_challenge('Digest realm="hik",nonce="a1b2",algorithm=MD5')
    assert hik.realm == "hik" and hik.qop == ()


@pytest.mark.parametrize(
    ("file", "password"),
    [
        ("hikvision_register_auth.sip", "12345678"),
        ("dahua_register_auth.sip", "admin123"),
        ("uniview_register_auth.sip", "Uniview1"),
    ],
)
def test_device_authorization_headers_verify(file: str, password: str) -> None:
    request = parse_message((DATA / file).read_bytes())
    header = request.get("Authorization")
    assert header is not None
    creds = parse_authorization(header)
    assert creds.realm == "3402000000" and creds.username.startswith("3402")
    assert verify_response(creds, method="REGISTER", password=password)
    assert not verify_response(creds, method="REGISTER", password=password + "x")
    stored = hashlib.md5(f"{creds.username}:{creds.realm}:{password}".encode()).hexdigest()
    assert verify_response(creds, method="REGISTER", ha1=stored)  # stored-HA1 path


def test_uniview_quoted_qop_and_spacing() -> None:
    header = (DATA / "uniview_register_auth.sip").read_bytes().decode().split("authorization: ")[1]
    creds = parse_authorization(header.split("\n")[0])
    assert creds.qop == "auth" and creds.nc == "00000002" and creds.algorithm == "MD5"


def test_parse_errors() -> None:
    with pytest.raises(DigestError) as info:
        parse_authorization("Basic dXNlcjpwYXNz")
    assert info.value.status == 401
    with pytest.raises(DigestError):
        parse_authorization('Digest username="a", realm="b"')
    with pytest.raises(DigestError):
        parse_authorization('Digest username="a" realm')
    with pytest.raises(DigestError):
        parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-512-256')
    with pytest.raises(DigestError):
        parse_authorization('Digest username="a", realm="b", nonce="n", uri="u", response="r", qop=auth')


@pytest.mark.parametrize("qop", [False, True])
def test_client_authorize_then_server_verify(qop: bool) -> None:
    signer = NonceSigner(b"0123456789abcdef-secret", lifetime=300)
    nonce = signer.make(1000.0, "3402000000")
    challenge = parse_challenge(make_challenge("3402000000", nonce, qop=qop).to_header())
    creds = authorize(challenge, username="34020000001320000001", password="pw",
                      method="REGISTER", uri="sip:34020000002000000001@3402000000",
                      cnonce="c0ffee", nc=1)  # fmt: skip
    assert (creds.qop == "auth") is qop
    parsed = parse_authorization(creds.to_header())
    assert parsed == creds
    assert verify_response(parsed, method="REGISTER", password="pw")
    assert signer.check(parsed.nonce, 1100.0, "3402000000") is NonceStatus.VALID


def test_nonce_staleness_and_forgery() -> None:
    signer = NonceSigner(b"0123456789abcdef-secret", lifetime=60)
    nonce = signer.make(500.0, "r")
    assert signer.check(nonce, 500.0, "r") is NonceStatus.VALID
    assert signer.check(nonce, 561.0, "r") is NonceStatus.STALE
    assert signer.check(nonce, 400.0, "r") is NonceStatus.INVALID  # from the future
    assert signer.check(nonce, 500.0, "other-realm") is NonceStatus.INVALID
    other = NonceSigner(b"another-secret-of-16+", lifetime=60)
    assert other.check(nonce, 500.0, "r") is NonceStatus.INVALID
    tampered = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    assert signer.check(tampered, 500.0, "r") is NonceStatus.INVALID
    assert signer.check("!!!", 500.0, "r") is NonceStatus.INVALID
    assert signer.check("", 500.0, "r") is NonceStatus.INVALID
    assert signer.make(1.0) != signer.make(2.0)
    with pytest.raises(ValueError):
        NonceSigner(b"short")


def test_md5_sess() -> None:
    challenge = parse_challenge('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"')
    creds = authorize(challenge, username="u", password="p", method="REGISTER", uri="sip:r",
                      cnonce="cn")  # fmt: skip
    assert verify_response(creds, method="REGISTER", password="p")
