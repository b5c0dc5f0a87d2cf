"""HTTP Digest authentication for SIP (RFC 2617 §3, RFC 3261 §22.4; GB/T 28181-2022 §9.1.2).

Server side: :class:`NonceSigner` makes stateless nonces (timestamp + HMAC) and checks their
age, :func:`make_challenge` builds ``WWW-Authenticate``, :func:`parse_authorization` reads
what Hikvision, Dahua and Uniview devices send, :func:`verify_response` checks it in constant
time. Client side (simulator, cascade): :func:`parse_challenge` and :func:`authorize`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from enum import Enum

from xueliang.gb28181.errors import DigestError

__all__ = [
    "Challenge",
    "DigestCredentials",
    "NonceSigner",
    "NonceStatus",
    "authorize",
    "compute_response",
    "make_challenge",
    "parse_authorization",
    "parse_challenge",
    "verify_response",
]

_ALGORITHMS = {"MD5", "MD5-SESS"}
# auth-param = token "=" ( token / quoted-string ), RFC 2617 §1.2; spaces around "=" tolerated.
_PARAM = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)\s*(?:,|$)', re.S)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_params(header: str) -> dict[str, str]:
    """``Digest a=b, c="d"`` → lower-cased names to unquoted values."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"unsupported authentication scheme {scheme!r}", status=401)
    params: dict[str, str] = {}
    pos, rest = 0, rest.strip()
    while pos < len(rest):
        if rest[pos] in ", \t":
            pos += 1
            continue
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            raise DigestError(f"bad digest parameter near {rest[pos:pos + 30]!r}")
        params[match.group(1).lower()] = _unquote(match.group(2))
        pos = match.end()
    return params


@dataclass(frozen=True, slots=True)
class Challenge:
    """A ``WWW-Authenticate: Digest`` challenge (RFC 2617 §3.2.1)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    def __post_init__(self) -> None:
        if self.algorithm.upper() not in _ALGORITHMS:
            raise DigestError(f"unsupported algorithm {self.algorithm}")
        if not self.nonce:
            raise DigestError("empty nonce")

    def to_header(self) -> str:
        parts = [f"realm={_quote(self.realm)}", f"nonce={_quote(self.nonce)}"]
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.stale:
            parts.append("stale=TRUE")
        parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f"qop={_quote(','.join(self.qop))}")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """The parameters of an ``Authorization: Digest`` header (RFC 2617 §3.2.2)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm.upper() not in _ALGORITHMS:
            raise DigestError(f"unsupported algorithm {self.algorithm}")
        if self.qop is not None and (self.nc is None or self.cnonce is None):
            raise DigestError("qop given without nc and cnonce")  # RFC 2617 §3.2.2

    def to_header(self) -> str:
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(self.response)}",
            f"algorithm={self.algorithm}",
        ]
        if self.qop is not None:
            parts += [f"cnonce={_quote(self.cnonce or '')}", f"qop={self.qop}", f"nc={self.nc}"]
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        return "Digest " + ", ".join(parts)


def parse_challenge(header: str) -> Challenge:
    """Parse a ``WWW-Authenticate``/``Proxy-Authenticate`` Digest value."""
    params = _parse_params(header)
    try:
        return Challenge(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=params.get("algorithm", "MD5"),
            qop=tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip()),
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
        )
    except KeyError as missing:
        raise DigestError(f"challenge without {missing.args[0]}") from None


def parse_authorization(header: str) -> DigestCredentials:
    """Parse an ``Authorization`` Digest value; quoted or bare values, any spacing."""
    params = _parse_params(header)
    try:
        return DigestCredentials(
            username=params["username"],
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            algorithm=params.get("algorithm", "MD5") or "MD5",
            qop=params.get("qop") or None,
            nc=params.get("nc"),
            cnonce=params.get("cnonce"),
            opaque=params.get("opaque"),
        )
    except KeyError as missing:
        raise DigestError(f"Authorization without {missing.args[0]}") from None


