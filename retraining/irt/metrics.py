"""Held-out evaluation of predicted probabilities against 0/1 outcomes.

Every figure is computed from its own definition (the positive class is a correct answer):
precision, recall and F1 are not accuracy under another name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import as_binary_array

_EPS = 1e-15


def _check(y_true, y_prob):
    y_true = as_binary_array(y_true, "y_true")
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim != 1 or y_prob.size != y_true.size:
        raise ValueError(f"y_prob must be 1-D with {y_true.size} values, got shape {y_prob.shape}")
    if y_true.size == 0:
        raise ValueError("no answers to evaluate")
    if np.isnan(y_prob).any() or (y_prob < 0).any() or (y_prob > 1).any():
        raise ValueError("y_prob must hold probabilities in [0, 1] without NaN")
    return y_true, y_prob


def roc_auc(y_true, y_prob) -> float | None:
    """Area under the ROC curve from ranks (ties get their average rank); None with one class."""
    y_true, y_prob = _check(y_true, y_prob)
    positives = int(y_true.sum())
    negatives = y_true.size - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(y_prob, kind="mergesort")
    sorted_prob = y_prob[order]
    # Average rank (1-based) of each run of tied probabilities.
    boundaries = np.flatnonzero(np.diff(sorted_prob)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [sorted_prob.size]])
    average_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(y_prob.size)
    ranks[order] = np.repeat(average_rank, ends - starts)
    rank_sum = ranks[y_true == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def calibration_table(y_true, y_prob, bins: int = 10) -> list[dict]:
    """Equal-width bins of predicted probability with their mean prediction, observed rate, count."""
    y_true, y_prob = _check(y_true, y_prob)
    index = np.minimum((y_prob * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=y_prob, minlength=bins)
    observed = np.bincount(index, weights=y_true, minlength=bins)
    table = []
    for k in range(bins):
        n = int(counts[k])
        table.append(
            {
                "lower": k / bins,
                "upper": (k + 1) / bins,
                "count": n,
                "meanPredicted": float(predicted[k] / n) if n else None,
                "observedRate": float(observed[k] / n) if n else None,
            }
        )
    return table


def expected_calibration_error(table: list[dict]) -> float:
    """Count-weighted mean |observed rate - mean prediction| over the bins of a calibration table."""
    total = sum(row["count"] for row in table)
    return float(
        sum(row["count"] * abs(row["observedRate"] - row["meanPredicted"]) for row in table if row["count"]) / total
    )


def evaluate(y_true, y_prob, threshold: float = 0.5, bins: int = 10) -> dict:
    """All held-out metrics as a JSON-ready dict (camelCase keys, as the API reports them)."""
    y_true, y_prob = _check(y_true, y_prob)
    predicted = y_prob >= threshold
    actual = y_true == 1
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    tn = int(np.sum(~predicted & ~actual))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    error = y_prob - y_true
    clipped = np.clip(y_prob, _EPS, 1 - _EPS)
    log_loss = -np.mean(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))
    table = calibration_table(y_true, y_prob, bins)
    auc = roc_auc(y_true, y_prob)
    return {
        "accuracy": (tp + tn) / y_true.size,
        "precision": precision,
        "recall": recall,
        "f1Score": f1,
        "rmse": math.sqrt(float(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "auc": auc,
        "logLoss": float(log_loss),
        "brierScore": float(np.mean(error**2)),
        "ece": expected_calibration_error(table),
        "calibration": table,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "count": int(y_true.size),
    }


# ------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Metric:
    """A scalar metric of :func:`evaluate`: its key there (and in the API), label and format."""

    key: str
    label: str
    percent: bool  # shown as a percentage; otherwise with four decimals
    higher_is_better: bool

    def format(self, value, *, digits: int = 4) -> str:
        """The value as people read it (``digits`` decimals unless a percentage); "-" where there
        is none (e.g. AUC with one class)."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return "-"
        return f"{value:.2%}" if self.percent else f"{value:.{digits}f}"


#: Every scalar metric, in the order reports list them. Labels follow the original console report.
METRICS = (
    Metric("accuracy", "Accuracy", True, True),
    Metric("precision", "Precision", True, True),
    Metric("recall", "Recall", True, True),
    Metric("f1Score", "F1 Score", True, True),
    Metric("rmse", "RMSE", False, False),
    Metric("mae", "MAE", False, False),
    Metric("auc", "AUC", False, True),
    Metric("logLoss", "Log-loss", False, False),
    Metric("brierScore", "Brier score", False, False),
    Metric("ece", "Calibration error (ECE)", False, False),
)
METRIC = {metric.key: metric for metric in METRICS}

#: The figures stored for the other models scored on a candidate's held-out answers.
HEADLINE = ("accuracy", "auc", "logLoss", "brierScore", "f1Score")
#: The figures the console compares version against version.
COMPARED = (*HEADLINE, "ece")


def headline(scores: dict) -> dict:
    """The :data:`HEADLINE` figures of an :func:`evaluate` result."""
    return {key: scores[key] for key in HEADLINE}


#: How :func:`paired_differences` computes its intervals (shown beside every comparison).
DIFFERENCE_METHOD = "normal approximation: mean of the per-answer differences ± 1.96 standard errors"
_Z95 = 1.959963984540054


#: The metrics with a per-answer value, so a paired difference with an interval (:func:`per_answer_losses`).
PAIRED = ("logLoss", "accuracy", "brierScore")


def per_answer_losses(y_true, y_prob) -> dict[str, np.ndarray]:
    """Each answer's log-loss, 0/1 accuracy and squared error (their means are the usual metrics)."""
    y_true, y_prob = _check(y_true, y_prob)
    clipped = np.clip(y_prob, _EPS, 1 - _EPS)
    return {
        "logLoss": -(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped)),
        "accuracy": ((y_prob >= 0.5) == (y_true == 1)).astype(np.float64),
        "brierScore": (y_prob - y_true) ** 2,
    }


def mean_interval(values: np.ndarray) -> dict:
    """Mean with its 95 % normal-approximation interval: ``{"mean", "low", "high"}``."""
    n = values.size
    mean = float(values.mean())
    half = _Z95 * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return {"mean": mean, "low": mean - half, "high": mean + half}


def paired_differences(y_true, p_a, p_b) -> dict:
    """Model a minus model b on the same answers, answer by answer.

    Per answer: log-loss, accuracy and Brier score of a minus those of b; each returned as the mean
    difference with a 95 % interval (:data:`DIFFERENCE_METHOD`). Pairing removes the variation
    between answers that both models share, so the interval is far narrower than comparing two
    separately computed means. ``auc`` is the plain difference of the two AUCs (None with one class).
    """
    a = per_answer_losses(y_true, p_a)
    b = per_answer_losses(y_true, p_b)
    out = {key: mean_interval(a[key] - b[key]) for key in a}
    auc_a, auc_b = roc_auc(y_true, p_a), roc_auc(y_true, p_b)
    out["auc"] = auc_a - auc_b if auc_a is not None and auc_b is not None else None
    return out
