"""Privacy masks (隐私遮挡): polygons burned into pictures as a solid fill.

A polygon's corners are normalised to the picture (x right, y down, both 0..1), so the masks
of a channel survive a change of resolution or stream. Pure: arrays in, arrays out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import av
import cv2
import numpy as np

__all__ = [
    "MASK_BGR",
    "MAX_MASK_POINTS",
    "MAX_MASKS",
    "MaskError",
    "MaskPolygon",
    "PrivacyMasks",
]

MAX_MASKS = 32  # polygons per channel
MAX_MASK_POINTS = 64  # corners per polygon
MASK_BGR = (0, 0, 0)  # the fill: black
_MASK_YUV = (16, 128, 128)  # the same black in limited-range YUV (BT.601/709)


class MaskError(ValueError):
    """A polygon or a set of masks that cannot be drawn as given."""


Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class MaskPolygon:
    """One masked area: at least three corners within 0..1 enclosing a non-zero area."""

    points: tuple[Point, ...]
    label: str = ""

    def __post_init__(self) -> None:
        if not 3 <= len(self.points) <= MAX_MASK_POINTS:
            raise MaskError(f"a polygon needs 3 to {MAX_MASK_POINTS} points, got {len(self.points)}")
        for x, y in self.points:
            if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise MaskError(f"point ({x}, {y}) is outside 0..1")
        if self.area() == 0.0:
            raise MaskError("the polygon encloses no area (its points are on one line)")

    def area(self) -> float:
        """Area as a fraction of the picture (shoelace formula)."""
        pts = self.points
        twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True))
        return abs(twice) / 2

    def pixels(self, width: int, height: int) -> np.ndarray:
        """The corners in pixels of a ``width`` x ``height`` picture (int32, for cv2.fillPoly)."""
        scale = np.array([width, height], np.float64)
        return np.rint(np.array(self.points, np.float64) * scale).astype(np.int32)


@dataclass(frozen=True, slots=True)
class PrivacyMasks:
    """A channel's masks; empty means nothing to hide. Hashable, so sessions can compare them."""

    polygons: tuple[MaskPolygon, ...] = ()

    def __post_init__(self) -> None:
        if len(self.polygons) > MAX_MASKS:
            raise MaskError(f"at most {MAX_MASKS} masks per channel, got {len(self.polygons)}")

    def __bool__(self) -> bool:
        return bool(self.polygons)

    @classmethod
    def of(cls, polygons: Sequence[Sequence[Sequence[float]]], labels: Sequence[str] = ()) -> PrivacyMasks:
        """From nested lists ``[[[x, y], ...], ...]``; raises :class:`MaskError`."""
        built = []
        for index, points in enumerate(polygons):
            try:
                corners = tuple((float(x), float(y)) for x, y in points)
            except (TypeError, ValueError):
                raise MaskError(f"mask {index}: points must be [x, y] pairs of numbers") from None
            label = labels[index] if index < len(labels) else ""
            try:
                built.append(MaskPolygon(corners, label))
            except MaskError as exc:
                raise MaskError(f"mask {index}: {exc}") from None
        return cls(tuple(built))

    def burn(self, picture: np.ndarray, colour: tuple[int, ...] = MASK_BGR) -> np.ndarray:
        """Fill every polygon of a ``height x width [x channels]`` picture in place; returns it."""
        if self.polygons:
            height, width = picture.shape[:2]
            shapes = [p.pixels(width, height) for p in self.polygons]
            fill = colour if picture.ndim == 3 else colour[0]
            cv2.fillPoly(picture, shapes, fill, lineType=cv2.LINE_8)
        return picture

    def burn_yuv420p(self, planes: np.ndarray) -> np.ndarray:
        """Fill the polygons of a planar YUV 4:2:0 picture as PyAV lays it out
        (``height * 3 / 2`` rows: Y, then U and V each packed into ``height / 4`` rows)."""
        if self.polygons:
            rows, width = planes.shape
            height = rows * 2 // 3
            y = planes[:height]
            u = planes[height : height + height // 4].reshape(height // 2, width // 2)
            v = planes[height + height // 4 :].reshape(height // 2, width // 2)
            for plane, value in ((y, _MASK_YUV[0]), (u, _MASK_YUV[1]), (v, _MASK_YUV[2])):
                self.burn(plane, (value,))
        return planes

    def burn_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        """A copy of a decoded frame with the masks burned in (YUV 4:2:0 out; timing kept)."""
        if not self.polygons:
            return frame
        planes = self.burn_yuv420p(frame.to_ndarray(format="yuv420p"))
        masked = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        masked.pts = frame.pts
        masked.time_base = frame.time_base
        return masked
