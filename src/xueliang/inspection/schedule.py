"""Which channels to inspect next: pure (explicit ``now``, no clock, no database).

Each channel is due ``interval`` after its last inspection (never inspected: due at once).
Due channels are ordered by *when they became due*, in buckets of ``granularity``: within a
bucket class-1 points (一类点) go before class 2 and 3, and regions (civil code prefix)
take turns, so one big district cannot fill the queue. Because a channel's place depends on
how long it has been due, a class-3 point in a quiet region waits at most one bucket longer
than a class-1 point: nobody starves. The scheduler resumes after a restart from the last
inspection times in the findings table.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Candidate", "count_due", "plan"]


@dataclass(frozen=True, slots=True)
class Candidate:
    channel_id: int
    region: str
    point_class: int


def plan(
    candidates: Iterable[Candidate],
    last: Mapping[int, datetime],
    now: datetime,
    *,
    interval: timedelta,
    granularity: timedelta = timedelta(minutes=5),
    class_interval: Mapping[int, float] | None = None,
    region_digits: int = 6,
    exclude: frozenset[int] | set[int] = frozenset(),
    limit: int | None = None,
) -> list[int]:
    """Channel ids due at ``now``, in the order to inspect them.

    ``class_interval`` scales the interval per point class (e.g. ``{1: 0.5}``: class-1
    points twice as often); ``exclude`` are in flight; ``limit`` cuts the list.
    """
    step = granularity.total_seconds() or 1.0
    groups: dict[tuple[float, int], dict[str, list[tuple[float, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for c, due in _due(candidates, last, now, interval, class_interval or {}, exclude):
        bucket = -math.inf if due == -math.inf else math.floor(due / step)
        groups[(bucket, c.point_class)][c.region[:region_digits]].append((due, c.channel_id))
    order: list[int] = []
    for key in sorted(groups):
        regions = groups[key]
        queues = [deque(sorted(regions[r])) for r in sorted(regions)]
        while queues:
            for queue in queues:
                order.append(queue.popleft()[1])
            queues = [q for q in queues if q]
        if limit is not None and len(order) >= limit:
            return order[:limit]
    return order if limit is None else order[:limit]


def count_due(
    candidates: Iterable[Candidate],
    last: Mapping[int, datetime],
    now: datetime,
    *,
    interval: timedelta,
    class_interval: Mapping[int, float] | None = None,
    exclude: frozenset[int] | set[int] = frozenset(),
) -> int:
    """How many channels :func:`plan` would return, without ordering them."""
    return sum(1 for _ in _due(candidates, last, now, interval, class_interval or {}, exclude))


def _due(
    candidates: Iterable[Candidate],
    last: Mapping[int, datetime],
    now: datetime,
    interval: timedelta,
    scale: Mapping[int, float],
    exclude: frozenset[int] | set[int],
) -> Iterator[tuple[Candidate, float]]:
    """The candidates due at ``now`` with the timestamp they became due (-inf: never inspected)."""
    classes: dict[int, tuple[datetime, timedelta]] = {}  # point class -> (due if at or before, interval)
    for c in candidates:
        if c.channel_id in exclude:
            continue
        previous = last.get(c.channel_id)
        if previous is None:
            yield c, -math.inf
            continue
        rule = classes.get(c.point_class)
        if rule is None:
            every = interval * scale.get(c.point_class, 1.0)
            rule = classes[c.point_class] = (now - every, every)
        if previous <= rule[0]:
            yield c, (previous + rule[1]).timestamp()
