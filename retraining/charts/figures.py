"""The charts the console shows: metrics across versions, histograms, calibration, scatter, daily series."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString

from .plot import COLOURS, DEPLOYED, Axis, Plot, empty


# ------------------------------------------------------------------------------ across versions
def metric_panel(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    axis_label: str,
    production: str | None = None,
    deployed: Sequence[str] = (),
    percent: bool = False,
) -> SafeString:
    """One line per metric over the versions (oldest left); production ringed, deploys marked.

    Put metrics of one direction (higher is better, or lower is better) on one panel.
    """
    values = [v for points in series.values() for v in points if v is not None]
    if not labels or not values:
        return empty(title, "No finished versions yet.")
    x_axis = Axis(lo=-0.5, hi=len(labels) - 0.5, ticks=list(range(len(labels))), label="version (oldest left)")
    spread = max(values) - min(values)
    pad = spread * 0.15 or 0.01
    y_axis = Axis.fit([min(values) - pad, max(values) + pad], axis_label, percent=percent)
    legend = [(colour, "line", name) for name, colour in zip(series, COLOURS, strict=False)]
    if production:
        legend.append(("#000", "dot", f"ringed: {production} serves"))
    if deployed:
        legend.append((DEPLOYED, "line", "green band: was deployed"))
    plot = Plot(title, x_axis, y_axis, legend=legend)
    for k, label in enumerate(labels):
        if label in deployed:
            plot.add(
                f'<line x1="{plot.x(k):.1f}" y1="{plot.top}" x2="{plot.x(k):.1f}" y2="{plot.bottom}" '
                f'stroke="{DEPLOYED}" stroke-width="6" data-deploy="{escape(label)}"/>'
            )
    for (name, points), colour in zip(series.items(), COLOURS, strict=False):
        coordinates = [(plot.x(k), plot.y(v), labels[k], v) for k, v in enumerate(points) if v is not None]
        path = " ".join(f"{'M' if i == 0 else 'L'}{cx:.1f},{cy:.1f}" for i, (cx, cy, _, _) in enumerate(coordinates))
        plot.add(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for cx, cy, label, v in coordinates:
            ring = ' stroke="#000" stroke-width="2.5"' if label == production else ""
            shown = f"{v:.2%}" if percent else f"{v:.4f}"
            plot.add(
                f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="{6 if ring else 4}" fill="{colour}"{ring} '
                f'data-metric="{escape(name)}" data-version="{escape(label)}" data-value="{v:.6f}">'
                f"<title>{escape(label)} {escape(name)} {shown}</title></circle>"
            )
    step = max(1, math.ceil(len(labels) / 12))  # at most ~12 version labels on the axis
    x_labels = [(k, label) for k, label in enumerate(labels) if k % step == 0 or k == len(labels) - 1]
    return plot.render(x_labels=x_labels, css_class="metric-panel")


# ------------------------------------------------------------------------------ one version
def histogram(values: Sequence[float], *, bins: int = 20, title: str, label: str, counted: str = "count") -> SafeString:
    """Counts of ``values`` in equal-width bins; ``counted`` names what is counted (the y axis)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return empty(title, "No values.")
    lo, hi = min(finite), max(finite)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in finite:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    x_axis = Axis.fit([lo, hi], label)
    y_axis = Axis.fit([0, max(counts)], f"{counted} per bin", floor=0)
    if y_axis.ticks[1] - y_axis.ticks[0] < 1:  # never fractional counts
        y_axis = Axis(lo=0, hi=max(max(counts), 1), ticks=list(range(0, max(counts) + 1)), label=y_axis.label)
    plot = Plot(title, x_axis, y_axis, subtitle=f"{len(finite):,} {counted}")
    for k, count in enumerate(counts):
        left, right = plot.x(lo + k * width), plot.x(lo + (k + 1) * width)
        plot.add(
            f'<rect class="bar" x="{left + 0.5:.1f}" y="{plot.y(count):.1f}" width="{max(right - left - 1, 1):.1f}" '
            f'height="{plot.bottom - plot.y(count):.1f}" fill="{COLOURS[0]}" data-lower="{lo + k * width:.4f}" '
            f'data-count="{count}"><title>{lo + k * width:.2f} to {lo + (k + 1) * width:.2f}: {count} {counted}'
            f"</title></rect>"
        )
    return plot.render(css_class="histogram")


