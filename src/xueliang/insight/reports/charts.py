"""Charts as SVG text from numbers (pure): no plotting library, no network, same output every time.

Rates are fractions 0–1 drawn as percentages; a missing value (None, "no data") leaves a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "line_chart"]

PALETTE = ("#1f6fb2", "#d9822b", "#2e9e5b", "#8e44ad", "#c0392b")
_FONT = 'font-family="WenQuanYi Zen Hei, Noto Sans CJK SC, sans-serif" font-size="11"'


def _axis_floor(values: Sequence[float | None], floor: float | None) -> float:
    """A lower bound that shows differences: rates near 100 % get a zoomed axis."""
    if floor is not None:
        return floor
    present = [v for v in values if v is not None]
    if not present:
        return 0.0
    low = min(present)
    for candidate in (0.9, 0.8, 0.5):
        if low >= candidate:
            return candidate
    return 0.0


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    target: float | None = None,
    width: int = 640,
    height: int = 240,
    floor: float | None = None,
) -> str:
    """Lines of rates over ``x_labels`` with a legend, and a dashed target line."""
    left, right, top, bottom = 44, 12, 26, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    all_values = [v for _name, values in series for v in values]
    low = _axis_floor([*all_values, target], floor)
    span = 1.0 - low or 1.0
    n = max(1, len(x_labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * (i / n if len(x_labels) > 1 else 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, low), 1.0) - low) / span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {_FONT}>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for step in range(5):
        value = low + span * step / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#e4e4e4"/>'
            f'<text x="{left - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{value * 100:.0f}%</text>'
        )
    every = max(1, len(x_labels) // 10)
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == len(x_labels) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(label)}</text>'
            )
    if target is not None and target >= low:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            'stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
    for index, (name, values) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, value in enumerate(values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(value):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
            else:
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(points)}"/>'
                )
        legend_x = left + index * 130
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="8" fill="{color}"/>'
            f'<text x="{legend_x + 16}" y="16">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    target: float | None = None,
    width: int = 640,
    bar_height: int = 18,
) -> str:
    """Horizontal bars of rates, one per label, red where below ``target``."""
    left, right, top = 130, 60, 8
    height = top * 2 + bar_height * len(labels) + 4
    plot_w = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {_FONT}>'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * bar_height
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_height - 5}" text-anchor="end">{escape(label[:14])}</text>'
        )
        if value is None:
            parts.append(f'<text x="{left + 4}" y="{y + bar_height - 5}" fill="#888">—</text>')
            continue
        color = "#c0392b" if target is not None and value < target else "#1f6fb2"
        w = plot_w * min(max(value, 0.0), 1.0)
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar_height - 5}" fill="{color}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + bar_height - 5}">{value * 100:.2f}%</text>'
        )
    if target is not None:
        tx = left + plot_w * target
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top}" y2="{height - top}" '
            'stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
