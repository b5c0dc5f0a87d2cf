"""Protection at the signalling edge (pure): per-source rate limits and digest lockout.

Digest exchanges can be brute-forced online (see the reference's security notes): after
``max_failures`` failed authentications within ``window`` seconds a source is locked out for
``lockout`` seconds. A token bucket per source caps how fast any one address can make us work.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["Lockout", "RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by source; the least recently used are forgotten past ``capacity``."""

    def __init__(self, rate: float, burst: float, capacity: int = 200_000) -> None:
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, source: str, now: float, cost: float = 1.0) -> bool:
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._buckets[source] = _Bucket(self.burst, now)
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens < cost:
            return False
        bucket.tokens -= cost
        return True


class Lockout:
    """Failed-authentication counting per key (a source address, or a device ID)."""

    def __init__(self, max_failures: int = 5, window: float = 300.0, lockout: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def locked(self, key: str, now: float) -> bool:
        until = self._locked_until.get(key)
        if until is None:
            return False
        if now >= until:
            del self._locked_until[key]
            return False
        return True

    def failure(self, key: str, now: float) -> bool:
        """Count a failure; True if this one locks the key out."""
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._failures.pop(key, None)
            self._locked_until[key] = now + self.lockout
            return True
        self._failures[key] = recent
        return False

    def success(self, key: str) -> None:
        self._failures.pop(key, None)
