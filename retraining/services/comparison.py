"""Two versions scored on the same answers, with the uncertainty of their difference.

The one comparison of the project: the gate, the API, the admin and the ``evaluate`` command call
:func:`compare`. A metric from one run's held-out answers is never set beside another run's.

Which answers (unless the caller gives them): the most recent answers that neither version trained
on - every answer that arrived after the newer version's training cutoff, plus the newer version's
held-out answers that arrived after the older one's cutoff. When fewer than
``MLOPS_MIN_COMPARISON_ANSWERS`` exist, the newer version's whole held-out set is used instead
("held-out"), and the share of those answers each version trained on is reported. That choice is
``comparison_answers.py``; this module scores and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max

from training_data.models import TrainingData

from ..errors import NotComparable
from ..irt import metrics
from ..models import ModelVersion
from ..selectors import AnswerArrays, answers_given
from ..serving import StoredModel, stored_model
from .comparison_answers import (
    FRESH,  # noqa: F401  (callers read the selections and training_window here)
    GIVEN,
    HELD_OUT,  # noqa: F401
    TrainingWindow,
    select_answers,
    trained_on,
    training_window,  # noqa: F401
)

#: The differences reported, and whether a lower value is better (from the metrics' catalogue).
DIFFERENCES = tuple((key, not metrics.METRIC[key].higher_is_better) for key in metrics.PAIRED)
NO_SIGNIFICANT_DIFFERENCE = "no significant difference"


@dataclass(frozen=True)
class Interval:
    """A mean difference (a minus b) with its 95 % interval."""

    mean: float
    low: float
    high: float

    def verdict(self, *, lower_is_better: bool) -> str:
        """ "better" / "worse" (for a against b) when the interval excludes zero, else no difference."""
        if self.low <= 0 <= self.high:
            return NO_SIGNIFICANT_DIFFERENCE
        return "better" if (self.high < 0) == lower_is_better else "worse"

    def as_json(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Comparison:
    """Versions ``a`` and ``b`` scored on the same ``answers``; differences are a minus b."""

    a: str
    b: str
    answers: int
    selection: str  # FRESH, HELD_OUT or GIVEN
    in_sample_share: dict[str, float | None]  # share of the answers each version trained on
    cold_start_share: dict[str, float]  # share predicted for an unknown learner or question
    metrics: dict[str, dict]  # each version's metrics on these answers
    differences: dict[str, Interval]  # logLoss, accuracy, brierScore
    auc_difference: float | None
    data_cutoff_id: int | None  # the newest answer key when compared
    method: str = metrics.DIFFERENCE_METHOD
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def verdict(self, metric: str = "logLoss") -> str:
        """a against b on one metric: "better", "worse" or "no significant difference"."""
        lower_is_better = dict(DIFFERENCES)[metric]
        return self.differences[metric].verdict(lower_is_better=lower_is_better)

    def summary(self) -> str:
        """One line for people: which is better on log-loss and by how much, on which answers."""
        ll = self.differences["logLoss"]
        verdict = self.verdict("logLoss")
        said = verdict if verdict == NO_SIGNIFICANT_DIFFERENCE else f"{self.a} is {verdict} than {self.b}"
        return (
            f"{said}: log-loss difference {ll.mean:+.4f} (95 % interval {ll.low:+.4f} to {ll.high:+.4f}) "
            f"on {self.answers} {self.selection} answers"
        )

    def as_json(self) -> dict:
        """The API's shape (``GET /api/mlops/versions/<a>/compare/<b>``)."""
        shown = {key for key in self.metrics.get(self.a, {}) if key not in ("calibration", "confusion")}
        return {
            "a": self.a,
            "b": self.b,
            "answers": self.answers,
            "selection": self.selection,
            "inSampleShare": self.in_sample_share,
            "coldStartShare": self.cold_start_share,
            "metrics": {name: {k: v for k, v in m.items() if k in shown} for name, m in self.metrics.items()},
            "difference": {
                **{key: interval.as_json() for key, interval in self.differences.items()},
                "auc": self.auc_difference,
            },
            "verdict": {key: self.verdict(key) for key, _ in DIFFERENCES},
            "method": self.method,
            "dataCutoff": self.data_cutoff_id,
        }


