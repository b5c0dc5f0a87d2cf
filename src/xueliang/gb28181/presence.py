"""Who is online now (pure): registrations, keepalives and their deadlines.

GB/T 28181-2022 9.6: a device keeps alive every ``interval`` seconds (default 60) and is
offline after ``misses`` (default 3) missed keepalives or when its registration expires.
Keepalives carry no authentication, so one from an address other than the registered one
does not count (it is reported as suspect) — otherwise a forged keepalive fakes "online".
Time is passed in; nothing here reads a clock.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["KeepaliveVerdict", "Presence", "PresenceTable"]


class KeepaliveVerdict(StrEnum):
    OK = "ok"
    UNREGISTERED = "unregistered"
    SUSPECT = "suspect"  # from an address other than the registration's


@dataclass(slots=True)
class Presence:
    """One registered device's live state."""

    device_id: str
    address: tuple[str, int]
    transport: str
    registered_at: float
    expires_at: float
    last_seen: float
    online: bool = True


class PresenceTable:
    """Registrations and keepalives of every device; ``expire(now)`` returns who went offline."""

    def __init__(self, interval: float = 60.0, misses: int = 3) -> None:
        self.interval = interval
        self.misses = misses
        self._devices: dict[str, Presence] = {}
        self._deadlines: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> Presence | None:
        return self._devices.get(device_id)

    def online_ids(self) -> list[str]:
        return [d.device_id for d in self._devices.values() if d.online]

    def _deadline(self, presence: Presence) -> float:
        return min(presence.expires_at, presence.last_seen + self.interval * self.misses)

    def register(
        self, device_id: str, address: tuple[str, int], transport: str, expires: float, now: float
    ) -> bool:
        """Record a successful REGISTER; True if the device was not online before."""
        previous = self._devices.get(device_id)
        was_online = previous is not None and previous.online
        presence = Presence(device_id, address, transport, now, now + expires, now)
        self._devices[device_id] = presence
        heapq.heappush(self._deadlines, (self._deadline(presence), device_id))
        return not was_online

    def unregister(self, device_id: str) -> bool:
        """``Expires: 0``; True if the device was online."""
        presence = self._devices.pop(device_id, None)
        return presence is not None and presence.online

    def keepalive(self, device_id: str, address: tuple[str, int], now: float) -> KeepaliveVerdict:
        presence = self._devices.get(device_id)
        if presence is None or not presence.online:
            return KeepaliveVerdict.UNREGISTERED
        if presence.address[0] != address[0]:
            return KeepaliveVerdict.SUSPECT
        presence.last_seen = now
        # The old heap entry stays; expire() skips entries whose deadline has moved on.
        heapq.heappush(self._deadlines, (self._deadline(presence), device_id))
        return KeepaliveVerdict.OK

    def touch(self, device_id: str, address: tuple[str, int], now: float) -> None:
        """Any authenticated-by-address traffic from the device also proves it is alive."""
        presence = self._devices.get(device_id)
        if presence is not None and presence.online and presence.address[0] == address[0]:
            presence.last_seen = now

    def next_deadline(self) -> float | None:
        return self._deadlines[0][0] if self._deadlines else None

    def expire(self, now: float) -> list[str]:
        """Devices whose keepalive window or registration ran out by ``now`` (each once)."""
        gone: list[str] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, device_id = heapq.heappop(self._deadlines)
            presence = self._devices.get(device_id)
            if presence is None or not presence.online:
                continue
            deadline = self._deadline(presence)
            if deadline > now:
                continue  # a newer keepalive moved the deadline; its own entry is in the heap
            presence.online = False
            del self._devices[device_id]
            gone.append(device_id)
        return gone
