"""Assembling a catalog that arrives in parts (pure).

GB/T 28181-2022 9.5 / Appendix M: the answer to one Catalog query is one or more MESSAGEs
with the same SN, each carrying ``SumNum`` (the total) and ``DeviceList Num`` (items in this
part). Parts can arrive out of order, twice, or not at all; NVRs pause between parts. A
catalog is complete when SumNum distinct items are in; otherwise it is delivered as partial
when it has been quiet for ``idle`` seconds (or ``first_reply`` for the very first part).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["AssembledCatalog", "CatalogAssembler"]

Item = TypeVar("Item")


@dataclass(slots=True)
class _Pending(Generic[Item]):
    device_id: str
    sn: int
    started: float
    last_part: float | None = None
    total: int | None = None
    items: dict[str, Item] = field(default_factory=dict)
    parts: int = 0


@dataclass(frozen=True, slots=True)
class AssembledCatalog(Generic[Item]):
    device_id: str
    sn: int
    items: list[Item]
    total: int | None
    parts: int
    complete: bool

    @property
    def missing(self) -> int:
        return max(0, (self.total or 0) - len(self.items))


class CatalogAssembler(Generic[Item]):
    """Collect catalog parts per (device, SN); items are keyed by their DeviceID."""

    def __init__(self, idle: float = 10.0, first_reply: float = 120.0) -> None:
        self.idle = idle
        self.first_reply = first_reply
        self._pending: dict[tuple[str, int], _Pending[Item]] = {}
        # Recently completed catalogs: a late duplicate part must not start a new one.
        self._completed: dict[tuple[str, int], float] = {}

    def expect(self, device_id: str, sn: int, now: float) -> None:
        """A query was sent: wait for its answer (replaces any unfinished one with the same SN)."""
        self._completed.pop((device_id, sn), None)
        self._pending[(device_id, sn)] = _Pending(device_id, sn, now)

    def pending(self) -> int:
        return len(self._pending)

    def add_part(
        self, device_id: str, sn: int, total: int, items: list[tuple[str, Item]], now: float
    ) -> AssembledCatalog[Item] | None:
        """Add one part; returns the catalog when this part completes it."""
        key = (device_id, sn)
        finished = self._completed.get(key)
        if finished is not None and now - finished <= self.idle:
            return None  # a retransmitted or duplicated part of a catalog already complete
        pending = self._pending.get(key)
        if pending is None:  # unsolicited or a late part: still take it, as its own catalog
            pending = self._pending[key] = _Pending(device_id, sn, now)
        pending.total = total if pending.total is None else max(pending.total, total)
        pending.last_part = now
        pending.parts += 1
        for item_id, item in items:
            pending.items[item_id] = item
        if len(pending.items) >= (pending.total or 0):
            del self._pending[key]
            self._completed[key] = now
            return self._result(pending, complete=True)
        return None

    def next_deadline(self) -> float | None:
        deadlines = [self._deadline(p) for p in self._pending.values()]
        return min(deadlines) if deadlines else None

    def _deadline(self, pending: _Pending[Item]) -> float:
        if pending.last_part is None:
            return pending.started + self.first_reply
        return pending.last_part + self.idle

    def expire(self, now: float) -> list[AssembledCatalog[Item]]:
        """Catalogs that went quiet: partial ones (with what arrived), or empty for no answer."""
        self._completed = {k: t for k, t in self._completed.items() if now - t <= self.idle}
        done = [key for key, p in self._pending.items() if self._deadline(p) <= now]
        return [self._result(self._pending.pop(key), complete=False) for key in done]

    @staticmethod
    def _result(pending: _Pending[Item], complete: bool) -> AssembledCatalog[Item]:
        return AssembledCatalog(
            pending.device_id,
            pending.sn,
            list(pending.items.values()),
            pending.total,
            pending.parts,
            complete,
        )