# ----------------------------------------------------------------------------- the service
def compare(
    a: ModelVersion,
    b: ModelVersion,
    *,
    answers: AnswerArrays | None = None,
    windows: dict[int, TrainingWindow] | None = None,
    models: dict[int, StoredModel] | None = None,
) -> Comparison:
    """Score ``a`` and ``b`` on the same answers and return their paired differences.

    ``answers`` overrides the default choice (module docstring). ``windows`` and ``models`` give
    what a caller already holds in memory (the retrain: its candidate's data, split and model) so
    they are not reloaded; by default both are rebuilt from the database.
    Learners or questions a version never saw get its cold-start predictions.
    """
    _check_comparable(a, b)
    windows = dict(windows or {})
    if answers is None:
        data, selection, trained = select_answers(a, b, windows)
    else:
        data, selection = answers, GIVEN
        trained = {v.pk: trained_on(v, data.ids, windows) if data.ids.size else None for v in (a, b)}
    if len(data) < 2:
        raise NotComparable(
            f"Too few answers to compare {a.version} with {b.version} ({len(data)}); collect more answers"
        )
    models = models or {}
    predictions = {v.pk: (models.get(v.pk) or stored_model(v)).predict_answers(data) for v in (a, b)}
    scores = {v.version: metrics.evaluate(data.correct, predictions[v.pk].probability) for v in (a, b)}
    paired = metrics.paired_differences(data.correct, predictions[a.pk].probability, predictions[b.pk].probability)
    return Comparison(
        a=a.version,
        b=b.version,
        answers=len(data),
        selection=selection,
        in_sample_share={v.version: None if trained[v.pk] is None else float(np.mean(trained[v.pk])) for v in (a, b)},
        cold_start_share={
            v.version: float(np.mean(predictions[v.pk].cold_user | predictions[v.pk].cold_question)) for v in (a, b)
        },
        metrics=scores,
        differences={key: Interval(**paired[key]) for key, _ in DIFFERENCES},
        auc_difference=paired["auc"],
        data_cutoff_id=_newest_answer_id(),
    )


def compare_on_file(a: ModelVersion, b: ModelVersion, *, path, file_format: str | None = None) -> Comparison:
    """:func:`compare` on an answers file (the import layouts). Nothing is known of who trained on
    a file's answers, so the in-sample shares are None. ``ImportFailed`` for an unreadable file."""
    from training_data.services import answer_file_rows

    rows = list(answer_file_rows(path, file_format=file_format))
    if not rows:
        raise NotComparable(f"{path} holds no answers to compare on")
    return compare(
        a,
        b,
        answers=answers_given([r[0] for r in rows], [r[1] for r in rows], [r[4] for r in rows], [r[2] for r in rows]),
    )


def compare_cached(a: ModelVersion, b: ModelVersion) -> Comparison:
    """:func:`compare` on the default answers, kept per pair and per newest answer key.

    A new answer changes the key (it may change the answers chosen), so cached results never go
    stale; finished versions never change.
    """
    _check_comparable(a, b)
    key = ":".join(
        str(part)
        for part in (
            "irt:compare",
            a.pk,
            _stamp(a),
            b.pk,
            _stamp(b),
            _newest_answer_id(),
            settings.MLOPS_MIN_COMPARISON_ANSWERS,
        )
    )
    found = cache.get(key)
    if found is None:
        found = compare(a, b)
        cache.set(key, found, timeout=24 * 3600)
    return found


def compare_many(versions: Sequence[ModelVersion]) -> list[Comparison]:
    """The first version against each of the others, all on one set of answers.

    The answers are chosen as :func:`compare` chooses them for the newest two (by cutoff): answers
    after the second newest's cutoff came after every older version's too, so they are fresh for
    all; with too few, the newest's held-out set (each version's in-sample share says how much of
    it that version trained on). Each result holds both versions' metrics on those answers.
    """
    if len(versions) < 2:
        raise NotComparable("Choose at least two versions to compare")
    first, others = versions[0], list(versions[1:])
    for other in others:
        _check_comparable(first, other)
    by_cutoff = sorted(versions, key=lambda v: v.cutoff)
    windows: dict[int, TrainingWindow] = {}
    data, selection, _ = select_answers(by_cutoff[-1], by_cutoff[-2], windows)
    return [replace(compare(first, other, answers=data, windows=windows), selection=selection) for other in others]


def _stamp(version: ModelVersion) -> str:
    done = version.training_completed_at
    return f"{done.timestamp():.6f}" if done else "-"


# ----------------------------------------------------------------------------- its steps
def _check_comparable(a: ModelVersion, b: ModelVersion) -> None:
    if a.pk == b.pk:
        raise NotComparable(f"Choose two different versions to compare (both are {a.version})")
    for version in (a, b):
        if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED) and not version.summaries:
            raise NotComparable(f"Version {version.version} has no model to compare (status {version.status})")


def _newest_answer_id() -> int | None:
    newest = TrainingData.objects.aggregate(newest=Max("id"))["newest"]
    return newest if isinstance(newest, int) or newest is None else None


def interval_text(interval: Interval) -> str:
    return f"{interval.mean:+.4f} ({interval.low:+.4f} to {interval.high:+.4f})"
