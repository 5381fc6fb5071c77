"""The auto-deploy gate: whether a freshly trained candidate replaces the serving model."""

from __future__ import annotations

from django.conf import settings

from ..models import ModelVersion


def deploy_decision(
    *, candidate: dict, production: ModelVersion | None, production_metrics: dict | None, auto_deploy: bool
) -> dict:
    """The auto-deploy gate: accuracy above the threshold and log-loss no worse than production's
    on the same held-out answers (plus a tolerance); or no production model at all."""
    threshold = settings.MLOPS_AUTO_DEPLOY_THRESHOLD
    tolerance = settings.MLOPS_LOGLOSS_TOLERANCE
    decision = {
        "autoDeploy": auto_deploy,
        "threshold": threshold,
        "logLossTolerance": tolerance,
        "accuracy": candidate["accuracy"],
        "logLoss": candidate["logLoss"],
        "productionVersion": production.version if production else None,
        "productionLogLoss": production_metrics["logLoss"] if production_metrics else None,
    }
    if not auto_deploy:
        return {**decision, "deploy": False, "reason": "auto-deploy is off; deploy it by hand if wanted"}
    if not candidate["accuracy"] > threshold:
        reason = f"accuracy {candidate['accuracy']:.2%} is not above the {threshold:.2%} threshold"
        return {**decision, "deploy": False, "reason": reason}
    if production is None:
        reason = f"accuracy {candidate['accuracy']:.2%} is above the {threshold:.2%} threshold and no model serves yet"
        return {**decision, "deploy": True, "reason": reason}
    limit = production_metrics["logLoss"] + tolerance
    if candidate["logLoss"] > limit:
        reason = (
            f"log-loss {candidate['logLoss']:.4f} is worse than production {production.version}'s "
            f"{production_metrics['logLoss']:.4f} on the same held-out answers"
        )
        return {**decision, "deploy": False, "reason": reason}
    reason = (
        f"accuracy {candidate['accuracy']:.2%} is above the {threshold:.2%} threshold and log-loss "
        f"{candidate['logLoss']:.4f} is no worse than production {production.version}'s "
        f"{production_metrics['logLoss']:.4f}"
    )
    return {**decision, "deploy": True, "reason": reason}
