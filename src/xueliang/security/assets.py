"""Asset and connection monitoring (资产、漏洞、违规内外联), pure: what the signalling plane sees
of devices in, security events out. Time is passed in; nothing here reads a clock.

A device is watched at its *endpoint*, the source host and transport it registered from
(ports change behind NAT and with every TCP connection, so they are not compared). Kinds:

- ``unknown_device``: an ID that is not in the resource directory registered (or was refused,
  with ``sip_accept_unknown`` off). Only once the directory is curated: with no device in it
  at start-up the platform is still discovering its fleet.
- ``address_changed``: a device registered from another endpoint than before.
- ``duplicate_id``: two endpoints use one ID at once: the endpoint a device moved away from
  keeps talking (keepalives, or registering back) while the new one is alive.
- ``forged_keepalive``: a keepalive from an endpoint the device never authenticated from,
  or for a device that is not registered from an endpoint it never used. Keepalives carry
  no credentials (GB/T 28181-2022 9.6), so these are what a spoofer sends.
- ``default_password``: a registration authenticated with the platform's default password.
- ``vulnerable_firmware``: DeviceInfo reported a manufacturer/model/firmware on the
  operator's vulnerable list (matched where the list is stored, see ``alerts``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AlertKind",
    "AssetMonitor",
    "Endpoint",
    "FirmwareRule",
    "SecurityEvent",
    "glob_to_like",
    "validate_glob",
]

Address = tuple[str, int]
Endpoint = tuple[str, str]  # (host, transport)


class AlertKind(StrEnum):
    UNKNOWN_DEVICE = "unknown_device"
    DUPLICATE_ID = "duplicate_id"
    ADDRESS_CHANGED = "address_changed"
    FORGED_KEEPALIVE = "forged_keepalive"
    DEFAULT_PASSWORD = "default_password"
    VULNERABLE_FIRMWARE = "vulnerable_firmware"


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One observation; stored alerts aggregate them per device and kind."""

    kind: AlertKind
    device_id: str
    address: str  # where it came from, e.g. "UDP 10.1.2.3:5060"
    detail: str


def _where(addr: Address, transport: str) -> str:
    return f"{transport} {addr[0]}:{addr[1]}"


def _show(endpoint: Endpoint) -> str:
    return f"{endpoint[1]} {endpoint[0]}"


@dataclass(slots=True)
class _Trail:
    """The endpoint a device uses now and the one it used before, each with when last heard."""

    current: Endpoint
    current_seen: float
    previous: Endpoint | None = None
    previous_seen: float = -math.inf


