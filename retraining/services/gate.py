"""The auto-deploy gate: whether a freshly trained candidate replaces the serving model."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings

from ..models import ModelVersion


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict and the figures it was made on; stored with the version as JSON."""

    auto_deploy: bool
    threshold: float
    log_loss_tolerance: float
    accuracy: float
    log_loss: float
    production_version: str | None
    production_log_loss: float | None
    deploy: bool
    reason: str

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
        }


def deploy_decision(
    *, candidate: dict, production: ModelVersion | None, production_metrics: dict | None, auto_deploy: bool
) -> GateDecision:
    """The auto-deploy gate: accuracy above the threshold and log-loss no worse than production's
    on the same held-out answers (plus a tolerance); or no production model at all."""
    threshold = settings.MLOPS_AUTO_DEPLOY_THRESHOLD
    tolerance = settings.MLOPS_LOGLOSS_TOLERANCE
    accuracy, log_loss = candidate["accuracy"], candidate["logLoss"]

    def verdict(deploy: bool, reason: str) -> GateDecision:
        return GateDecision(
            auto_deploy=auto_deploy,
            threshold=threshold,
            log_loss_tolerance=tolerance,
            accuracy=accuracy,
            log_loss=log_loss,
            production_version=production.version if production else None,
            production_log_loss=production_metrics["logLoss"] if production_metrics else None,
            deploy=deploy,
            reason=reason,
        )

    if not auto_deploy:
        return verdict(False, "auto-deploy is off; deploy it by hand if wanted")
    if not accuracy > threshold:
        return verdict(False, f"accuracy {accuracy:.2%} is not above the {threshold:.2%} threshold")
    if production is None:
        return verdict(True, f"accuracy {accuracy:.2%} is above the {threshold:.2%} threshold and no model serves yet")
    limit = production_metrics["logLoss"] + tolerance
    if log_loss > limit:
        reason = (
            f"log-loss {log_loss:.4f} is worse than production {production.version}'s "
            f"{production_metrics['logLoss']:.4f} on the same held-out answers"
        )
        return verdict(False, reason)
    reason = (
        f"accuracy {accuracy:.2%} is above the {threshold:.2%} threshold and log-loss "
        f"{log_loss:.4f} is no worse than production {production.version}'s "
        f"{production_metrics['logLoss']:.4f}"
    )
    return verdict(True, reason)


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
