"""The gate's decision and a version's config as a person reads them: rows, badges, review flags."""

from __future__ import annotations

from ..models import ModelVersion
from ..selectors import versions_list


def _num(value, digits=4) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "-"


def gate_rows(decision: dict) -> list[tuple[str, str]]:
    """The gate's inputs as rounded rows (the reason itself is shown on its own)."""
    if not decision:
        return []
    rows = [
        ("Auto-deploy", "on" if decision.get("autoDeploy") else "off"),
        ("Accuracy floor", f"above {_pct(decision.get('threshold'))}"),
        ("Candidate accuracy", _pct(decision.get("accuracy"))),
        ("Candidate log-loss", _num(decision.get("logLoss"))),
        ("Serving version then", decision.get("productionVersion") or "none"),
    ]
    if decision.get("productionLogLoss") is not None:
        rows.append(("Its log-loss on the same answers", _num(decision.get("productionLogLoss"))))
    if decision.get("logLossTolerance"):
        rows.append(("Log-loss tolerance", _num(decision.get("logLossTolerance"))))
    known = {
        "autoDeploy",
        "threshold",
        "accuracy",
        "logLoss",
        "productionVersion",
        "productionLogLoss",
        "logLossTolerance",
        "deploy",
        "reason",
    }
    rows += [(key, _num(value)) for key, value in decision.items() if key not in known and not isinstance(value, dict)]
    return rows


CONFIG_LABELS = {
    "algorithm": "Algorithm",
    "limit": "Most recent answers used",
    "since": "Answers since",
    "validationSplit": "Held-out share",
    "randomSeed": "Random seed",
    "split": "Hold-out split",
    "autoDeploy": "Auto-deploy",
}


def config_rows(config: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in (config or {}).items():
        if key == "settings" and isinstance(value, dict):
            rows += [(f"Fit: {name}", _num(setting, 6)) for name, setting in value.items()]
        elif key == "validationSplit" and isinstance(value, int | float):
            rows.append((CONFIG_LABELS[key], f"{value:.0%}"))
        elif key == "limit" and isinstance(value, int):
            rows.append((CONFIG_LABELS[key], f"{value:,}"))
        else:
            rows.append((CONFIG_LABELS.get(key, key), _num(value) if value is not None else "-"))
    return rows


DECISIONS = {
    "auto-deployed": ("Auto-deployed", "#2f855a", "The gate deployed it."),
    "review": ("Needs review", "#dd6b20", "Held back by the accuracy floor, but better than the serving model."),
    "kept": ("Kept back", "#718096", "The gate kept the serving model."),
    "manual": ("Auto-deploy off", "#718096", "Auto-deploy was off for this run: deploy it by hand if wanted."),
    "failed": ("Failed", "#c53030", "Training failed: nothing to deploy."),
    "training": ("Training", "#b7791f", "Still training."),
}


def needs_review(version: ModelVersion) -> bool:
    """Held back only by the absolute floor while better than the serving model on the same answers.

    The gate records this as ``needsReview``; decisions stored before it did are read the same way
    from their recorded inputs (accuracy at or below the floor, log-loss below the serving model's
    on the same held-out answers).
    """
    decision = version.decision or {}
    if "needsReview" in decision:
        return bool(decision["needsReview"])
    accuracy, threshold = decision.get("accuracy"), decision.get("threshold")
    mine, theirs = decision.get("logLoss"), decision.get("productionLogLoss")
    if decision.get("deploy") or not decision.get("autoDeploy") or None in (accuracy, threshold, mine, theirs):
        return False
    return accuracy <= threshold and mine < theirs


def versions_needing_review(limit: int = 20) -> list[ModelVersion]:
    """Recent finished candidates held back only by the accuracy floor while better than production."""
    recent = versions_list(status=ModelVersion.Status.COMPLETED)[:limit]
    return [version for version in recent if needs_review(version)]


def decision_kind(version: ModelVersion) -> str:
    if version.status == ModelVersion.Status.FAILED:
        return "failed"
    if version.status == ModelVersion.Status.TRAINING:
        return "training"
    decision = version.decision or {}
    if decision.get("deploy"):
        return "auto-deployed"
    if needs_review(version):
        return "review"
    if decision and not decision.get("autoDeploy", True):
        return "manual"
    return "kept" if decision else "manual"


def decision_badge(version: ModelVersion) -> dict:
    """The gate's decision about ``version`` (its card says separately whether it serves now)."""
    kind = decision_kind(version)
    label, colour, meaning = DECISIONS[kind]
    return {"kind": kind, "label": label, "colour": colour, "meaning": meaning, "serving": version.is_production}