class AssetMonitor:
    """Watches registrations and keepalives. ``known`` is the resource directory's device IDs
    (None: not curated, nobody is unknown); ``window`` is how long an endpoint counts as
    alive after it was last heard (the keepalive window). Forged keepalives are reported at
    most ``forged_per_source`` times per ``source_window`` seconds from one source host, so
    a flood of spoofed IDs cannot flood the alert table."""

    def __init__(
        self,
        *,
        known: Iterable[str] | None = None,
        window: float = 180.0,
        forged_per_source: int = 20,
        source_window: float = 60.0,
    ) -> None:
        self.known: set[str] | None = None if known is None else set(known)
        self.window = window
        self.forged_per_source = forged_per_source
        self.source_window = source_window
        self.suppressed = 0
        self._trails: dict[str, _Trail] = {}
        self._sources: dict[str, tuple[float, int]] = {}

    # -- what the directory knows -------------------------------------------------------------

    def is_known(self, device_id: str) -> bool:
        return self.known is None or device_id in self.known

    def learn(self, device_ids: Iterable[str]) -> None:
        """Devices added to the directory (an import, or a registration just accepted)."""
        if self.known is not None:
            self.known.update(device_ids)

    def remember(self, device_id: str, host: str, transport: str) -> None:
        """Where the directory last saw a device register (at start-up, before any traffic)."""
        if device_id not in self._trails and host and transport:
            self._trails[device_id] = _Trail((host, transport), -math.inf)

    # -- signalling -----------------------------------------------------------------------------

    def refused(self, device_id: str, addr: Address, transport: str) -> list[SecurityEvent]:
        """A registration with valid credentials refused because the ID is unknown."""
        detail = "registration refused: the ID is not in the resource directory"
        return [SecurityEvent(AlertKind.UNKNOWN_DEVICE, device_id, _where(addr, transport), detail)]

    def registered(
        self, device_id: str, addr: Address, transport: str, now: float, *, default_password: bool
    ) -> list[SecurityEvent]:
        """A successful REGISTER (after digest authentication)."""
        where = _where(addr, transport)
        events: list[SecurityEvent] = []
        if not self.is_known(device_id):
            events.append(
                SecurityEvent(
                    AlertKind.UNKNOWN_DEVICE,
                    device_id,
                    where,
                    "registered with an ID that is not in the resource directory",
                )
            )
            self.learn((device_id,))
        if default_password:
            events.append(
                SecurityEvent(
                    AlertKind.DEFAULT_PASSWORD,
                    device_id,
                    where,
                    "authenticated with the platform's default password: give it a password of its own",
                )
            )
        endpoint = (addr[0], transport)
        trail = self._trails.get(device_id)
        if trail is None:
            self._trails[device_id] = _Trail(endpoint, now)
        elif endpoint == trail.current:
            trail.current_seen = now
        else:
            alternating = (
                endpoint == trail.previous
                and now - trail.previous_seen <= self.window
                and now - trail.current_seen <= self.window
            )
            if alternating:
                detail = f"registers alternately from {_show(trail.current)} and {_show(endpoint)}"
                events.append(SecurityEvent(AlertKind.DUPLICATE_ID, device_id, where, detail))
            else:
                detail = f"registered from {_show(endpoint)}, before from {_show(trail.current)}"
                events.append(SecurityEvent(AlertKind.ADDRESS_CHANGED, device_id, where, detail))
            trail.previous, trail.previous_seen = trail.current, trail.current_seen
            trail.current, trail.current_seen = endpoint, now
        return events

    def keepalive(
        self,
        device_id: str,
        addr: Address,
        transport: str,
        now: float,
        registered: Endpoint | None,
    ) -> list[SecurityEvent]:
        """A Keepalive for ``device_id`` from ``addr``; ``registered`` is the endpoint of the
        device's live registration (None when it is not registered)."""
        endpoint = (addr[0], transport)
        trail = self._trails.get(device_id)
        if registered is not None and endpoint == registered:
            if trail is None or trail.current != endpoint:
                self._trails[device_id] = _Trail(endpoint, now)
            else:
                trail.current_seen = now
            return []
        if registered is None:
            if trail is not None and endpoint in (trail.current, trail.previous):
                return []  # a device still keeping alive after our restart or its expiry
            if trail is None and self.is_known(device_id):
                return []  # never seen here: nothing to compare with
            detail = f"keepalive from {_show(endpoint)} for a device that is not registered"
            if trail is not None:
                detail += f" (it registered from {_show(trail.current)})"
        elif trail is not None and endpoint == trail.previous and now - trail.previous_seen <= self.window:
            trail.previous_seen = now
            detail = f"keepalives from {_show(endpoint)} while registered from {_show(registered)}"
            return [SecurityEvent(AlertKind.DUPLICATE_ID, device_id, _where(addr, transport), detail)]
        else:
            detail = f"keepalive from {_show(endpoint)} while registered from {_show(registered)}"
        if not self._allow_forged(addr[0], now):
            return []
        return [SecurityEvent(AlertKind.FORGED_KEEPALIVE, device_id, _where(addr, transport), detail)]

    def _allow_forged(self, host: str, now: float) -> bool:
        start, count = self._sources.get(host, (now, 0))
        if now - start >= self.source_window:
            start, count = now, 0
            if len(self._sources) > 10_000:  # forget hosts whose window is over
                self._sources = {h: v for h, v in self._sources.items() if now - v[0] < self.source_window}
        if count >= self.forged_per_source:
            self.suppressed += 1
            return False
        self._sources[host] = (start, count + 1)
        return True


# -- the vulnerable-firmware list ----------------------------------------------------------------

_GLOB = re.compile(r"^[^\[\]\\]*$")


def validate_glob(pattern: str) -> str:
    """A list pattern: text with ``*`` (any run) and ``?`` (one character), case-insensitive;
    empty means any. Raises ValueError on ``[``, ``]`` or ``\\``."""
    if not _GLOB.match(pattern):
        raise ValueError(f"pattern {pattern!r}: use only * and ? as wildcards (no [, ] or \\)")
    return pattern.strip() or "*"


def glob_to_like(pattern: str) -> str:
    """The SQL LIKE pattern (escape character ``\\``) of a list pattern, lower-cased."""
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True, slots=True)
class FirmwareRule:
    """One entry of the vulnerable list: patterns for manufacturer, model and firmware."""

    id: int
    manufacturer: str
    model: str
    firmware: str
    advisory: str

    def matches(self, manufacturer: str, model: str, firmware: str) -> bool:
        """Whether a device with these DeviceInfo values is covered (no firmware: never)."""
        if not firmware:
            return False
        return all(
            _glob_regex(pattern).fullmatch(value.lower()) is not None
            for pattern, value in (
                (self.manufacturer, manufacturer),
                (self.model, model),
                (self.firmware, firmware),
            )
        )
