"""The serving model watched on answers after its training cutoff: degraded when the answers'
generating model shifts, healthy when it does not (simulated data, the truth known)."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from retraining import services, signals
from retraining.models import ModelVersion, MonitoringDay
from retraining.services import monitoring
from tests.conftest import signal_sent
from tests.test_comparison import population

pytestmark = pytest.mark.django_db
SIX_DAYS = 6 * 24 * 3600


@pytest.fixture
def serving(add_answers):
    """v1 trained on answers given two to three weeks ago, and deployed."""
    add_answers(population(seed=7, start=timezone.now() - timedelta(days=21), step=100), prefix="past")
    result = services.retrain(limit=4000)
    assert result.deployed
    return result.version


def _this_week(add_answers, *, flip):
    answers = population(
        seed=7, draw=1, per_user=5, flip=flip, start=timezone.now() - timedelta(days=6), step=SIX_DAYS / 1000
    )
    add_answers(answers, prefix="week")


@pytest.fixture
def degraded_signals():
    with signal_sent(signals.production_degraded) as received:
        yield received


def test_answers_from_the_same_model_keep_production_healthy(
    serving, add_answers, degraded_signals, django_capture_on_commit_callbacks
):
    _this_week(add_answers, flip=False)
    with django_capture_on_commit_callbacks(execute=True):
        health = monitoring.monitor()
    assert not health.degraded and health.reason.startswith("healthy")
    assert health.window_answers == 1000
    assert sum(day.answers for day in health.days) == 1000
    assert len(health.days) >= 6
    assert MonitoringDay.objects.filter(version=serving).count() == len(health.days)
    assert degraded_signals == []


def test_a_shifted_answer_generating_model_turns_monitoring_degraded(
    serving, add_answers, degraded_signals, django_capture_on_commit_callbacks, caplog
):
    _this_week(add_answers, flip=True)
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.INFO, logger="irt.audit"):
        health = monitoring.monitor()
    assert health.degraded and health.reason.startswith("degraded")
    assert health.window_log_loss["low"] > health.baseline["logLoss"] + 0.05
    assert [s["version"].version for s in degraded_signals] == ["v1"]
    assert degraded_signals[0]["log_loss"] == pytest.approx(health.window_log_loss["mean"])
    assert [r.version for r in caplog.records if getattr(r, "event", None) == "production_degraded"] == ["v1"]


def test_too_few_answers_are_not_enough_to_call_it_degraded(serving, add_answers):
    answers = population(seed=7, draw=2, n_users=20, per_user=5, flip=True, start=timezone.now() - timedelta(days=2))
    add_answers(answers, prefix="few")
    health = monitoring.monitor()
    assert not health.degraded and "too few answers" in health.reason


def test_the_monitoring_endpoint_shows_the_days_and_the_verdict(serving, add_answers, api, staff, learner):
    _this_week(add_answers, flip=True)
    call_command("monitor", stdout=io.StringIO())
    body = api(staff).get("/api/mlops/production/monitoring?days=30").json()
    assert body["version"] == "v1" and body["degraded"] is True and body["reason"].startswith("degraded")
    assert body["baseline"]["logLoss"] == pytest.approx(serving.metrics["logLoss"])
    assert {"date", "answers", "accuracy", "logLoss", "auc", "ece"} == set(body["days"][0])
    assert sum(day["answers"] for day in body["days"]) == 1000
    assert len(api(staff).get("/api/mlops/production/monitoring?days=2").json()["days"]) <= 2
    bad = api(staff).get("/api/mlops/production/monitoring?days=0")
    assert bad.status_code == 400 and "days" in bad.json()["error"]
    assert api(learner).get("/api/mlops/production/monitoring").status_code == 403


def test_monitoring_without_a_production_model(api, staff):
    assert monitoring.monitor() is None
    assert api(staff).get("/api/mlops/production/monitoring").status_code == 404
    out = io.StringIO()
    call_command("monitor", stdout=out)
    assert "nothing to monitor" in out.getvalue()


def test_retrain_if_degraded_skips_a_healthy_production_and_retrains_a_degraded_one(serving, add_answers):
    _this_week(add_answers, flip=False)
    out = io.StringIO()
    call_command("retrain", "--if-degraded", "--json", stdout=out)
    assert json.loads(out.getvalue())["skipped"] is True
    assert ModelVersion.objects.count() == 1

    MonitoringDay.objects.all().delete()
    add_answers(
        population(seed=7, draw=3, per_user=10, flip=True, start=timezone.now() - timedelta(days=3), step=100),
        prefix="shift",
    )
    out = io.StringIO()
    call_command("retrain", "--if-degraded", stdout=out)
    assert "is degraded" in out.getvalue()
    assert ModelVersion.objects.count() == 2


def test_every_retrain_ends_by_monitoring_the_serving_model(serving, add_answers):
    _this_week(add_answers, flip=False)
    services.retrain(auto_deploy=False)
    assert sum(MonitoringDay.objects.filter(version=serving).values_list("answers", flat=True)) == 1000
