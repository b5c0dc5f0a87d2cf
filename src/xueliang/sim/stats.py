"""Fleet counters and the platform's response latencies (pure; a dict for benchmarks)."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LatencyWindow", "SimStats"]


class LatencyWindow:
    """The last ``size`` latencies (seconds) of one kind of exchange; percentiles on demand."""

    __slots__ = ("_samples", "count")

    def __init__(self, size: int = 20_000) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)
        self.count += 1

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile (0–100, nearest rank) of the window, or None if empty."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]


@dataclass(slots=True)
class SimStats:
    """What the fleet did. ``registered``: devices holding a registration now; ``online``:
    those whose last REGISTER or keepalive the platform answered with 200."""

    devices: int = 0
    started: int = 0
    registered: int = 0
    online: int = 0
    registrations: int = 0  # successful REGISTERs (first ones and refreshes)
    registers_sent: int = 0
    challenges: int = 0
    register_failures: int = 0  # 403 and other final failures, and time-outs
    unregistrations: int = 0
    keepalives_sent: int = 0
    keepalives_ok: int = 0
    keepalive_failures: int = 0
    catalog_queries: int = 0
    catalog_parts_sent: int = 0
    catalogs_done: int = 0
    catalogs_aborted: int = 0
    info_answers: int = 0
    status_answers: int = 0
    requests_received: int = 0
    requests_rejected: int = 0  # 4xx/5xx answers we gave (unknown device, method, body)
    malformed: int = 0
    dropped_foreign: int = 0  # datagrams from anywhere but the platform, ignored
    flaps: int = 0
    tcp_connects: int = 0
    tcp_failures: int = 0
    invites: int = 0  # live-view INVITEs received
    invites_answered: int = 0  # ... answered 200
    invites_busy: int = 0  # ... refused 486 (max_streams reached)
    acks_missed: int = 0  # answered, never ACKed
    streams_started: int = 0  # sessions ACKed
    streams_active: int = 0  # sessions open now (INVITE accepted, not yet ended)
    byes_received: int = 0
    byes_sent: int = 0
    byes_answered: int = 0
    media_failures: int = 0  # a sender could not start or died
    states: Counter[str] = field(default_factory=Counter)
    register_latency: LatencyWindow = field(default_factory=LatencyWindow)
    keepalive_latency: LatencyWindow = field(default_factory=LatencyWindow)

    def as_dict(self) -> dict[str, Any]:
        """Counters, states and latency percentiles (milliseconds) as plain values."""
        out: dict[str, Any] = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("states", "register_latency", "keepalive_latency")
        }
        out["states"] = {str(k): v for k, v in sorted(self.states.items()) if v}
        for kind, window in (("register", self.register_latency), ("keepalive", self.keepalive_latency)):
            for p in (50, 99):
                value = window.percentile(p)
                out[f"{kind}_p{p}_ms"] = None if value is None else round(value * 1000, 3)
        return out

    def line(self) -> str:
        """One status line for the console."""

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value * 1000:.1f}"

        reg, ka = self.register_latency, self.keepalive_latency
        return (
            f"devices {self.devices} started {self.started} registered {self.registered} "
            f"online {self.online} | keepalives {self.keepalives_sent} "
            f"(fail {self.keepalive_failures}) | reg fail {self.register_failures} | "
            f"catalog parts {self.catalog_parts_sent} | "
            f"streams {self.streams_active} (invites {self.invites}, busy {self.invites_busy}) | "
            f"REGISTER p50/p99 {ms(reg.percentile(50))}/{ms(reg.percentile(99))} ms | "
            f"keepalive p50/p99 {ms(ka.percentile(50))}/{ms(ka.percentile(99))} ms"
        )
