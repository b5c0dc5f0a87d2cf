"""Indicator arithmetic (pure): rates from counts and from availability intervals.

Every figure the platform publishes is a ratio of two additive sums (channels, seconds), so
figures for a county are the sums of its towns' figures and each one can be checked by hand
on a small example. Definitions follow ``reference/kpis.md``:

- online rate (在线率): channels online ÷ channels in scope; time-weighted: Σ online time ÷
  Σ time in scope, where a channel is in scope from the moment it entered the directory and
  time without an ``online`` interval counts as not online;
- integrity rate (完好率): latest diagnosis ``intact`` ÷ channels diagnosed; time-weighted over
  the time covered by ``integrity`` intervals;
- output rate (出图率): latest output check ``ok`` ÷ channels checked; time-weighted over the
  time covered by ``output`` intervals;
- annotation rate (经纬度标注率): valid WGS-84 coordinates inside the deployment area ÷ channels;
- HD rate (高清率): resolution ≥ 720p ÷ channels with a known resolution;
- coverage (覆盖率): class-k points built ÷ class-k points planned.

A rate whose denominator is zero is ``None`` ("no data"), never 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

__all__ = [
    "CHINA_EXTENT",
    "GOOD_STATE",
    "KINDS",
    "Span",
    "Tally",
    "Targets",
    "indicators",
    "is_good",
    "overlap_seconds",
    "ratio",
    "state_seconds",
    "valid_annotation",
]

KINDS = ("online", "integrity", "output")
# The one state of each availability kind that counts as working; every other state is a fault.
GOOD_STATE: Mapping[str, str] = {"online": "online", "integrity": "intact", "output": "ok"}

# Mainland China's extent (min_lon, min_lat, max_lon, max_lat): the default deployment area.
CHINA_EXTENT = (73.4, 18.1, 135.1, 53.6)


def is_good(kind: str, state: str) -> bool:
    return GOOD_STATE.get(kind) == state


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    return None if not whole else part / whole


def valid_annotation(
    longitude: float | None,
    latitude: float | None,
    area: tuple[float, float, float, float] | None = None,
) -> bool:
    """A usable WGS-84 position inside the deployment area.

    Missing, (0, 0), out-of-range, out-of-area and swapped pairs are not valid: a swapped
    pair of a point in China puts the latitude (18–54) where the longitude (73–135) belongs,
    which falls outside the area.
    """
    if longitude is None or latitude is None:
        return False
    if longitude == 0 and latitude == 0:
        return False
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        return False
    min_lon, min_lat, max_lon, max_lat = area or CHINA_EXTENT
    return min_lon <= longitude <= max_lon and min_lat <= latitude <= max_lat


@dataclass(frozen=True, slots=True)
class Span:
    """One availability interval: ``state`` over [since, until); ``until`` None = still open."""

    state: str
    since: datetime
    until: datetime | None = None


def overlap_seconds(since: datetime, until: datetime | None, start: datetime, end: datetime) -> float:
    """Seconds of [since, until) inside [start, end); an open interval runs to ``end``."""
    low = max(since, start)
    high = min(until or end, end)
    return max(0.0, (high - low).total_seconds())


def state_seconds(
    spans: Iterable[Span], start: datetime, end: datetime, now: datetime | None = None
) -> dict[str, float]:
    """Seconds spent in each state within [start, end), not counting time after ``now``."""
    if now is not None:
        end = min(end, now)
    totals: dict[str, float] = {}
    for span in spans:
        seconds = overlap_seconds(span.since, span.until, start, end)
        if seconds:
            totals[span.state] = totals.get(span.state, 0.0) + seconds
    return totals


@dataclass(slots=True)
class Tally:
    """Additive sums for a group of channels; every indicator is a ratio of two of them.

    ``*_now`` counts describe the present (latest state), ``*_seconds`` a period.
    """

    channels: int = 0
    annotated: int = 0
    hd: int = 0
    resolution_known: int = 0
    online_now: int = 0
    intact_now: int = 0
    diagnosed_now: int = 0
    output_ok_now: int = 0
    checked_now: int = 0
    scope_seconds: float = 0.0
    online_seconds: float = 0.0
    intact_seconds: float = 0.0
    diagnosed_seconds: float = 0.0
    output_ok_seconds: float = 0.0
    checked_seconds: float = 0.0
    built: dict[int, int] = field(default_factory=dict)

    def add(self, other: Tally) -> Tally:
        for f in fields(self):
            if f.name == "built":
                for point_class, count in other.built.items():
                    self.built[point_class] = self.built.get(point_class, 0) + count
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def add_seconds(self, kind: str, state: str, seconds: float) -> None:
        """Account ``seconds`` of ``kind`` in ``state`` (online scope time is counted apart)."""
        good = is_good(kind, state)
        if kind == "online":
            if good:
                self.online_seconds += seconds
        elif kind == "integrity":
            self.diagnosed_seconds += seconds
            if good:
                self.intact_seconds += seconds
        elif kind == "output":
            self.checked_seconds += seconds
            if good:
                self.output_ok_seconds += seconds

    def add_current(self, kind: str, state: str, channels: int) -> None:
        """Account ``channels`` whose latest ``kind`` state is ``state`` (not online: see status)."""
        good = is_good(kind, state)
        if kind == "integrity":
            self.diagnosed_now += channels
            if good:
                self.intact_now += channels
        elif kind == "output":
            self.checked_now += channels
            if good:
                self.output_ok_now += channels


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 3)


def indicators(tally: Tally, *, weighted: bool, planned: Mapping[int, int] | None = None) -> dict[str, Any]:
    """The published figures of one group: rates are fractions 0–1 or None (no data).

    Point-in-time (``weighted=False``): from the ``*_now`` counts. Time-weighted: from the
    ``*_seconds`` sums. Annotation, HD and coverage describe the catalog as it is now.
    """
    if weighted:
        online = ratio(tally.online_seconds, tally.scope_seconds)
        integrity = ratio(tally.intact_seconds, tally.diagnosed_seconds)
        output = ratio(tally.output_ok_seconds, tally.checked_seconds)
    else:
        online = ratio(tally.online_now, tally.channels)
        integrity = ratio(tally.intact_now, tally.diagnosed_now)
        output = ratio(tally.output_ok_now, tally.checked_now)
    coverage: dict[str, dict[str, Any]] = {}
    coverage_rate = None
    if planned is not None:
        classes = sorted(set(planned) | set(tally.built))
        for point_class in classes:
            built = tally.built.get(point_class, 0)
            plan = planned.get(point_class, 0)
            coverage[str(point_class)] = {"built": built, "planned": plan, "rate": ratio(built, plan)}
        with_plan = [c for c in classes if planned.get(c)]
        coverage_rate = ratio(
            sum(tally.built.get(c, 0) for c in with_plan), sum(planned[c] for c in with_plan)
        )
    return {
        "channels": tally.channels,
        "online_rate": online,
        "integrity_rate": integrity,
        "output_rate": output,
        "annotation_rate": ratio(tally.annotated, tally.channels),
        "hd_rate": ratio(tally.hd, tally.resolution_known),
        "coverage_rate": coverage_rate,
        "weighted": weighted,
        "online": tally.online_now,
        "offline": tally.channels - tally.online_now,
        "diagnosed": tally.diagnosed_now,
        "intact": tally.intact_now,
        "checked": tally.checked_now,
        "output_ok": tally.output_ok_now,
        "annotated": tally.annotated,
        "hd": tally.hd,
        "resolution_known": tally.resolution_known,
        "scope_hours": _hours(tally.scope_seconds) if weighted else None,
        "online_hours": _hours(tally.online_seconds) if weighted else None,
        "downtime_hours": _hours(tally.scope_seconds - tally.online_seconds) if weighted else None,
        "defect_hours": _hours(tally.diagnosed_seconds - tally.intact_seconds) if weighted else None,
        "output_fail_hours": _hours(tally.checked_seconds - tally.output_ok_seconds) if weighted else None,
        "coverage": coverage,
    }


@dataclass(frozen=True, slots=True)
class Targets:
    """Target rates per point class (reports mark each figure met or missed).

    Defaults: 98 % for class-1 points, 95 % for the others (kpis.md), for online and
    integrity alike.
    """

    by_class: Mapping[int, float] = field(default_factory=lambda: {1: 0.98})
    default: float = 0.95

    def for_class(self, point_class: int | None) -> float:
        if point_class is None:
            return self.default
        return self.by_class.get(point_class, self.default)
