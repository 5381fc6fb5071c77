"""Small server-rendered SVG charts for the admin: no JavaScript, no network, values escaped.

Each function returns a ``SafeString`` holding one ``<svg>`` element. The SVG has a ``viewBox``
and no fixed width, so it scales to its container (a phone's 390 px as well as a desktop), and
its marks carry ``data-*`` attributes with the plotted values, so tests (and curious staff) can
read them back. Every chart has a title, axes with round ticks and axis labels with units.
``figures`` draws the console's charts with the kit in ``plot``.
"""

from .figures import calibration_plot, daily_series, histogram, metric_panel, scatter
from .plot import empty, nice_ticks, tick_label

__all__ = [
    "calibration_plot",
    "daily_series",
    "empty",
    "histogram",
    "metric_panel",
    "nice_ticks",
    "scatter",
    "tick_label",
]
