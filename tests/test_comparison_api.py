"""GET /api/mlops/versions/<a>/compare/<b>: the comparison service behind a staff-only door."""

from datetime import timedelta

import pytest

from retraining import services
from retraining.models import ModelVersion
from tests.test_comparison import START, population

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_populations(add_answers):
    add_answers(population(seed=1), prefix="old")
    services.retrain(limit=4000)
    add_answers(population(seed=1, flip=True, start=START + timedelta(days=30)), prefix="new")
    services.retrain(limit=4000)


def test_the_comparison_has_the_documented_shape_and_shows_the_old_model_worse(api, staff, two_populations):
    response = api(staff).get("/api/mlops/versions/v1/compare/v2")
    assert response.status_code == 200, response.content
    body = response.json()
    held_out = ModelVersion.objects.get(version="v2").metrics["validationCount"]
    assert body["answers"] == held_out and body["selection"] == "fresh"
    assert body["inSampleShare"] == {"v1": 0.0, "v2": 0.0}
    assert set(body["metrics"]) == {"v1", "v2"}
    assert {"accuracy", "logLoss", "brierScore", "auc", "ece"} <= set(body["metrics"]["v1"])
    assert "calibration" not in body["metrics"]["v1"]
    for key in ("logLoss", "accuracy", "brierScore"):
        assert set(body["difference"][key]) == {"mean", "low", "high"}
    logloss = body["difference"]["logLoss"]
    assert logloss["mean"] == pytest.approx(body["metrics"]["v1"]["logLoss"] - body["metrics"]["v2"]["logLoss"])
    assert logloss["low"] > 0 and body["verdict"]["logLoss"] == "worse"
    assert body["difference"]["auc"] < 0
    assert body["method"].startswith("normal approximation")


def test_results_are_cached_per_pair_until_a_new_answer_arrives(
    api, staff, two_populations, add_answers, django_assert_max_num_queries
):
    client = api(staff)
    first = client.get("/api/mlops/versions/v2/compare/v1").json()
    with django_assert_max_num_queries(6):  # the versions and the newest answer key: no answers loaded
        again = client.get("/api/mlops/versions/v2/compare/v1").json()
    assert again == first
    add_answers([("user1", "q1", 1, START + timedelta(days=31))], prefix="late")
    fresh = client.get("/api/mlops/versions/v2/compare/v1").json()
    assert fresh["dataCutoff"] == first["dataCutoff"] + 1
    assert fresh["answers"] == first["answers"] + 1


def test_unknown_same_or_unauthorised_requests_are_refused_clearly(api, staff, learner, two_populations):
    assert api(staff).get("/api/mlops/versions/v1/compare/v7").status_code == 404
    same = api(staff).get("/api/mlops/versions/v1/compare/v1")
    assert same.status_code == 409 and same.json()["code"] == "not_comparable"
    assert api().get("/api/mlops/versions/v1/compare/v2").status_code == 401
    assert api(learner).get("/api/mlops/versions/v1/compare/v2").status_code == 403


def test_the_admin_shows_the_same_comparison_with_its_intervals(admin_client, two_populations):
    old = ModelVersion.objects.get(version="v1")
    page = admin_client.get(f"/admin/retraining/modelversion/{old.pk}/change/").content.decode()
    assert 'id="comparison"' in page
    held_out = ModelVersion.objects.get(version="v2").metrics["validationCount"]
    assert f"same {held_out} fresh answers" in page and "v1 0 %, v2 0 %" in page
    assert "worse" in page and "normal approximation" in page
    confirm = admin_client.get(f"/admin/retraining/modelversion/{old.pk}/deploy/").content.decode()
    assert 'id="comparison"' in confirm and "worse" in confirm