def calibration_plot(table: Sequence[dict], *, title: str = "Calibration on held-out answers") -> SafeString:
    """Observed share correct against mean prediction per bin (on the diagonal is perfect)."""
    ticks = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    x_axis = Axis(lo=0, hi=1, ticks=ticks, label="predicted chance of a right answer")
    y_axis = Axis(lo=0, hi=1, ticks=ticks, label="observed share right")
    legend = [("#999", "dash", "perfect calibration"), (COLOURS[1], "dot", "bin (size: answers)")]
    plot = Plot(title, x_axis, y_axis, width=400, height=400, legend=legend)
    plot.add(
        f'<line x1="{plot.x(0)}" y1="{plot.y(0)}" x2="{plot.x(1)}" y2="{plot.y(1)}" stroke="#999" '
        'stroke-dasharray="5 3"/>'
    )
    for row in table:
        if not row.get("count"):
            continue
        cx, cy = plot.x(row["meanPredicted"]), plot.y(row["observedRate"])
        plot.add(
            f'<circle class="bin" cx="{cx:.1f}" cy="{cy:.1f}" r="{3 + min(row["count"], 10_000) ** 0.25:.1f}" '
            f'fill="{COLOURS[1]}" fill-opacity="0.8" data-predicted="{row["meanPredicted"]:.4f}" '
            f'data-observed="{row["observedRate"]:.4f}" data-count="{row["count"]}">'
            f"<title>predicted {row['meanPredicted']:.2f}, observed {row['observedRate']:.2f}, "
            f"{row['count']} answers</title></circle>"
        )
    return plot.render(css_class="calibration")


def scatter(
    points: Sequence[tuple[str, float, float]], *, title: str, x_label: str, y_label: str, subtitle: str = ""
) -> SafeString:
    """``(name, x, y)`` points with the diagonal y = x: how a parameter moved between two fits."""
    if not points:
        return empty(title, "No shared questions.")
    values = [p[1] for p in points] + [p[2] for p in points]
    axis = Axis.fit(values, "")
    x_axis = Axis(axis.lo, axis.hi, axis.ticks, x_label)
    y_axis = Axis(axis.lo, axis.hi, axis.ticks, y_label)
    legend = [("#999", "dash", "unchanged (y = x)"), (COLOURS[0], "dot", "one question")]
    plot = Plot(title, x_axis, y_axis, width=420, height=420, legend=legend, subtitle=subtitle)
    plot.add(
        f'<line x1="{plot.x(axis.lo):.1f}" y1="{plot.y(axis.lo):.1f}" x2="{plot.x(axis.hi):.1f}" '
        f'y2="{plot.y(axis.hi):.1f}" stroke="#999" stroke-dasharray="5 3"/>'
    )
    for name, a, b in points:
        plot.add(
            f'<circle class="scatter-point" cx="{plot.x(a):.1f}" cy="{plot.y(b):.1f}" r="3.5" fill="{COLOURS[0]}" '
            f'fill-opacity="0.6" data-name="{escape(name)}" data-x="{a:.4f}" data-y="{b:.4f}">'
            f"<title>{escape(name)}: {a:.2f} \u2192 {b:.2f}</title></circle>"
        )
    return plot.render(css_class="scatter")


def daily_series(
    days: Sequence[tuple[str, float | None, int]],
    *,
    title: str,
    axis_label: str,
    metric: str,
    baseline: float | None = None,
    baseline_label: str = "at deploy",
    degraded: bool = False,
    percent: bool = False,
) -> SafeString:
    """One metric per day (``(date label, value, answers)``), the deploy-time baseline dashed, and a
    degraded marker in the title."""
    values = [v for _, v, _ in days if v is not None]
    if not values:
        return empty(title, "No answers after its training cutoff yet.")
    x_axis = Axis(lo=-0.5, hi=len(days) - 0.5, ticks=list(range(len(days))), label="day (UTC)")
    y_axis = Axis.fit([*values, *([baseline] if baseline is not None else [])], axis_label, percent=percent)
    legend = [(COLOURS[0], "line", metric)]
    if baseline is not None:
        legend.append(
            ("#2f855a", "dash", f"{baseline_label}: {baseline:.2%}" if percent else f"{baseline_label}: {baseline:.4f}")
        )
    if degraded:
        legend.append(("#c53030", "dot", "degraded"))
    plot = Plot(title, x_axis, y_axis, legend=legend, subtitle="DEGRADED: worse than at deploy" if degraded else "")
    if baseline is not None:
        plot.add(
            f'<line class="baseline" x1="{plot.left}" y1="{plot.y(baseline):.1f}" x2="{plot.right}" '
            f'y2="{plot.y(baseline):.1f}" stroke="#2f855a" stroke-width="2" stroke-dasharray="6 4" '
            f'data-value="{baseline:.6f}"/>'
        )
    points = [(plot.x(k), plot.y(v), label, v, n) for k, (label, v, n) in enumerate(days) if v is not None]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, *_) in enumerate(points))
    colour = "#c53030" if degraded else COLOURS[0]
    plot.add(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for x, y, label, v, n in points:
        shown = f"{v:.2%}" if percent else f"{v:.4f}"
        plot.add(
            f'<circle class="day" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" data-date="{escape(label)}" '
            f'data-value="{v:.6f}" data-answers="{n}"><title>{escape(label)}: {escape(metric)} {shown} '
            f"on {n} answers</title></circle>"
        )
    step = max(1, math.ceil(len(days) / 7))
    x_labels = [(k, label[5:]) for k, (label, _, _) in enumerate(days) if k % step == 0 or k == len(days) - 1]
    return plot.render(x_labels=x_labels, css_class="monitoring")
