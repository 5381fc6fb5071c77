"""What the commands print about a comparison, read from its JSON body (``Comparison.as_json()``):
``retrain`` reports the gate's comparison with production, ``evaluate`` a backtest of two versions."""

from __future__ import annotations

from ..irt.metrics import METRIC
from ..services.comparison import DIFFERENCES


def trained_shares(compared: dict) -> str:
    """The share of the answers each version trained on ("v2 0%, v1 unknown")."""
    return ", ".join(
        f"{name} {'unknown' if share is None else f'{share:.0%}'}" for name, share in compared["inSampleShare"].items()
    )


def difference_lines(compared: dict) -> list[str]:
    """One line per paired difference: both values, a minus b with its 95 % interval, the verdict."""
    a, b = compared["a"], compared["b"]
    lines = []
    for key, _ in DIFFERENCES:
        d = compared["difference"][key]
        lines.append(
            f"   {METRIC[key].label}: {compared['metrics'][a][key]:.4f} vs {compared['metrics'][b][key]:.4f}, "
            f"difference {d['mean']:+.4f} (95 % interval {d['low']:+.4f} to {d['high']:+.4f}): "
            f"{compared['verdict'][key]}"
        )
    return lines
