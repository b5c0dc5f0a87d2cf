"""The registrar (GB/T 28181-2022 9.1; RFC 3261 §10.3), pure: a REGISTER in, a decision out.

Digest challenge with the platform's domain as realm; per-device passwords with the platform
default as fallback; 400 without Expires; 403 on wrong credentials (and lockout after
repeated failures, per device and per source); ``Expires: 0`` unregisters; the 200 carries
``Date`` (devices set their clock from it), ``Contact``, ``Expires`` and ``X-GB-ver`` echoed.
An ID the resource directory does not know (``is_known``) is refused with 403 after it has
authenticated, unless ``accept_unknown``; the result says when the default password served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from xueliang.gb28181.digest import (
    NonceSigner,
    NonceStatus,
    make_challenge,
    parse_authorization,
    verify_response,
)
from xueliang.gb28181.errors import SipError
from xueliang.gb28181.guard import Lockout
from xueliang.gb28181.message import Address, SipRequest, SipUri
from xueliang.gbcode import GbCodeError, parse_gb_id

__all__ = ["Registrar", "RegistrationKind", "RegistrationResult", "gb_date"]

Header = tuple[str, str]
MIN_EXPIRES = 60


class RegistrationKind(StrEnum):
    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    CHALLENGED = "challenged"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """The response to send, and what happened."""

    kind: RegistrationKind
    status: int
    reason: str
    device_id: str = ""
    expires: int = 0
    gb_version: str = ""
    headers: tuple[Header, ...] = field(default_factory=tuple)
    locked_out: bool = False
    default_password: bool = False  # authenticated with the platform default, not its own
    unknown_device: bool = False  # authenticated, but not in the resource directory


def gb_date(moment: datetime) -> str:
    """``Date`` as GB/T 28181 devices expect it: local ISO time with milliseconds (9.1.2)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class Registrar:
    """Decide REGISTERs. ``password_for(device_id)`` returns a device's own password or None;
    ``is_known(device_id)`` whether the resource directory has it (default: everyone)."""

    def __init__(
        self,
        *,
        realm: str,
        default_password: str,
        password_for: Callable[[str], str | None],
        nonces: NonceSigner,
        device_lockout: Lockout | None = None,
        source_lockout: Lockout | None = None,
        qop: bool = False,
        is_known: Callable[[str], bool] | None = None,
        accept_unknown: bool = True,
    ) -> None:
        self.realm = realm
        self.default_password = default_password
        self.password_for = password_for
        self.nonces = nonces
        self.device_lockout = device_lockout or Lockout(max_failures=5, window=300, lockout=900)
        self.source_lockout = source_lockout or Lockout(max_failures=50, window=300, lockout=900)
        self.qop = qop
        self.is_known = is_known
        self.accept_unknown = accept_unknown

    def handle(
        self, request: SipRequest, source: Address, now: float, local_time: datetime
    ) -> RegistrationResult:
        device_id = _device_id(request)
        if device_id is None:
            return _reject(400, "Bad Request: From is not a 20-digit GB ID")
        gb_version = request.get("X-GB-ver") or ""
        expires = request.expires
        if expires is None:
            contact = request.contact
            param = contact.param("expires") if contact else None
            expires = int(param) if param and param.isdigit() else None
        if expires is None:
            return _reject(400, "Bad Request: Expires is required", device_id)
        if 0 < expires < MIN_EXPIRES:
            return RegistrationResult(
                RegistrationKind.REJECTED,
                423,
                "Interval Too Brief",
                device_id,
                headers=(("Min-Expires", str(MIN_EXPIRES)),),
            )
        source_key = f"{source[0]}:{source[1]}"
        if self.device_lockout.locked(device_id, now) or self.source_lockout.locked(source_key, now):
            return _reject(403, "Forbidden: locked out after repeated failures", device_id, locked=True)

        header = request.get("Authorization")
        if header is None:
            return self._challenge(device_id, now)
        try:
            credentials = parse_authorization(header)
        except SipError:
            return _reject(400, "Bad Request: unreadable Authorization", device_id)
        status = self.nonces.check(credentials.nonce, now, self.realm)
        if status is NonceStatus.INVALID:
            return self._challenge(device_id, now)
        if status is NonceStatus.STALE:
            return self._challenge(device_id, now, stale=True)
        own_password = self.password_for(device_id)
        password = own_password or self.default_password
        if credentials.username != device_id or not verify_response(
            credentials, method="REGISTER", password=password
        ):
            locked = self.device_lockout.failure(device_id, now)
            locked = self.source_lockout.failure(source_key, now) or locked
            return _reject(403, "Forbidden: wrong credentials", device_id, locked=locked)
        self.device_lockout.success(device_id)
        unknown = self.is_known is not None and expires > 0 and not self.is_known(device_id)
        if unknown and not self.accept_unknown:
            return RegistrationResult(
                RegistrationKind.REJECTED,
                403,
                "Forbidden: not in the resource directory",
                device_id,
                unknown_device=True,
            )

        headers: list[Header] = [("Date", gb_date(local_time)), ("Expires", str(expires))]
        if request.contact is not None:
            headers.append(("Contact", str(request.contact)))
        if gb_version:
            headers.append(("X-GB-ver", gb_version))
        kind = RegistrationKind.UNREGISTERED if expires == 0 else RegistrationKind.REGISTERED
        return RegistrationResult(
            kind,
            200,
            "OK",
            device_id,
            expires,
            gb_version,
            tuple(headers),
            default_password=not own_password,
            unknown_device=unknown,
        )

    def _challenge(self, device_id: str, now: float, stale: bool = False) -> RegistrationResult:
        challenge = make_challenge(self.realm, self.nonces.make(now, self.realm), qop=self.qop, stale=stale)
        return RegistrationResult(
            RegistrationKind.CHALLENGED,
            401,
            "Unauthorized",
            device_id,
            headers=(("WWW-Authenticate", challenge.to_header()),),
        )


def _reject(status: int, reason: str, device_id: str = "", locked: bool = False) -> RegistrationResult:
    return RegistrationResult(RegistrationKind.REJECTED, status, reason, device_id, locked_out=locked)


def _device_id(request: SipRequest) -> str | None:
    uri = request.from_.uri
    user = uri.user if isinstance(uri, SipUri) else None
    if not user:
        return None
    try:
        return parse_gb_id(user).value
    except GbCodeError:
        return None
