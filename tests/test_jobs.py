"""Retrains queued by the API run in the job worker (a separate process), never in the web process."""

import time

import pytest
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from retraining.models import ModelVersion
from tests.api_client import call
from tests.conftest import job_wait, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_retrain_is_queued_then_run_by_the_worker(live_server, staff, simulated, worker_factory):
    token = token_for(APIClient(), staff)
    code, body = call(live_server.url, "POST", "/api/mlops/retrain", {"wait": False, "limit": 5000}, token)
    assert code == 202, body
    assert body["status"] == "queued" and body["version"] is None
    assert body["statusUrl"] == f"/api/mlops/jobs/{body['jobId']}"

    # No worker yet: the web process trains nothing, the job waits, a second request is refused.
    time.sleep(1.0)
    assert ModelVersion.objects.count() == 0
    assert call(live_server.url, "GET", body["statusUrl"], token=token)[1]["status"] == "queued"
    again = call(live_server.url, "POST", "/api/mlops/retrain", {"wait": False}, token)
    assert again[0] == 409 and again[1]["code"] == "training_in_progress" and "queued" in again[1]["error"]

    worker = worker_factory()
    job_wait(body["jobId"])
    code, done = call(live_server.url, "GET", body["statusUrl"], token=token)
    assert code == 200
    assert (done["status"], done["version"], done["error"]) == ("succeeded", "v1", None)
    assert done["startedAt"] and done["finishedAt"]
    assert DBTaskResult.objects.get(pk=body["jobId"]).worker_ids == [worker.worker_id]
    version = ModelVersion.objects.get()
    assert version.status == "deployed" and version.created_by == staff
    assert version.config["limit"] == 5000 and version.config["jobId"] == body["jobId"]


def test_a_job_that_fails_in_the_worker_reports_why(live_server, staff, simulated, worker_factory):
    token = token_for(APIClient(), staff)
    worker_factory()
    # Answers exist, so the request is queued; one answer is too few to hold any out.
    code, body = call(live_server.url, "POST", "/api/mlops/retrain", {"wait": False, "limit": 1}, token)
    assert code == 202
    job = job_wait(body["jobId"])
    assert job.status == "failed" and job.version == "v1" and job.error.startswith("Too few answers (1)")
    assert ModelVersion.objects.get().status == "failed"


def test_errors_known_at_once_are_answered_at_once(live_server, staff, simulated):
    token = token_for(APIClient(), staff)
    empty = call(live_server.url, "POST", "/api/mlops/retrain", {"wait": False, "since": "2026-11-01"}, token)
    assert empty[0] == 422 and empty[1]["code"] == "no_training_data"
    assert DBTaskResult.objects.count() == 0
    unknown = call(live_server.url, "GET", "/api/mlops/jobs/not-a-job", token=token)
    assert unknown[0] == 404 and unknown[1]["code"] == "job_not_found"
    unknown = call(live_server.url, "GET", "/api/mlops/jobs/5f0c8a4e-3f7b-4a8e-9a55-2b1d0c9e7f11", token=token)
    assert unknown[0] == 404


def test_the_command_can_queue_a_job_too(simulated):
    import io
    import json

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("retrain", "--enqueue", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["status"] == "queued" and DBTaskResult.objects.filter(pk=body["jobId"]).exists()
    with pytest.raises(CommandError) as refused:
        call_command("retrain", "--enqueue", stdout=io.StringIO())
    assert refused.value.returncode == 3 and "queued" in str(refused.value)
    assert ModelVersion.objects.count() == 0
