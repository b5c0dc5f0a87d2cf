"""Region outlines for the offline base map (pure): the convex hull of each region's points.

With no tile server, the web map draws each district as the hull of its channels' positions:
a shape an operator recognises, computed from the resource directory, needing nothing online.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from statistics import median
from typing import Any

__all__ = ["Point", "convex_hull", "outline_features", "trim_outliers"]

Point = tuple[float, float]

# Share of a region's points, farthest from its median position, left out of its outline: one
# mistyped coordinate (inside the area but in the wrong district) must not stretch the shape.
OUTLIER_SHARE = 0.01


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: Iterable[Point]) -> list[Point]:
    """The hull counter-clockwise from the lowest-leftmost point (Andrew's monotone chain);
    fewer than three distinct points, or all on one line, give what is there (no area)."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return unique
    lower: list[Point] = []
    for point in unique:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], point) <= 0:
            lower.pop()
        lower.append(point)
    upper: list[Point] = []
    for point in reversed(unique):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], point) <= 0:
            upper.pop()
        upper.append(point)
    return lower[:-1] + upper[:-1]


def trim_outliers(points: Sequence[Point], share: float = OUTLIER_SHARE) -> list[Point]:
    """``points`` without the ``share`` farthest from their median position (none below 100)."""
    drop = int(len(points) * share) if len(points) >= 100 else 0
    if not drop:
        return list(points)
    centre = (median(p[0] for p in points), median(p[1] for p in points))
    ranked = sorted(points, key=lambda p: (p[0] - centre[0]) ** 2 + (p[1] - centre[1]) ** 2)
    return ranked[: len(ranked) - drop]


def outline_features(
    points_by_region: Mapping[str, Sequence[Point]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """GeoJSON features, one polygon per region with at least three points not on one line."""
    features = []
    for code in sorted(points_by_region):
        points = points_by_region[code]
        hull = convex_hull(trim_outliers(points))
        if len(hull) < 3:
            continue
        ring = [[round(lon, 6), round(lat, 6)] for lon, lat in hull]
        features.append(
            {
                "type": "Feature",
                "properties": {"civil_code": code, "name": names.get(code, code), "channels": len(points)},
                "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
            }
        )
    return features
