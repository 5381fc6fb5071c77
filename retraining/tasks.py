"""Jobs run by the worker (``manage.py db_worker``)."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django_tasks import TaskContext, task

from .models import ModelVersion
from .services import retrain


@task(takes_context=True)
def retrain_job(
    context: TaskContext,
    *,
    limit: int | None,
    since: str | None,
    auto_deploy: bool,
    algorithm: str,
    split: str,
    actor_id: int | None,
) -> dict:
    """One retrain, queued by the API or the admin (:func:`retraining.services.retrain_enqueue`)."""
    job_id = str(context.task_result.id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None

    def started(version: ModelVersion) -> None:
        # Links the job to its version (the job's status shows it from now on).
        version.config = {**version.config, "jobId": job_id}
        ModelVersion.objects.filter(pk=version.pk).update(config=version.config)

    result = retrain(
        limit=limit,
        since=date.fromisoformat(since) if since else None,
        auto_deploy=auto_deploy,
        algorithm=algorithm,
        split=split,
        actor=actor,
        started=started,
    )
    return {"version": result.version.version, "deployed": result.deployed, "reason": result.decision["reason"]}
