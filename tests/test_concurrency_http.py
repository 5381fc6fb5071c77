"""Many clients at once over real HTTP against PostgreSQL: one training, one production, nothing lost."""

import itertools
import threading
import time

import pytest
from django.utils import timezone

from retraining import selectors
from retraining.models import Deployment, ModelVersion
from tests.api_client import call
from tests.conftest import token_for
from tests.test_crash_recovery import slow_to_fit_answers
from training_data.models import TrainingData
from training_data.services import answers_insert

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(count, action):
    """Run ``action(k)`` in ``count`` threads released together; return their results in order."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(k):
        barrier.wait()
        results[k] = action(k)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    return results


@pytest.fixture
def staff_token(staff):
    from rest_framework.test import APIClient

    return token_for(APIClient(), staff)


def test_eight_parallel_retrains_one_trains_the_rest_get_409(live_server, staff_token):
    answers_insert(slow_to_fit_answers(n=60_000))
    results = at_once(8, lambda k: call(live_server.url, "POST", "/api/mlops/retrain", {"limit": 60000}, staff_token))
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 7, results
    assert all(body["error"] == "Training already in progress" for code, body in results if code == 409)
    assert ModelVersion.objects.count() == 1


def test_eight_parallel_deploys_leave_exactly_one_production(live_server, staff_token):
    now = timezone.now()
    for n in range(1, 9):
        ModelVersion.objects.create(version=f"v{n}", number=n, status="completed", training_completed_at=now)
    results = at_once(8, lambda k: call(live_server.url, "POST", f"/api/mlops/deploy/v{k + 1}", token=staff_token))
    assert [code for code, _ in results] == [200] * 8, results
    assert ModelVersion.objects.filter(is_production=True).count() == 1
    assert ModelVersion.objects.filter(status="deployed").count() == 1
    history = list(Deployment.objects.order_by("id").select_related("version", "previous_version"))
    assert len(history) == 8
    assert history[0].previous_version is None
    for before, after in itertools.pairwise(history):
        assert after.previous_version == before.version  # each deploy replaced the one before it
    assert selectors.production_version() == history[-1].version
    assert ModelVersion.objects.filter(status="archived").count() == 7


def test_ingest_during_a_retrain_is_neither_blocked_nor_lost(live_server, staff, ingester, worker_factory):
    from rest_framework.test import APIClient

    answers_insert(slow_to_fit_answers(n=150_000))
    before = TrainingData.objects.count()
    staff_token = token_for(APIClient(), staff)
    app_token = token_for(APIClient(), ingester)
    worker_factory()
    started = call(live_server.url, "POST", "/api/mlops/retrain", {"limit": 150000, "wait": False}, staff_token)
    assert started[0] == 202
    deadline = time.monotonic() + 60
    while not selectors.training_status()["isTraining"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker picks the job up
    latencies, inserted, overlapped = [], 0, []
    for batch in range(10):
        body = [
            {"userId": f"late-{k}", "questionId": f"q{k % 50}", "correct": k % 2 == 0, "eventId": f"late-{batch}-{k}"}
            for k in range(1000)
        ]
        t = time.monotonic()
        code, result = call(live_server.url, "POST", "/api/training-data", body, app_token)
        latencies.append(time.monotonic() - t)
        overlapped.append(selectors.training_status()["isTraining"])  # still training once the batch is stored
        assert code == 201
        inserted += result["inserted"]
    # The fit lasts seconds: the first batches fall inside it wherever this runs; the last ones
    # may not on a fast machine (it once finished before the tenth).
    assert overlapped[0], f"ingest should overlap the training run: still training after each batch {overlapped}"
    assert max(latencies) < 2.0, latencies
    deadline = time.monotonic() + 120
    while selectors.training_status()["isTraining"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert inserted == 10_000
    assert TrainingData.objects.count() == before + 10_000
    assert ModelVersion.objects.get().status in ("completed", "deployed")
