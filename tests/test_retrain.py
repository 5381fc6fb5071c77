"""The retraining pipeline: versions, evaluation, the gate, failures and the lease."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from retraining import progress, selectors, services
from retraining.errors import NoTrainingData, TrainingInProgress, VersionNotDeployable
from retraining.irt import IRT
from retraining.models import Deployment, ModelVersion, TrainingLock
from tests.conftest import simulated_answers

pytestmark = pytest.mark.django_db


def test_first_run_trains_evaluates_and_deploys(simulated):
    steps = []
    result = services.retrain(progress=lambda step, facts: steps.extend(progress.lines(step, facts)))
    version = result.version
    assert (version.version, version.status, version.is_production) == ("v1", "deployed", True)
    assert result.deployed and "no model serves yet" in result.decision["reason"]
    assert version.training_data_count == len(simulated)
    assert version.metrics["trainCount"] + version.metrics["validationCount"] == len(simulated)
    assert version.metrics["accuracy"] > 0.75
    assert version.metrics["auc"] > version.metrics["baseline"]["auc"]
    # Precision, recall and F1 are each their own number.
    assert len({version.metrics[k] for k in ("accuracy", "precision", "recall", "f1Score")}) == 4
    params = version.parameters
    assert set(params["questions"]["q0"]) == {"difficulty", "discrimination", "answers", "successRate"}
    assert set(params["difficulty"]) == {"mean", "variance"} and "abilityEstimates" in params
    assert version.data_first_answer_at == simulated[0][3] and version.data_last_answer_at == simulated[-1][3]
    assert len(version.data_digest) == 64 and version.duration > 0
    assert ("Retraining", "Created model version: v1") in steps
    assert [tag for tag, _ in steps].count("Evaluation") == 3
    assert Deployment.objects.get().action == "auto-deploy"
    assert not TrainingLock.objects.exists()


def test_lifecycle_v1_v2_and_rollback(simulated, admin_user):
    v1 = services.retrain().version
    v2 = services.retrain().version  # same answers, same fit: no worse, so it deploys
    v1.refresh_from_db()
    assert v2.is_production and v1.status == "archived"
    assert v2.metrics["production"]["version"] == "v1"
    deployment = services.version_deploy(version=v1, actor=admin_user, reason="v2 misbehaves")
    v2.refresh_from_db()
    assert v1.is_production and v1.status == "deployed" and v2.status == "archived"
    assert ModelVersion.objects.filter(is_production=True).count() == 1
    assert (deployment.action, deployment.previous_version, deployment.actor_name) == ("rollback", v2, "admin")
    history = list(
        Deployment.objects.order_by("id").values_list("version__version", "previous_version__version", "action")
    )
    assert history == [("v1", None, "auto-deploy"), ("v2", "v1", "auto-deploy"), ("v1", "v2", "rollback")]
    assert services.version_deploy(version=v1) is None  # already serving: no-op, no new row
    assert Deployment.objects.count() == 3


def test_failed_and_running_versions_are_not_deployable(simulated):
    ModelVersion.objects.create(version="v1", number=1, status="failed")
    with pytest.raises(VersionNotDeployable, match="failed"):
        services.version_deploy(version=ModelVersion.objects.get(version="v1"))
    assert not Deployment.objects.exists()


def test_failure_mid_fit_marks_the_version_failed_and_leaves_production(simulated, monkeypatch):
    served = services.retrain().version

    def broken_fit(self, *args, **kwargs):
        kwargs["callback"](1)  # the run is mid-fit, holding its lease
        assert TrainingLock.objects.get().version.version == "v2"
        raise FloatingPointError("diverged")

    monkeypatch.setattr(IRT, "fit", broken_fit)
    with pytest.raises(FloatingPointError):
        services.retrain()
    failed = ModelVersion.objects.get(version="v2")
    assert failed.status == "failed" and "FloatingPointError: diverged" in failed.error
    assert not failed.is_production and failed.training_completed_at is not None
    assert selectors.production_version() == served
    assert not TrainingLock.objects.exists()
    assert selectors.training_status()["isTraining"] is False


def test_no_data_is_a_typed_error_and_leaves_no_version():
    with pytest.raises(NoTrainingData, match="No training data available"):
        services.retrain()
    assert not ModelVersion.objects.exists() and not TrainingLock.objects.exists()


def test_gate_refuses_below_the_threshold(simulated, settings):
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.99
    result = services.retrain()
    assert not result.deployed and result.version.status == "completed"
    assert "not above the 99.00% threshold" in result.version.decision["reason"]
    assert selectors.production_version() is None


def test_gate_refuses_a_model_worse_than_production(simulated, settings):
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.5  # let the accuracy test pass: log-loss decides
    services.retrain()  # 2PL serves
    result = services.retrain(algorithm="heuristic")  # far worse log-loss on the same answers
    assert not result.deployed
    assert "worse than production v1" in result.decision["reason"]
    assert result.decision["productionLogLoss"] < result.decision["logLoss"]
    assert selectors.production_version().version == "v1"


def test_gate_is_off_with_no_auto_deploy(simulated):
    result = services.retrain(auto_deploy=False)
    assert not result.deployed and "auto-deploy is off" in result.decision["reason"]


def test_limit_and_since_pick_exactly_the_right_answers(add_answers):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    answers = simulated_answers(n_users=40, per_user=10)
    add_answers([(*a[:3], start + timedelta(hours=k)) for k, a in enumerate(answers)])
    version = services.retrain(limit=120, auto_deploy=False).version
    assert version.training_data_count == 120
    assert version.data_last_answer_at == start + timedelta(hours=399)
    assert version.data_first_answer_at == start + timedelta(hours=280)
    since = (start + timedelta(hours=350)).date()  # 2026-03-15 00:00 = hour 336
    version = services.retrain(since=since, limit=100_000, auto_deploy=False).version
    assert version.training_data_count == 400 - 336
    assert version.data_first_answer_at == start + timedelta(hours=336)


def test_time_split_holds_out_each_users_latest_answers(add_answers):
    answers = simulated_answers(n_users=30, per_user=10)
    add_answers(answers)
    data = selectors.answers_load(limit=None)
    held = services.holdout_mask(data, validation_split=0.2, random_seed=42, split="time")
    assert held.sum() == 30 * 2
    latest = {}
    for k in np.flatnonzero(held):
        latest.setdefault(data.users[k], []).append(k)
    # Rows are newest first: the held-out ones are each user's first two rows.
    for user, rows in latest.items():
        assert rows == list(np.flatnonzero(data.users == user)[:2])


def test_a_running_training_blocks_a_second_one(simulated):
    lease = services.TrainingLease().acquire()
    with pytest.raises(TrainingInProgress, match="Training already in progress"):
        services.retrain()
    status = selectors.training_status()
    assert status["isTraining"] and not status["stale"]
    lease.release()
    assert services.retrain().version.version == "v1"


def test_a_stale_lease_is_taken_over_and_its_version_failed(simulated):
    orphan = ModelVersion.objects.create(version="v1", number=1, status="training", training_started_at=timezone.now())
    past = timezone.now() - timedelta(hours=1)
    TrainingLock.objects.create(
        name="retrain", owner="dead-host:1:x", version=orphan, acquired_at=past, heartbeat_at=past, expires_at=past
    )
    assert selectors.training_status()["stale"] is True
    result = services.retrain()
    orphan.refresh_from_db()
    assert orphan.status == "failed" and "Abandoned" in orphan.error
    assert result.version.version == "v2" and result.version.is_production
    assert not TrainingLock.objects.exists()


def test_lost_lease_aborts_the_run(simulated, monkeypatch):
    original = IRT.fit

    def stolen(self, *args, **kwargs):
        TrainingLock.objects.update(owner="someone-else")  # as if our lease had expired and been taken
        return original(self, *args, **kwargs)

    monkeypatch.setattr(IRT, "fit", stolen)
    with pytest.raises(Exception, match="lease lost"):
        services.retrain()
    assert ModelVersion.objects.get().status == "failed"


def test_heuristic_starts_from_the_newest_app_label():
    from training_data.services import answer_row, answers_insert

    now = timezone.now()
    start = now - timedelta(days=2)
    rows = []
    for k in range(200):  # q0: half right (no adjustment); labelled 1.0 first, 2.0 later
        label = 1.0 if k < 100 else 2.0
        rows.append(
            answer_row(
                user_id=f"u{k % 40}",
                question_id="q0" if k % 2 == 0 else "q1",
                correct=(k // 2) % 2,
                difficulty=label if k % 2 == 0 else None,
                answered_at=start + timedelta(minutes=k),
                event_id=f"lab-{k}",
                now=now,
            )
        )
    answers_insert(rows)
    version = services.retrain(algorithm="heuristic", auto_deploy=False, validation_split=0.1).version
    assert version.parameters["questions"]["q0"]["difficulty"] == pytest.approx(2.0)
    assert version.parameters["questions"]["q1"]["difficulty"] == pytest.approx(0.0)


def test_no_auto_deploy_when_production_changed_during_training(simulated, monkeypatch):
    services.retrain()  # v1 serves
    services.retrain(auto_deploy=False)  # v2, kept aside
    original = IRT.fit

    def deploy_meanwhile(self, *args, **kwargs):
        services.version_deploy(version=ModelVersion.objects.get(version="v2"), actor_name="someone")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(IRT, "fit", deploy_meanwhile)
    result = services.retrain()
    assert not result.deployed
    assert "production changed to v2 during training" in result.decision["reason"]
    assert selectors.production_version().version == "v2"
