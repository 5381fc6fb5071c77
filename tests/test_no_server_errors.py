"""Inputs that used to reach a 500 get a 400/404 with the JSON error body; everything under /api/ is JSON."""

import pytest
from rest_framework.test import APIClient

from retraining import selectors, services
from training_data.models import TrainingData

pytestmark = pytest.mark.django_db

ANSWER = '{"userId": "u1", "questionId": "q1", "correct": true, "eventId": "e1"}'


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/training-data", '[{"userId": "q\\ud800", "questionId": "q1", "correct": true, "eventId": "e1"}]'),
        ("/api/training-data", '[{"userId": "u", "questionId": "q\\udfff", "correct": true, "eventId": "e1"}]'),
        ("/api/training-data", '[{"\\ud800": 1, "userId": "u", "questionId": "q", "correct": true, "eventId": "e"}]'),
        ("/api/training-data", '{"answers": [' + ANSWER + '], "\\uDBFF": 0}'),
        ("/api/mlops/retrain", '{"algorithm": "\\ud800"}'),
        ("/api/mlops/predict", '{"userId": "\\ud800", "questionId": "q1"}'),
        ("/api/mlops/predict", '[{"userId": "u1", "questionId": "q\\ud83d"}]'),
    ],
)
def test_lone_surrogates_are_a_400(api, staff, ingester, path, body):
    client = api(ingester if path == "/api/training-data" else staff)
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "parse_error" and "surrogate" in response.json()["error"]
    assert not TrainingData.objects.exists()


def test_a_complete_surrogate_pair_is_text(api, ingester):
    body = '[{"userId": "rocket-\\ud83d\\ude80", "questionId": "q1", "correct": true, "eventId": "e1"}]'
    assert api(ingester).post("/api/training-data", body, content_type="application/json").status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/mlops/versions/%C2%B2", 404),
        ("get", "/api/mlops/versions/%D9%A3", 404),
        ("get", "/api/mlops/versions/v1%00", 400),
        ("post", "/api/mlops/deploy/%00", 400),
        ("get", "/api/mlops/versions?offset=9223372036854775808", 400),
        ("get", "/api/mlops/versions?offset=-1", 400),
        ("get", "/api/mlops/versions?status=%00", 400),
        ("get", "/api/mlops/production/parameters?offset=9223372036854775808", 400),
    ],
)
def test_odd_ids_and_query_values_are_refused_cleanly(api, staff, simulated, method, path, status):
    services.retrain()
    response = getattr(api(staff), method)(path)
    assert response.status_code == status, response.content
    assert set(response.json()) >= {"error", "code"}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/retraining/modelversion/abc/deploy/",
        "/admin/retraining/modelversion/99999999999999999999999/deploy/",
    ],
)
def test_admin_deploy_of_a_key_that_is_not_one_is_a_404(admin_client, path):
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "module=%00",
        "q=%00",
        "answered_at__gte=%00",
        "correct__exact=%00",
        "answered_at__gte=9999-12-31+00%3A00%3A00%2B00%3A00&answered_at__lt=9999-12-31+23%3A00%3A00%2B00%3A00",
        "answered_at__gte=9999-12-01+00%3A00%3A00%2B00%3A00&answered_at__lt=9999-12-31+00%3A00%3A00%2B00%3A00",
        "answered_at__gte=9999-01-01+00%3A00%3A00%2B00%3A00&answered_at__lt=9999-12-31+00%3A00%3A00%2B00%3A00",
        "answered_at__gte=0001-01-01+00%3A00%3A00%2B00%3A00&answered_at__lt=0001-01-02+00%3A00%3A00%2B00%3A00",
    ],
)
def test_answers_admin_filters_never_crash(admin_client, simulated, query):
    response = admin_client.get(f"/admin/training_data/trainingdata/?{query}")
    assert response.status_code in (200, 302, 400), response.status_code


def test_modelversion_admin_filters_with_nul_are_a_400(admin_client):
    assert admin_client.get("/admin/retraining/modelversion/?status__exact=%00").status_code == 400


def test_unknown_api_paths_answer_json(api, staff):
    for path in ("/api/nothing", "/api/mlops/versions/", "/api/mlops/status/extra"):
        response = api(staff).get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        body = response.json()
        assert body["code"] == "not_found" and path in body["error"]


def test_a_crash_under_api_answers_json_and_the_site_keeps_html(client, staff, monkeypatch, api):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selectors, "training_status", broken)
    crashing = APIClient(raise_request_exception=False)
    crashing.credentials(HTTP_AUTHORIZATION=api(staff)._credentials["HTTP_AUTHORIZATION"])
    response = crashing.get("/api/mlops/status")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Internal server error; it has been logged", "code": "server_error"}
    assert "disk on fire" not in response.content.decode()
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_predict_lists_refuse_unknown_fields_like_single_objects(api, staff, simulated):
    services.retrain()
    client = api(staff)
    single = client.post("/api/mlops/predict", {"userId": "user1", "questionId": "q1", "x": 1})
    listed = client.post("/api/mlops/predict", [{"userId": "user1", "questionId": "q1", "x": 1}])
    assert single.status_code == listed.status_code == 400
    assert "unknown field(s): x" in single.json()["error"] and "unknown field(s): x" in listed.json()["error"]
