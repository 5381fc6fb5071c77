"""What the staff console shows, as plain data: labels, rounded table rows, the live-training line.

The admin (``admin.py``) is the door; this module only turns stored versions and the training
status into things a person reads. No rule of the service lives here.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format

from .irt.metrics import COMPARED as COMPARED_KEYS
from .irt.metrics import METRIC
from .models import ModelVersion
from .selectors import versions_list
from .services.comparison import DIFFERENCES

CRON = "cron (manage.py retrain)"
COMMAND_ACTOR = "manage.py retrain"  # the actor name the command gives the service
DATETIME = "Y-m-d H:i T"  # every date the console shows carries its time zone


ALGORITHM_SHORT = {
    "irt-2pl": "IRT 2PL",
    "irt-1pl": "IRT 1PL",
    "irt-2pl-modules": "2PL + modules",
    "heuristic": "heuristic",
}


def zone_name() -> str:
    return date_format(timezone.localtime(timezone.now()), "T")


def when(value: datetime | None, pattern: str = DATETIME) -> str:
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), pattern)


def started_by(version: ModelVersion) -> str:
    """Who made a version: the staff user, or cron (the command runs with no user)."""
    return version.created_by.get_username() if version.created_by_id else CRON


def actor_label(name: str | None) -> str:
    if not name or name == COMMAND_ACTOR:
        return CRON
    return name


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


STEPS = {
    "starting": "starting",
    "loaded": "answers loaded",
    "created": "version created",
    "fitting": "fitting the model",
    "learned": "fit done",
    "evaluating": "scoring held-out answers",
    "evaluated": "scored",
    "saved": "saved",
    "deploying": "deploying",
}


def live_training(status: dict, queued=None) -> dict:
    """The training status as the console shows it (and its polling endpoint returns); ``queued``
    is a retrain job waiting for the worker, if any."""
    if not status.get("isTraining"):
        if queued is not None:
            return {
                "isTraining": False,
                "queued": True,
                "currentVersion": status.get("currentVersion"),
                "text": f"Retrain queued {when(queued.enqueued_at)} (job {queued.id}): "
                + ("waiting for the worker." if queued.status == "READY" else "the worker is starting it."),
            }
        return {"isTraining": False, "currentVersion": status.get("currentVersion"), "text": "No training running."}
    progress = status.get("progress") or {}
    started = status.get("startedAt")
    elapsed = (timezone.now() - started).total_seconds() if started else None
    step = STEPS.get(progress.get("step"), progress.get("step") or "starting")
    version = status.get("trainingVersion")
    parts = [f"{version or 'A new version'} is training: {step}"]
    if progress.get("iteration"):
        parts.append(f"EM iteration {progress['iteration']}")
    if elapsed is not None:
        parts.append(f"{_duration(elapsed)} elapsed")
    if started:
        parts.append(f"started {when(started)} by {actor_label(progress.get('startedBy'))}")
    text = " · ".join(parts)
    if status.get("stale"):
        text += " (its lease has expired: the process stopped; the next run takes over)"
    return {
        "isTraining": True,
        "currentVersion": status.get("currentVersion"),
        "trainingVersion": version,
        "step": progress.get("step"),
        "iteration": progress.get("iteration"),
        "startedAt": started.isoformat() if started else None,
        "elapsedSeconds": round(elapsed, 1) if elapsed is not None else None,
        "startedBy": actor_label(progress.get("startedBy")),
        "stale": bool(status.get("stale")),
        "text": text,
    }


def in_progress_message(error) -> str:
    """ "Training already in progress", naming the run that holds the lock."""
    if getattr(error, "version", None):
        started = f", started {when(error.started_at)}" if getattr(error, "started_at", None) else ""
        return f"Training already in progress: {error.version} is training{started}. Wait for it to finish."
    return "Training already in progress (a run is loading answers). Wait for it to finish."


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


# ------------------------------------------------------------------------------ decisions
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


# ------------------------------------------------------------------------------ comparisons
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
    auc_a, auc_b = comparison.metrics[a].get("auc"), comparison.metrics[b].get("auc")
    rows.append(
        {
            "key": "auc",
            "label": "AUC",
            "a": "-" if auc_a is None else f"{auc_a:.3f}",
            "b": "-" if auc_b is None else f"{auc_b:.3f}",
            "difference": "-" if comparison.auc_difference is None else f"{comparison.auc_difference:+.3f}",
            "interval": "no interval",
            "verdict": "",
            "css": "same",
            "lower_is_better": False,
        }
    )
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
        "rows": rows,
        "summary": _sentence(comparison.summary(), a),
        "verdict": comparison.verdict("logLoss"),
    }


def metric_cells(metrics: dict) -> list[str]:
    return [metric.format(metrics.get(metric.key)) for metric in SHOWN_METRICS]
