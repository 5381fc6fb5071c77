"""The auto-deploy gate: whether a freshly trained candidate replaces the serving model.

The rule: accuracy above ``MLOPS_AUTO_DEPLOY_THRESHOLD`` (the floor) **and**, compared with the
serving model on the same answers (:func:`~retraining.services.comparison.compare`), a log-loss
difference (candidate minus production) whose 95 % interval ends at or below
``MLOPS_LOGLOSS_TOLERANCE``: the candidate is shown, at 95 % confidence, to be no worse than
production by more than the tolerance. With the default tolerance 0 that means significantly better,
so two equally good models never swap production back and forth. A candidate that only the floor
holds back while it is significantly better than production is flagged ``needsReview``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings

from common.camel import camel_fields

from ..models import ModelVersion
from .comparison import NO_SIGNIFICANT_DIFFERENCE, Comparison, interval_text


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict and the figures it was made on; stored with the version as JSON."""

    auto_deploy: bool
    threshold: float
    log_loss_tolerance: float
    accuracy: float
    log_loss: float
    production_version: str | None
    production_log_loss: float | None  # on the comparison's answers
    deploy: bool
    reason: str
    needs_review: bool = False
    comparison: dict | None = None  # the comparison's JSON: answers, in-sample shares, differences

    def as_json(self) -> dict:
        """The stored and API form (camelCase, in the fields' order)."""
        return camel_fields(self)


def deploy_decision(
    *,
    candidate: dict,
    production: ModelVersion | None,
    comparison: Comparison | None,
    auto_deploy: bool,
    comparison_error: str = "",
) -> GateDecision:
    """The auto-deploy gate (module docstring), deciding on the comparison with production."""
    figures = GateDecision(
        auto_deploy=auto_deploy,
        threshold=settings.MLOPS_AUTO_DEPLOY_THRESHOLD,
        log_loss_tolerance=settings.MLOPS_LOGLOSS_TOLERANCE,
        accuracy=candidate["accuracy"],
        log_loss=candidate["logLoss"],
        production_version=production.version if production else None,
        production_log_loss=comparison.metrics[comparison.b]["logLoss"] if comparison else None,
        deploy=False,
        reason="",
        comparison=comparison.as_json() if comparison else None,
    )
    deploy, reason, needs_review = _decide(figures, production, comparison, comparison_error)
    return replace(figures, deploy=deploy, reason=reason, needs_review=needs_review)


def _decide(
    figures: GateDecision, production: ModelVersion | None, comparison: Comparison | None, comparison_error: str
) -> tuple[bool, str, bool]:
    """The rule, in order: auto-deploy on, the accuracy floor, nothing serving, then the comparison.
    Returns whether to deploy, why, and whether a person should review it."""
    accuracy, threshold = figures.accuracy, figures.threshold
    if not figures.auto_deploy:
        return False, "auto-deploy is off; deploy it by hand if wanted", False
    if not accuracy > threshold:
        floor = f"accuracy {accuracy:.2%} is not above the {threshold:.2%} threshold"
        if comparison is not None and comparison.verdict("logLoss") == "better":
            return (
                False,
                f"held back by the accuracy floor alone: {floor}, yet it is significantly better than production "
                f"{production.version} on the same answers ({_differences(comparison)}); review it and deploy it "
                "by hand if the floor is too strict",
                True,
            )
        return False, floor, False
    above = f"accuracy {accuracy:.2%} is above the {threshold:.2%} threshold"
    if production is None:
        return True, f"{above} and no model serves yet", False
    if comparison is None:
        why = comparison_error or "no answers to compare on"
        return False, f"{above}, but it could not be compared with production {production.version}: {why}", False
    deploy, reason = _against_production(above, production, comparison, figures.log_loss_tolerance)
    return deploy, reason, False


def _against_production(
    above: str, production: ModelVersion, comparison: Comparison, tolerance: float
) -> tuple[bool, str]:
    """Deploy when the log-loss difference's interval lies at or below the tolerance."""
    interval = comparison.differences["logLoss"]
    said = (
        f"it shows {NO_SIGNIFICANT_DIFFERENCE} from production {production.version}"
        if comparison.verdict("logLoss") == NO_SIGNIFICANT_DIFFERENCE
        else f"it is significantly {comparison.verdict('logLoss')} than production {production.version}"
    )
    where = f"log-loss difference {interval_text(interval)} on {comparison.answers} {comparison.selection} answers"
    if interval.high <= tolerance:
        return True, f"{above} and {said}: {where}, within the tolerance {tolerance}"
    return (
        False,
        f"{above}, but {said}: {where}; the interval's upper end is above the tolerance {tolerance}, "
        "so production stays",
    )


def _differences(comparison: Comparison) -> str:
    d = comparison.differences
    return (
        f"log-loss {interval_text(d['logLoss'])}, accuracy {interval_text(d['accuracy'])} on "
        f"{comparison.answers} {comparison.selection} answers"
    )


def decision_recheck(
    decision: GateDecision, *, compared_with: ModelVersion | None, serving_now: ModelVersion | None
) -> GateDecision:
    """No auto-deploy when someone deployed by hand while the run trained: the candidate was
    compared with the model that served when it started, not with the one serving now."""
    if not decision.deploy or getattr(serving_now, "pk", None) == getattr(compared_with, "pk", None):
        return decision
    return replace(
        decision,
        deploy=False,
        reason=f"production changed to {serving_now.version if serving_now else 'none'} during "
        "training, so this candidate was not compared with it; retrain or deploy by hand",
    )
