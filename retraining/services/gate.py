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
        """The stored and API form (camelCase, this order)."""
        return {
            "autoDeploy": self.auto_deploy,
            "threshold": self.threshold,
            "logLossTolerance": self.log_loss_tolerance,
            "accuracy": self.accuracy,
            "logLoss": self.log_loss,
            "productionVersion": self.production_version,
            "productionLogLoss": self.production_log_loss,
            "deploy": self.deploy,
            "reason": self.reason,
            "needsReview": self.needs_review,
            "comparison": self.comparison,
        }


def deploy_decision(
    *,
    candidate: dict,
    production: ModelVersion | None,
    comparison: Comparison | None,
    auto_deploy: bool,
    comparison_error: str = "",
) -> GateDecision:
    """The auto-deploy gate (module docstring), deciding on the comparison with production."""
    threshold = settings.MLOPS_AUTO_DEPLOY_THRESHOLD
    tolerance = settings.MLOPS_LOGLOSS_TOLERANCE
    accuracy, log_loss = candidate["accuracy"], candidate["logLoss"]

    def verdict(deploy: bool, reason: str, *, needs_review: bool = False) -> GateDecision:
        return GateDecision(
            auto_deploy=auto_deploy,
            threshold=threshold,
            log_loss_tolerance=tolerance,
            accuracy=accuracy,
            log_loss=log_loss,
            production_version=production.version if production else None,
            production_log_loss=comparison.metrics[comparison.b]["logLoss"] if comparison else None,
            deploy=deploy,
            reason=reason,
            needs_review=needs_review,
            comparison=comparison.as_json() if comparison else None,
        )

    better = comparison is not None and comparison.verdict("logLoss") == "better"
    if not auto_deploy:
        return verdict(False, "auto-deploy is off; deploy it by hand if wanted")
    floor = f"accuracy {accuracy:.2%} is not above the {threshold:.2%} threshold"
    if not accuracy > threshold:
        if better:
            return verdict(
                False,
                f"held back by the accuracy floor alone: {floor}, yet it is significantly better than production "
                f"{production.version} on the same answers ({_differences(comparison)}); review it and deploy it "
                "by hand if the floor is too strict",
                needs_review=True,
            )
        return verdict(False, floor)
    above = f"accuracy {accuracy:.2%} is above the {threshold:.2%} threshold"
    if production is None:
        return verdict(True, f"{above} and no model serves yet")
    if comparison is None:
        why = comparison_error or "no answers to compare on"
        return verdict(False, f"{above}, but it could not be compared with production {production.version}: {why}")
    interval = comparison.differences["logLoss"]
    said = (
        f"it shows {NO_SIGNIFICANT_DIFFERENCE} from production {production.version}"
        if comparison.verdict("logLoss") == NO_SIGNIFICANT_DIFFERENCE
        else f"it is significantly {comparison.verdict('logLoss')} than production {production.version}"
    )
    where = f"log-loss difference {interval_text(interval)} on {comparison.answers} {comparison.selection} answers"
    if interval.high <= tolerance:
        return verdict(True, f"{above} and {said}: {where}, within the tolerance {tolerance}")
    return verdict(
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
