"""Who made a version and when, and the live-training line the pages show and poll."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format

from ..models import ModelVersion

CRON = "cron (manage.py retrain)"
COMMAND_ACTOR = "manage.py retrain"  # the actor name the command gives the service
DATETIME = "Y-m-d H:i T"  # every date the console shows carries its time zone


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
