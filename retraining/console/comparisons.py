"""Comparisons as the console shows them: metric columns, differences with intervals, the summary."""

from __future__ import annotations

from ..irt.metrics import COMPARED as COMPARED_KEYS
from ..irt.metrics import METRIC
from ..services.comparison import DIFFERENCES

#: The compare page's metric columns (the catalogue's "compared" figures).
SHOWN_METRICS = tuple(METRIC[key] for key in COMPARED_KEYS)

SELECTIONS = {
    "fresh": "recent answers neither version trained on",
    "held-out": "the newer version's held-out answers (too few answers arrived since; see the in-sample share)",
    "given": "the answers given",
}


def _signed(value: float, metric) -> str:
    return f"{value * 100:+.2f} pp" if metric.percent else f"{value:+.4f}"


def _sentence(text: str, version: str) -> str:
    """A capital first letter, unless the text opens with a version name ("v2 is better ...")."""
    return text if text.startswith(version) else text[:1].upper() + text[1:]


def comparison_view(comparison) -> dict:
    """A :class:`~retraining.services.comparison.Comparison` as the console shows it.

    Differences are a minus b, each with its 95 % interval; "better"/"worse" (for a) only where the
    interval excludes zero.
    """
    a, b = comparison.a, comparison.b
    share = comparison.in_sample_share or {}
    return {
        "a": a,
        "b": b,
        "answers": f"{comparison.answers:,}",
        "selection": SELECTIONS.get(comparison.selection, comparison.selection),
        "in_sample": {name: value for name, value in share.items() if value},
        "kind": comparison.selection,
        "trained_on": ", ".join(
            f"{name} {'unknown' if value is None else f'{value:.0%}'.replace('%', ' %')}"
            for name, value in share.items()
        ),
        "method": comparison.method,
        "cold_start": {name: value for name, value in (comparison.cold_start_share or {}).items() if value},
        "rows": [*_difference_rows(comparison), _auc_row(comparison)],
        "summary": _sentence(comparison.summary(), a),
        "verdict": comparison.verdict("logLoss"),
    }


def _difference_rows(comparison) -> list[dict]:
    """One row per paired difference: both values, a minus b, its interval and verdict."""
    a, b = comparison.a, comparison.b
    rows = []
    for key, _ in DIFFERENCES:
        metric, interval, verdict = METRIC[key], comparison.differences[key], comparison.verdict(key)
        rows.append(
            {
                "key": key,
                "label": metric.label,
                "a": metric.format(comparison.metrics[a][key]),
                "b": metric.format(comparison.metrics[b][key]),
                "difference": _signed(interval.mean, metric),
                "interval": f"{_signed(interval.low, metric)} to {_signed(interval.high, metric)}",
                "verdict": verdict,
                "css": verdict if verdict in ("better", "worse") else "same",
                "lower_is_better": not metric.higher_is_better,
            }
        )
    return rows


def _auc_row(comparison) -> dict:
    """AUC has no per-answer difference, so no interval and no verdict."""
    auc_a, auc_b = comparison.metrics[comparison.a].get("auc"), comparison.metrics[comparison.b].get("auc")
    return {
        "key": "auc",
        "label": METRIC["auc"].label,
        "a": "-" if auc_a is None else f"{auc_a:.3f}",
        "b": "-" if auc_b is None else f"{auc_b:.3f}",
        "difference": "-" if comparison.auc_difference is None else f"{comparison.auc_difference:+.3f}",
        "interval": "no interval",
        "verdict": "",
        "css": "same",
        "lower_is_better": False,
    }


def metric_cells(metrics: dict) -> list[str]:
    return [metric.format(metrics.get(metric.key)) for metric in SHOWN_METRICS]
