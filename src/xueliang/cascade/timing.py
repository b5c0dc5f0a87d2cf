"""When a lower platform talks to its upper platform again (pure): retry back-off after a
failed registration, and when to refresh a registration before it expires."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Backoff", "refresh_after"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``initial × factor^(n-1)`` seconds after the n-th consecutive
    failure, at most ``cap``, spread by ±``jitter`` so platforms that failed together (an
    upper platform restarting) do not all come back in the same second."""

    initial: float = 2.0
    factor: float = 2.0
    cap: float = 120.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial or not 0 <= self.jitter < 1:
            raise ValueError("back-off needs initial > 0, factor >= 1, cap >= initial, 0 <= jitter < 1")

    def delay(self, failures: int, draw: float = 0.5) -> float:
        """Seconds to wait after ``failures`` (≥ 1) failures in a row; ``draw`` is a uniform
        number in [0, 1) (0.5: no spread)."""
        if failures < 1:
            raise ValueError("the first retry follows the first failure")
        if not 0 <= draw < 1:
            raise ValueError("draw must lie in [0, 1)")
        exponent = min(failures - 1, 64)  # beyond this the cap rules anyway
        base = min(self.cap, self.initial * self.factor**exponent)
        return base * (1 + self.jitter * (2 * draw - 1))


def refresh_after(expires: float) -> float:
    """Seconds after a successful REGISTER to send the refresh (RFC 3261 §10.2.4): 90 % of the
    way, at least 30 s before expiry, but never before half of it."""
    if expires <= 0:
        raise ValueError("a registration that expires needs a positive Expires")
    return max(expires - max(expires * 0.1, 30.0), expires / 2)
