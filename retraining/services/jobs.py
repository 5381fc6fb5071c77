"""Retrains as jobs: the API and the admin queue them, the worker (``manage.py db_worker``) runs them.

The web process only checks what it can answer at once (bad options, a run holding the lease, a
retrain already queued, no answers at all) and writes the job row; training happens in the worker.
The queue is not trusted for "one run at a time": the job calls :func:`retrain`, which takes the
lease like every other run, so a job that starts while another run trains fails with "Training
already in progress". A worker killed mid-run leaves its version training until the lease
expires; the next run takes over and fails it, exactly as for a killed ``manage.py retrain``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django_tasks_db.models import DBTaskResult

from ..errors import JobNotFound, NoTrainingData, TrainingInProgress
from ..models import ModelVersion
from ..selectors import answers_queryset, training_status
from .training import _options

RETRAIN_TASK = "retraining.tasks.retrain_job"


@dataclass
class RetrainJob:
    id: str
    status: str  # queued, running, succeeded, failed
    version: str | None
    error: str | None
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def retrain_enqueue(
    *,
    limit: int | None = None,
    since: date | None = None,
    auto_deploy: bool = True,
    algorithm: str = "irt-2pl",
    split: str = "random",
    actor=None,
) -> RetrainJob:
    """Queue a retrain for the worker; raise what can be known now (as :func:`retrain` would)."""
    from ..tasks import retrain_job

    request = {"limit": limit, "since": since, "auto_deploy": auto_deploy, "algorithm": algorithm, "split": split}
    _options(**request)  # bad options raise here, before anything is queued
    status = training_status()
    if status["isTraining"] and not status["stale"]:
        raise TrainingInProgress(version=status["trainingVersion"], started_at=status["startedAt"])
    queued = retrain_queued()
    if queued is not None:
        raise TrainingInProgress(
            f"Training already in progress: a retrain is queued (job {queued.id}, since "
            f"{queued.enqueued_at:%Y-%m-%d %H:%M:%S} UTC); the worker starts it when it is free"
        )
    if not answers_queryset(since=since).exists():
        raise NoTrainingData()
    queued = {**request, "since": since.isoformat() if since else None, "actor_id": getattr(actor, "pk", None)}
    job = retrain_job.enqueue(**queued)
    return retrain_job_get(str(job.id))


def retrain_queued():
    """The oldest retrain job waiting for a worker, or None."""
    return DBTaskResult.objects.filter(task_path=RETRAIN_TASK, status="READY").order_by("enqueued_at").first()


def retrain_pending():
    """A retrain job the console should watch although no run holds the lease yet: one waiting for
    a worker, or one a worker took within the lease time (it is loading before taking the lease)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    recent = timezone.now() - timedelta(seconds=settings.MLOPS_TRAINING_LEASE_SECONDS)
    return retrain_queued() or (
        DBTaskResult.objects.filter(task_path=RETRAIN_TASK, status="RUNNING", started_at__gte=recent)
        .order_by("-started_at")
        .first()
    )


def retrain_job_get(job_id: str) -> RetrainJob:
    """A queued retrain's state, with the version it created once it exists."""
    try:
        job = DBTaskResult.objects.filter(pk=uuid.UUID(str(job_id)), task_path=RETRAIN_TASK).first()
    except ValueError:
        job = None
    if job is None:
        raise JobNotFound(f"No retrain job {job_id}")
    version = ModelVersion.objects.filter(config__jobId=str(job.pk)).only("version", "status", "error").first()
    error = None
    state = {"READY": "queued", "RUNNING": "running", "SUCCESSFUL": "succeeded"}.get(job.status, "failed")
    if job.status == "FAILED":
        last = (job.traceback or "").strip().splitlines()[-1:] or [job.exception_class_path]
        error = last[0].split(": ", 1)[-1]
    elif state == "running" and version is not None and version.status == ModelVersion.Status.FAILED:
        # Its worker died: the next run took the lease over and failed the version.
        state, error = "failed", version.error
    return RetrainJob(
        id=str(job.pk),
        status=state,
        version=version.version if version else None,
        error=error,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
