"""The serving model, watched: scored every day on answers that arrived after its training cutoff.

:func:`monitor` (``manage.py monitor``, cron, and the end of every retrain) stores one
:class:`~retraining.models.MonitoringDay` row per day and judges the recent days against the
version's deploy-time baseline (its held-out log-loss). :func:`health` reads the rows (the API).

Degraded: over the last ``MLOPS_MONITOR_WINDOW_DAYS`` days, the low end of the 95 % interval of the
log-loss is above the baseline plus ``MLOPS_DRIFT_TOLERANCE``, on at least
``MLOPS_MIN_COMPARISON_ANSWERS`` answers: worse beyond doubt, not by noise.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from common.audit import audit
from training_data.models import TrainingData

from .. import signals
from ..irt import metrics
from ..models import ModelVersion, MonitoringDay
from ..selectors import answers_load, production_version
from ..serving import stored_model

logger = logging.getLogger(__name__)

#: Days scored on a first run (older answers after the cutoff are not monitored).
FIRST_RUN_DAYS = 90
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class DayScore:
    date: date
    answers: int
    accuracy: float
    log_loss: float
    auc: float | None
    ece: float

    def as_json(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "answers": self.answers,
            "accuracy": self.accuracy,
            "logLoss": self.log_loss,
            "auc": self.auc,
            "ece": self.ece,
        }


@dataclass(frozen=True)
class Health:
    """The serving version's recent days against its deploy-time baseline."""

    version: str
    baseline: dict  # its held-out metrics when it was trained (accuracy, logLoss, auc, ece, answers)
    days: list[DayScore]
    degraded: bool
    reason: str
    window_days: int
    window_answers: int
    window_log_loss: dict | None  # {"mean", "low", "high"} over the window

    def as_json(self) -> dict:
        return {
            "version": self.version,
            "baseline": self.baseline,
            "days": [day.as_json() for day in self.days],
            "degraded": self.degraded,
            "reason": self.reason,
            "window": {"days": self.window_days, "answers": self.window_answers, "logLoss": self.window_log_loss},
        }


def monitor(*, today: date | None = None) -> Health | None:
    """Score the production version per day since the last run, store the rows, and judge.

    Returns None when nothing serves. When degraded, writes a ``production_degraded`` audit event
    and sends :data:`signals.production_degraded` after commit.
    """
    version = production_version()
    if version is None:
        return None
    today = today or timezone.now().date()
    model = stored_model(version)
    for day in _days_to_score(version, today):
        data = answers_load(since=day, until=day + timedelta(days=1), keys=version.cutoff.after(), with_labels=False)
        if len(data) == 0:
            MonitoringDay.objects.filter(version=version, date=day).delete()
            continue
        probability = model.predict_answers(data).probability
        scores = metrics.evaluate(data.correct, probability)
        losses = metrics.per_answer_losses(data.correct, probability)["logLoss"]
        MonitoringDay.objects.update_or_create(
            version=version,
            date=day,
            defaults={
                "answers": len(data),
                "accuracy": scores["accuracy"],
                "log_loss": scores["logLoss"],
                "log_loss_square": float(np.mean(losses**2)),
                "brier_score": scores["brierScore"],
                "auc": scores["auc"],
                "ece": scores["ece"],
            },
        )
    result = health(version, days=settings.MLOPS_MONITOR_WINDOW_DAYS, today=today)
    if result.degraded:
        audit(
            "production_degraded",
            version=version.version,
            reason=result.reason,
            log_loss=round(result.window_log_loss["mean"], 4),
            baseline_log_loss=round(result.baseline["logLoss"], 4),
            answers=result.window_answers,
        )
        signals.send_after_commit(
            signals.production_degraded,
            version=version,
            reason=result.reason,
            log_loss=result.window_log_loss["mean"],
            baseline_log_loss=result.baseline["logLoss"],
        )
    return result


