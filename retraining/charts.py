"""Small server-rendered SVG charts for the admin: no JavaScript, no network, values escaped.

Each function returns a ``SafeString`` holding one ``<svg>`` element. The SVG has a ``viewBox``
and no fixed width, so it scales to its container (a phone's 390 px as well as a desktop), and
its marks carry ``data-*`` attributes with the plotted values, so tests (and curious staff) can
read them back. Every chart has a title, axes with round ticks and axis labels with units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 480, 270
COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
MUTED = "#555"
DEPLOYED = "#c6f6d5"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering ``lo..hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks, value = [], first
    while value < hi + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def tick_label(value: float, ticks: Sequence[float], percent: bool = False) -> str:
    """The shortest label that tells neighbouring ticks apart (``0.75``, ``12``, ``80 %``)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    if percent:
        value, step = value * 100, step * 100
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step else 0
    if step and round(step, decimals) != step:
        decimals += 1
    text = f"{value:,.{decimals}f}".replace("-", "\u2212")
    return f"{text} %" if percent else text


@dataclass
class Axis:
    lo: float
    hi: float
    ticks: list[float]
    label: str
    percent: bool = False

    @classmethod
    def fit(cls, values: Sequence[float], label: str, *, percent=False, floor=None, ceiling=None, count=5) -> Axis:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if floor is not None:
            lo = min(lo, floor)
        if ceiling is not None:
            hi = max(hi, ceiling)
        ticks = nice_ticks(lo, hi, count)
        return cls(lo=min(ticks[0], lo), hi=max(ticks[-1], hi), ticks=ticks, label=label, percent=percent)


class Plot:
    """A titled plotting area with a y axis on the left and an x axis below."""

    def __init__(self, title: str, x: Axis, y: Axis, *, width=WIDTH, height=HEIGHT, legend=(), subtitle=""):
        self.title, self.subtitle, self.x_axis, self.y_axis = title, subtitle, x, y
        self.left, self.right = 62, width - 14
        self.legend_rows = self._place_legend(legend)
        self.width, self.height = width, height + (18 * len(self.legend_rows) + 6 if self.legend_rows else 0)
        self.top = 48 if subtitle else 34
        self.bottom = height - 42
        self.parts: list[str] = []

    def _place_legend(self, entries) -> list[list[tuple[float, tuple[str, str, str]]]]:
        rows, x = [[]], self.left
        for entry in entries:
            width = 16 + 7 * len(entry[2]) + 18
            if x + width > self.right and rows[-1]:
                rows.append([])
                x = self.left
            rows[-1].append((x, entry))
            x += width
        return rows if rows[0] else []

    def x(self, value: float) -> float:
        span = (self.x_axis.hi - self.x_axis.lo) or 1.0
        return self.left + (value - self.x_axis.lo) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = (self.y_axis.hi - self.y_axis.lo) or 1.0
        return self.bottom - (value - self.y_axis.lo) / span * (self.bottom - self.top)

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def _axes(self, x_labels: Sequence[tuple[float, str]] | None) -> str:
        out = [
            f'<text x="{self.width / 2:.0f}" y="20" font-size="15" font-weight="600" text-anchor="middle" '
            f'class="chart-title">{escape(self.title)}</text>'
        ]
        if self.subtitle:
            out.append(
                f'<text x="{self.width / 2:.0f}" y="37" font-size="12" text-anchor="middle" fill="{MUTED}">'
                f"{escape(self.subtitle)}</text>"
            )
        for value in self.y_axis.ticks:
            y = self.y(value)
            out.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.right}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(
                f'<text class="y-tick" x="{self.left - 6}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
                f'fill="{MUTED}">{escape(tick_label(value, self.y_axis.ticks, self.y_axis.percent))}</text>'
            )
        if x_labels is None:
            x_labels = [(v, tick_label(v, self.x_axis.ticks, self.x_axis.percent)) for v in self.x_axis.ticks]
        for value, text in x_labels:
            x = self.x(value)
            out.append(f'<line x1="{x:.1f}" y1="{self.bottom}" x2="{x:.1f}" y2="{self.bottom + 4}" stroke="#999"/>')
            out.append(
                f'<text class="x-tick" x="{x:.1f}" y="{self.bottom + 17}" font-size="12" text-anchor="middle" '
                f'fill="{MUTED}">{escape(text)}</text>'
            )
        out.append(
            f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" y2="{self.bottom}" stroke="#999"/>'
            f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{self.bottom}" stroke="#999"/>'
        )
        out.append(
            f'<text class="x-label" x="{(self.left + self.right) / 2:.0f}" y="{self.bottom + 35}" font-size="12" '
            f'text-anchor="middle">{escape(self.x_axis.label)}</text>'
        )
        middle = (self.top + self.bottom) / 2
        out.append(
            f'<text class="y-label" x="14" y="{middle:.0f}" font-size="12" text-anchor="middle" '
            f'transform="rotate(-90 14 {middle:.0f})">{escape(self.y_axis.label)}</text>'
        )
        return "".join(out)

    def _legend(self) -> str:
        """``(colour, shape, text)`` rows below the x axis label; shape is "dot", "line" or "dash"."""
        out = []
        for k, row in enumerate(self.legend_rows):
            y = self.bottom + 58 + 18 * k
            for x, (colour, shape, text) in row:
                if shape == "dot":
                    mark = f'<circle cx="{x + 5}" cy="{y - 4}" r="5" fill="{colour}"/>'
                else:
                    dash = ' stroke-dasharray="5 3"' if shape == "dash" else ""
                    mark = (
                        f'<line x1="{x}" y1="{y - 4}" x2="{x + 12}" y2="{y - 4}" stroke="{colour}" '
                        f'stroke-width="{3 if shape == "line" else 2}"{dash}/>'
                    )
                out.append(f'{mark}<text x="{x + 16}" y="{y}" font-size="12">{escape(text)}</text>')
        return "".join(out)

    def render(self, *, x_labels: Sequence[tuple[float, str]] | None = None, css_class: str = "") -> SafeString:
        body = self._axes(x_labels) + "".join(self.parts) + self._legend()
        return _frame(body, self.title, self.width, self.height, css_class)


def _frame(body: str, title: str, width: int = WIDTH, height: int = HEIGHT, css_class: str = "") -> SafeString:
    classes = f"irt-chart {css_class}".strip()
    return mark_safe(  # every interpolated text is escaped by the callers
        f'<svg class="{classes}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" style="width:100%;max-width:{width * 1.25:.0f}px;height:auto" '
        f'role="img" aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def empty(title: str, message: str) -> SafeString:
    return _frame(
        f'<text x="{WIDTH / 2}" y="20" font-size="15" font-weight="600" text-anchor="middle">{escape(title)}</text>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" font-size="13" text-anchor="middle" fill="{MUTED}">'
        f"{escape(message)}</text>",
        title,
        height=80 + HEIGHT // 4,
    )


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
