"""The drawing kit of the charts: round ticks, axes, a titled plot with its legend, the SVG frame."""

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
        return frame(body, self.title, self.width, self.height, css_class)


def frame(body: str, title: str, width: int = WIDTH, height: int = HEIGHT, css_class: str = "") -> SafeString:
    classes = f"irt-chart {css_class}".strip()
    return mark_safe(  # every interpolated text is escaped by the callers
        f'<svg class="{classes}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" style="width:100%;max-width:{width * 1.25:.0f}px;height:auto" '
        f'role="img" aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def empty(title: str, message: str) -> SafeString:
    return frame(
        f'<text x="{WIDTH / 2}" y="20" font-size="15" font-weight="600" text-anchor="middle">{escape(title)}</text>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" font-size="13" text-anchor="middle" fill="{MUTED}">'
        f"{escape(message)}</text>",
        title,
        height=80 + HEIGHT // 4,
    )