def monitor_quietly() -> Health | None:
    """:func:`monitor` for the end of a retrain: a failure is logged, never raised."""
    try:
        return monitor()
    except Exception:
        logger.exception("monitoring the production version failed")
        return None


def health(version: ModelVersion, *, days: int = 30, today: date | None = None) -> Health:
    """The stored days of the last ``days`` days and the verdict over the monitoring window."""
    today = today or timezone.now().date()
    window = settings.MLOPS_MONITOR_WINDOW_DAYS
    first = today - timedelta(days=max(days, window) - 1)
    rows = list(MonitoringDay.objects.filter(version=version, date__gte=first, date__lte=today).order_by("date"))
    recent = [row for row in rows if row.date > today - timedelta(days=window)]
    baseline = _baseline(version)
    degraded, reason, pooled = _judge(recent, baseline, window)
    shown = [row for row in rows if row.date > today - timedelta(days=days)]
    return Health(
        version=version.version,
        baseline=baseline,
        days=[DayScore(r.date, r.answers, r.accuracy, r.log_loss, r.auc, r.ece) for r in shown],
        degraded=degraded,
        reason=reason,
        window_days=window,
        window_answers=sum(row.answers for row in recent),
        window_log_loss=pooled,
    )


def _days_to_score(version: ModelVersion, today: date) -> list[date]:
    """Days with answers after the cutoff not stored yet, and the last window's days again (late
    answers may have arrived). Answers given more than ``FIRST_RUN_DAYS`` ago are not scored."""
    horizon = today - timedelta(days=FIRST_RUN_DAYS - 1)
    first = TrainingData.objects.filter(version.cutoff.after(), answered_at__gte=_midnight(horizon)).aggregate(
        first=Min("answered_at")
    )["first"]
    if first is None:
        return []
    start = first.astimezone(UTC).date()
    stored = set(MonitoringDay.objects.filter(version=version, date__gte=start).values_list("date", flat=True))
    recent = today - timedelta(days=settings.MLOPS_MONITOR_WINDOW_DAYS - 1)
    span = (today - start).days + 1
    return [day for day in (start + timedelta(days=k) for k in range(span)) if day >= recent or day not in stored]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _baseline(version: ModelVersion) -> dict:
    held_out = version.metrics or {}
    return {
        "accuracy": held_out.get("accuracy"),
        "logLoss": held_out.get("logLoss"),
        "auc": held_out.get("auc"),
        "ece": held_out.get("ece"),
        "answers": held_out.get("validationCount", held_out.get("count")),
    }


def _judge(rows: list[MonitoringDay], baseline: dict, window: int) -> tuple[bool, str, dict | None]:
    n = sum(row.answers for row in rows)
    if n == 0:
        return False, f"no answers after its training cutoff in the last {window} days: nothing to judge yet", None
    mean = sum(row.answers * row.log_loss for row in rows) / n
    square = sum(row.answers * row.log_loss_square for row in rows) / n
    variance = max(square - mean**2, 0.0) * n / max(n - 1, 1)
    half = _Z95 * math.sqrt(variance / n)
    pooled = {"mean": mean, "low": mean - half, "high": mean + half}
    base = baseline["logLoss"]
    tolerance = settings.MLOPS_DRIFT_TOLERANCE
    said = (
        f"log-loss {mean:.4f} (95 % interval {mean - half:.4f} to {mean + half:.4f}) on {n} answers over the "
        f"last {window} days"
    )
    if base is None:
        return False, f"{said}; no deploy-time baseline to compare with", pooled
    minimum = settings.MLOPS_MIN_COMPARISON_ANSWERS
    if n < minimum:
        return False, f"{said}: too few answers to judge (fewer than {minimum})", pooled
    if pooled["low"] > base + tolerance:
        return True, f"degraded: {said} is worse than {base:.4f} at deploy by more than {tolerance}", pooled
    return False, f"healthy: {said}, against {base:.4f} at deploy (tolerance {tolerance})", pooled
