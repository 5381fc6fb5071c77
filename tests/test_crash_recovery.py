"""A trainer killed with SIGKILL mid-fit: its lease runs out, the next run takes over, production stays."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from retraining import selectors, services
from retraining.models import ModelVersion, TrainingLock
from tests.conftest import ROOT, database_url
from training_data.models import TrainingData
from training_data.services import answers_insert

pytestmark = pytest.mark.django_db(transaction=True)

LEASE = 3


@pytest.fixture(autouse=True)
def answers_emptied_first():
    """Answers go before the flush that ends each test: SQLite's flush empties tables in no fixed
    order, and deleting 15,000 questions while 150,000 answers still reference them makes its
    foreign-key check scan the answers once per question (minutes)."""
    yield
    TrainingData.objects.all().delete()


def slow_to_fit_answers(n=150_000, users=3000, items=15_000, seed=5):
    """Many questions with few answers each: EM needs dozens of iterations (seconds)."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    user = rng.integers(0, users, n)
    item = rng.integers(0, items, n)
    right = rng.random(n) < 0.65
    return [
        (f"h{u:06d}", f"q{i}", "", None, bool(c), None, start + timedelta(seconds=k), f"slow-{k}", now)
        for k, (u, i, c) in enumerate(zip(user.tolist(), item.tolist(), right.tolist(), strict=True))
    ]


def test_sigkill_mid_fit_then_takeover(simulated, settings):
    settings.MLOPS_TRAINING_LEASE_SECONDS = LEASE
    serving = services.retrain().version  # v1 serves
    answers_insert(slow_to_fit_answers())

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "true",
        "MLOPS_TRAINING_LEASE_SECONDS": str(LEASE),
    }
    trainer = subprocess.Popen(
        [sys.executable, "manage.py", "retrain", "--limit", "150000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    progress = {}
    while time.monotonic() < deadline and trainer.poll() is None:
        lock = TrainingLock.objects.first()
        progress = lock.progress if lock else {}
        if progress.get("step") == "fitting" and progress.get("iteration", 0) >= 2:
            break
        time.sleep(0.05)
    assert trainer.poll() is None, "the trainer finished before it could be killed mid-fit"
    assert progress.get("step") == "fitting"
    os.kill(trainer.pid, signal.SIGKILL)
    trainer.wait()
    orphan = ModelVersion.objects.get(version="v2")
    assert orphan.status == "training"

    status = selectors.training_status()
    assert status["isTraining"] is True and status["trainingVersion"] == "v2"
    assert status["stale"] is False  # the lease is still running
    with pytest.raises(services.TrainingInProgress):
        services.retrain()
    time.sleep(LEASE + 0.5)
    assert selectors.training_status()["stale"] is True

    result = services.retrain(auto_deploy=False, limit=3000)
    orphan.refresh_from_db()
    assert orphan.status == "failed" and orphan.error.startswith("Abandoned")
    assert result.version.version == "v3" and result.version.status == "completed"
    assert selectors.production_version() == serving
    assert selectors.training_status() == {"isTraining": False, "currentVersion": "v1"}


def test_worker_killed_mid_fit_its_job_is_recovered_like_a_killed_command(simulated, settings, worker_factory):
    from tests.conftest import job_wait

    settings.MLOPS_TRAINING_LEASE_SECONDS = LEASE
    serving = services.retrain().version  # v1 serves
    answers_insert(slow_to_fit_answers())
    lease_env = {"MLOPS_TRAINING_LEASE_SECONDS": str(LEASE)}
    worker = worker_factory(lease_env)
    job = services.retrain_enqueue(limit=150_000)

    deadline = time.monotonic() + 120
    progress = {}
    while time.monotonic() < deadline and worker.process.poll() is None:
        lock = TrainingLock.objects.first()
        progress = lock.progress if lock else {}
        if progress.get("step") == "fitting" and progress.get("iteration", 0) >= 2:
            break
        time.sleep(0.05)
    assert progress.get("step") == "fitting", "the worker finished before it could be killed mid-fit"
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    assert services.retrain_job_get(job.id).status == "running"
    assert ModelVersion.objects.get(version="v2").status == "training"
    with pytest.raises(services.TrainingInProgress):
        services.retrain_enqueue()  # the lease is still running

    time.sleep(LEASE + 0.5)
    assert selectors.training_status()["stale"] is True
    worker_factory(lease_env)
    second = services.retrain_enqueue(auto_deploy=False, limit=3000)
    assert job_wait(second.id).status == "succeeded"
    orphan = ModelVersion.objects.get(version="v2")
    assert orphan.status == "failed" and orphan.error.startswith("Abandoned")
    killed = services.retrain_job_get(job.id)
    assert (killed.status, killed.version) == ("failed", "v2") and killed.error.startswith("Abandoned")
    assert ModelVersion.objects.get(version="v3").status == "completed"
    assert selectors.production_version() == serving
