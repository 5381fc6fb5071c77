"""The gate on intervals, on simulated data where the truth is known."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command

from retraining import selectors, services, signals
from tests.conftest import signal_sent
from tests.test_comparison import START, population

pytestmark = pytest.mark.django_db


@pytest.fixture
def review_signals():
    with signal_sent(signals.gate_needs_review) as received:
        yield received


def test_two_models_of_the_same_population_show_no_significant_difference_and_production_stays(add_answers):
    add_answers(population(seed=2), prefix="first")
    assert services.retrain(limit=4000).deployed
    add_answers(population(seed=2, draw=1, start=START + timedelta(days=1)), prefix="second")
    result = services.retrain(limit=4000)

    decision = result.decision
    compared = decision["comparison"]
    assert compared["selection"] == "fresh" and compared["inSampleShare"] == {"v2": 0.0, "v1": 0.0}
    assert compared["answers"] == result.version.metrics["validationCount"]
    interval = compared["difference"]["logLoss"]
    assert interval["low"] <= 0 <= interval["high"]
    assert compared["verdict"]["logLoss"] == "no significant difference"
    assert "no significant difference from production v1" in decision["reason"]
    # The documented rule: deploy only when the interval's upper end is within the tolerance (0).
    assert result.deployed == (interval["high"] <= 0) and not result.deployed
    assert selectors.production_version().version == "v1"
    assert decision["needsReview"] is False


def test_a_candidate_significantly_better_within_tolerance_deploys(add_answers):
    add_answers(population(seed=1), prefix="old")
    services.retrain(limit=4000)
    add_answers(population(seed=1, flip=True, start=START + timedelta(days=30)), prefix="new")
    result = services.retrain(limit=4000)
    assert result.deployed
    assert "significantly better than production v1" in result.decision["reason"]
    assert result.decision["comparison"]["difference"]["logLoss"]["high"] < 0
    assert result.version.metrics["production"]["answers"] == result.decision["comparison"]["answers"]


def test_a_candidate_held_back_only_by_the_floor_but_better_than_production_is_flagged(
    add_answers, settings, review_signals, django_capture_on_commit_callbacks, caplog
):
    add_answers(population(seed=1), prefix="old")
    services.retrain(limit=4000)  # v1 serves
    add_answers(population(seed=1, flip=True, start=START + timedelta(days=30)), prefix="new")
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.95  # above what any model reaches on these answers
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.INFO, logger="irt.audit"):
        call_command("retrain", "--limit", "4000", stdout=out)
    report = out.getvalue()
    assert "NEEDS REVIEW" in report and "held back by the accuracy floor alone" in report
    version = selectors.version_get("v2")
    assert version.decision["needsReview"] is True and version.decision["deploy"] is False
    assert "significantly better than production v1" in version.decision["reason"]
    assert selectors.production_version().version == "v1"
    assert [(s["version"].version, s["reason"]) for s in review_signals] == [("v2", version.decision["reason"])]
    audits = [r for r in caplog.records if getattr(r, "event", None) == "retrain"]
    assert audits[-1].needs_review is True


def test_the_api_reports_needs_review(add_answers, settings, api, django_user_model):
    add_answers(population(seed=1), prefix="old")
    services.retrain(limit=4000)
    add_answers(population(seed=1, flip=True, start=START + timedelta(days=30)), prefix="new")
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.95
    admin = django_user_model.objects.create_superuser("boss", password="correct horse battery staple")
    body = api(admin).post("/api/mlops/retrain", {"limit": 4000}, format="json").json()
    assert body["deployed"] is False and body["decision"]["needsReview"] is True
    detail = api(admin).get("/api/mlops/versions/v2").json()["version"]
    assert detail["decision"]["comparison"]["verdict"]["logLoss"] == "better"


def test_a_floor_block_without_a_better_model_is_not_flagged(add_answers, settings):
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.99
    add_answers(population(seed=2), prefix="first")
    result = services.retrain(limit=4000)
    assert not result.deployed and result.decision["needsReview"] is False
    assert json.loads(json.dumps(result.decision))["reason"].startswith("accuracy")
