"""Small server-rendered SVG charts for the admin: no JavaScript, no network, values escaped.

Each function returns a ``SafeString`` holding one ``<svg>`` element whose marks carry
``data-*`` attributes with the plotted values, so tests (and curious staff) can read them back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
MARGIN = {"left": 48, "right": 16, "top": 16, "bottom": 36}
COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")


def _frame(body: str, title: str, width: int = WIDTH, height: int = HEIGHT) -> SafeString:
    return mark_safe(  # every interpolated text is escaped by the callers
        f'<svg class="irt-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _axes(x0, y0, x1, y1, y_lo, y_hi, y_format="{:.2f}") -> str:
    parts = [
        f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="#999"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#999"/>',
    ]
    for k in range(3):
        value = y_lo + (y_hi - y_lo) * k / 2
        y = y1 - (y1 - y0) * k / 2
        parts.append(
            f'<text x="{x0 - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
            f"{escape(y_format.format(value))}</text>"
        )
    return "".join(parts)


def metric_history(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    production: str | None = None,
    deployed: Sequence[str] = (),
    title: str = "Metrics across versions",
) -> SafeString:
    """One line per metric over the versions (oldest left); production ringed, deploys ticked."""
    x0, y0 = MARGIN["left"], MARGIN["top"]
    x1, y1 = WIDTH - MARGIN["right"], HEIGHT - MARGIN["bottom"]
    values = [v for points in series.values() for v in points if v is not None]
    if not labels or not values:
        return _frame('<text x="20" y="40" font-size="12" fill="#555">No finished versions yet.</text>', title)
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.1 or 0.05
    lo, hi = lo - pad, hi + pad
    x = _scale(0, max(len(labels) - 1, 1), x0 + 10, x1 - 10)
    y = _scale(lo, hi, y1, y0)
    parts = [_axes(x0, y0, x1, y1, lo, hi, "{:.3f}")]
    for k, label in enumerate(labels):
        cx = x(k)
        if label in deployed:
            parts.append(
                f'<line x1="{cx:.1f}" y1="{y0}" x2="{cx:.1f}" y2="{y1}" stroke="#ddd" data-deploy="{escape(label)}"/>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{y1 + 14}" font-size="10" text-anchor="middle" fill="#333">{escape(label)}</text>'
        )
    for (name, points), colour in zip(series.items(), COLOURS, strict=False):
        coordinates = [(x(k), y(v), labels[k], v) for k, v in enumerate(points) if v is not None]
        path = " ".join(f"{'M' if i == 0 else 'L'}{cx:.1f},{cy:.1f}" for i, (cx, cy, _, _) in enumerate(coordinates))
        parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for cx, cy, label, v in coordinates:
            ring = ' stroke="#000" stroke-width="2"' if label == production else ""
            parts.append(
                f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="{5 if ring else 3.5}" fill="{colour}"{ring} '
                f'data-metric="{escape(name)}" data-version="{escape(label)}" data-value="{v:.6f}">'
                f"<title>{escape(label)} {escape(name)} {v:.4f}</title></circle>"
            )
    legend_x = x0 + 8
    for (name, _), colour in zip(series.items(), COLOURS, strict=False):
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" font-size="11">{escape(name)}</text>')
        legend_x += 24 + 7 * len(name)
    if production:
        parts.append(
            f'<text x="{x1}" y="{HEIGHT - 5}" font-size="11" text-anchor="end">'
            f"ringed: production ({escape(production)}); grey lines: deploys</text>"
        )
    return _frame("".join(parts), title)


def histogram(values: Sequence[float], *, bins: int = 20, title: str, label: str) -> SafeString:
    """Counts of ``values`` in equal-width bins."""
    x0, y0 = MARGIN["left"], MARGIN["top"]
    x1, y1 = WIDTH - MARGIN["right"], HEIGHT - MARGIN["bottom"]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return _frame('<text x="20" y="40" font-size="12" fill="#555">No values.</text>', title)
    lo, hi = min(finite), max(finite)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in finite:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    top = max(counts)
    x = _scale(lo, hi, x0, x1)
    y = _scale(0, top, y1, y0)
    parts = [_axes(x0, y0, x1, y1, 0, top, "{:.0f}")]
    for k, count in enumerate(counts):
        left, right = x(lo + k * width), x(lo + (k + 1) * width)
        parts.append(
            f'<rect class="bar" x="{left + 1:.1f}" y="{y(count):.1f}" width="{max(right - left - 2, 1):.1f}" '
            f'height="{y1 - y(count):.1f}" fill="{COLOURS[0]}" data-lower="{lo + k * width:.4f}" '
            f'data-count="{count}"><title>{lo + k * width:.2f} to {lo + (k + 1) * width:.2f}: {count}</title></rect>'
        )
    for value in (lo, (lo + hi) / 2, hi):
        parts.append(f'<text x="{x(value):.1f}" y="{y1 + 14}" font-size="10" text-anchor="middle">{value:.2f}</text>')
    parts.append(
        f'<text x="{(x0 + x1) / 2}" y="{HEIGHT - 4}" font-size="11" text-anchor="middle">{escape(label)}</text>'
    )
    return _frame("".join(parts), title)


def calibration_plot(table: Sequence[dict], *, title: str = "Calibration on held-out answers") -> SafeString:
    """Observed rate against mean prediction per bin (the diagonal is perfect), with counts."""
    size = 260
    x0, y0, x1, y1 = 40, 12, size - 12, size - 36
    x = _scale(0, 1, x0, x1)
    y = _scale(0, 1, y1, y0)
    parts = [
        _axes(x0, y0, x1, y1, 0, 1),
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    for row in table:
        if not row.get("count"):
            continue
        cx, cy = x(row["meanPredicted"]), y(row["observedRate"])
        parts.append(
            f'<circle class="bin" cx="{cx:.1f}" cy="{cy:.1f}" r="{3 + min(row["count"], 10_000) ** 0.25:.1f}" '
            f'fill="{COLOURS[1]}" fill-opacity="0.8" data-predicted="{row["meanPredicted"]:.4f}" '
            f'data-observed="{row["observedRate"]:.4f}" data-count="{row["count"]}">'
            f"<title>predicted {row['meanPredicted']:.2f}, observed {row['observedRate']:.2f}, "
            f"{row['count']} answers</title></circle>"
        )
    parts.append(f'<text x="{(x0 + x1) / 2}" y="{size - 16}" font-size="11" text-anchor="middle">predicted</text>')
    parts.append(
        f'<text x="{(x0 + x1) / 2}" y="{size - 3}" font-size="10" text-anchor="middle" fill="#555">'
        "dot size: answers in the bin</text>"
    )
    return _frame("".join(parts), title, width=size, height=size)