def compute_response(
    *,
    username: str,
    password: str | None = None,
    realm: str,
    method: str,
    uri: str,
    nonce: str,
    algorithm: str = "MD5",
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    ha1: str | None = None,
) -> str:
    """The request-digest (RFC 2617 §3.2.2.1). Pass ``password`` or a stored ``ha1``."""
    if ha1 is None:
        if password is None:
            raise DigestError("need a password or HA1")
        ha1 = _md5(f"{username}:{realm}:{password}")
    if algorithm.upper() == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{nonce}:{cnonce or ''}")
    ha2 = _md5(f"{method}:{uri}")
    if qop in ("auth", "auth-int"):
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")  # RFC 2069 compatibility (§3.2.2.1)


def verify_response(
    credentials: DigestCredentials,
    *,
    method: str,
    password: str | None = None,
    ha1: str | None = None,
) -> bool:
    """True if the credentials answer their nonce for ``method``; constant-time compare.

    The nonce's freshness is a separate check (:meth:`NonceSigner.check`).
    """
    expected = compute_response(
        username=credentials.username,
        password=password,
        realm=credentials.realm,
        method=method,
        uri=credentials.uri,
        nonce=credentials.nonce,
        algorithm=credentials.algorithm,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
        ha1=ha1,
    )
    return hmac.compare_digest(expected.encode(), credentials.response.lower().encode())


def make_challenge(
    realm: str, nonce: str, *, qop: bool = False, stale: bool = False, opaque: str | None = None
) -> Challenge:
    """A GB/T 28181 §9.1.2 challenge: MD5, qop=auth only when asked (devices ignore it)."""
    return Challenge(realm, nonce, "MD5", ("auth",) if qop else (), opaque, stale)


def authorize(
    challenge: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str,
    nc: int = 1,
) -> DigestCredentials:
    """Answer a challenge (the device side). Uses qop=auth when the challenge offers it."""
    qop = "auth" if "auth" in challenge.qop else None
    nc_text = f"{nc:08x}" if qop else None
    response = compute_response(
        username=username,
        password=password,
        realm=challenge.realm,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce if qop else None,
    )
    return DigestCredentials(
        username=username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce if qop else None,
        opaque=challenge.opaque,
    )


class NonceStatus(Enum):
    """What :meth:`NonceSigner.check` found."""

    VALID = "valid"
    STALE = "stale"  # ours but too old: challenge again with stale=TRUE (RFC 2617 §3.2.1)
    INVALID = "invalid"  # not ours, or tampered with


class NonceSigner:
    """Stateless nonces: ``base64url(timestamp ‖ HMAC-SHA256(secret, timestamp ‖ realm))``.

    No server state, so any node holding the secret can verify; ``now`` is passed in.
    """

    def __init__(self, secret: bytes, *, lifetime: float = 300.0) -> None:
        if len(secret) < 16:
            raise ValueError("nonce secret must be at least 16 bytes")
        self._secret = secret
        self.lifetime = lifetime

    def _mac(self, stamp: bytes, realm: str) -> bytes:
        return hmac.new(self._secret, stamp + realm.encode(), hashlib.sha256).digest()[:16]

    def make(self, now: float, realm: str = "") -> str:
        stamp = struct.pack(">Q", int(now * 1000))
        return base64.urlsafe_b64encode(stamp + self._mac(stamp, realm)).decode().rstrip("=")

    def check(self, nonce: str, now: float, realm: str = "") -> NonceStatus:
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return NonceStatus.INVALID
        if len(raw) != 24:
            return NonceStatus.INVALID
        stamp, mac = raw[:8], raw[8:]
        if not hmac.compare_digest(mac, self._mac(stamp, realm)):
            return NonceStatus.INVALID
        age = now - struct.unpack(">Q", stamp)[0] / 1000
        if age < -5.0:  # from the future beyond clock skew
            return NonceStatus.INVALID
        return NonceStatus.VALID if age <= self.lifetime else NonceStatus.STALE
