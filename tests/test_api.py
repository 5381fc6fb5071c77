"""The /api endpoints: the seed's bodies key by key, validation, conflicts, ingest and predict."""

import csv
import io

import pytest

from retraining import selectors, services
from retraining.models import ModelVersion
from training_data.anonymise import hash_user_id
from training_data.fields import event_key
from training_data.models import TrainingData

pytestmark = pytest.mark.django_db

SEED_METRICS = {"accuracy", "precision", "recall", "f1Score", "rmse", "mae"}


def test_retrain_returns_the_seed_body(api, staff, simulated):
    response = api(staff).post("/api/mlops/retrain", {"limit": 10000, "autoDeploy": True, "since": "2024-01-01"})
    assert response.status_code == 200
    body = response.json()
    assert list(body)[:5] == ["success", "version", "metrics", "trainingDataCount", "duration"]
    assert body["success"] is True and body["version"] == "v1"
    assert set(body["metrics"]) >= SEED_METRICS
    assert body["trainingDataCount"] == len(simulated)
    assert isinstance(body["duration"], float)
    assert ModelVersion.objects.get().created_by == staff


def test_status_versions_detail_production_and_deploy_bodies(api, staff, simulated):
    client = api(staff)
    assert client.get("/api/mlops/status").json() == {"isTraining": False, "currentVersion": None}
    services.retrain()
    services.retrain(auto_deploy=False)
    assert client.get("/api/mlops/status").json() == {"isTraining": False, "currentVersion": "v1"}

    versions = client.get("/api/mlops/versions").json()["versions"]
    assert [v["version"] for v in versions] == ["v2", "v1"]
    seed_keys = {"_id", "version", "modelType", "status", "isProduction", "metrics", "trainingDataCount", "deployedAt"}
    assert seed_keys <= set(versions[0])
    assert (versions[1]["status"], versions[1]["isProduction"], versions[1]["modelType"]) == (
        "deployed",
        True,
        "irt-2pl",
    )
    assert versions[0]["deployedAt"] is None and versions[1]["deployedAt"].endswith("Z")

    v1 = ModelVersion.objects.get(version="v1")
    by_name = client.get("/api/mlops/versions/v1").json()["version"]
    by_pk = client.get(f"/api/mlops/versions/{v1.pk}").json()["version"]
    assert by_name == by_pk
    assert {"parameters", "metrics", "config", "trainingStartedAt", "trainingCompletedAt"} <= set(by_name)
    assert by_name["config"]["validationSplit"] == 0.2 and by_name["config"]["randomSeed"] == 42
    assert set(by_name["parameters"]) == {"difficulty", "abilityEstimates", "discrimination"}

    model = client.get("/api/mlops/production").json()["model"]
    assert {"version", "modelType", "status", "isProduction", "metrics", "parameters", "deployedAt"} == set(model)
    assert model["parameters"]["difficulty"] == v1.parameters["difficulty"]

    deployed = client.post("/api/mlops/deploy/v2").json()
    assert deployed["success"] is True and deployed["version"] == "v2" and deployed["deployedAt"].endswith("Z")
    assert selectors.production_version().version == "v2"


def test_versions_filters_and_pages(api, staff, simulated):
    for _ in range(3):
        services.retrain(auto_deploy=False)
    client = api(staff)
    page = client.get("/api/mlops/versions?limit=2&offset=1").json()
    assert [v["version"] for v in page["versions"]] == ["v2", "v1"] and page["count"] == 3
    assert client.get("/api/mlops/versions?status=deployed").json()["versions"] == []
    bad = client.get("/api/mlops/versions?status=gone")
    assert bad.status_code == 400 and "status" in bad.json()["error"]


def test_not_found_and_not_deployable(api, staff, simulated):
    client = api(staff)
    missing = client.get("/api/mlops/production")
    assert missing.status_code == 404 and "No production model" in missing.json()["error"]
    assert client.get("/api/mlops/versions/v9").status_code == 404
    assert client.post("/api/mlops/deploy/v9").json()["code"] == "version_not_found"
    ModelVersion.objects.create(version="v1", number=1, status="failed")
    refused = client.post("/api/mlops/deploy/v1")
    assert refused.status_code == 409 and "cannot be deployed" in refused.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10**9}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"since": "2999-01-01"}, "future"),
        ({"since": "yesterday"}, "since"),
        ({"algorithm": "deep"}, "algorithm"),
        ({"autoDeploy": "sometimes"}, "autoDeploy"),
        ({"limt": 5}, "unknown field(s): limt"),
    ],
)
def test_retrain_validation(api, staff, body, message):
    response = api(staff).post("/api/mlops/retrain", body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not ModelVersion.objects.exists()


def test_malformed_json_is_a_400(api, staff):
    response = api(staff).post("/api/mlops/retrain", "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["error"]


def test_retrain_conflicts_and_missing_data(api, staff, simulated):
    client = api(staff)
    lease = services.TrainingLease().acquire()
    try:
        busy = client.post("/api/mlops/retrain", {})
        assert busy.status_code == 409 and busy.json() == {
            "error": "Training already in progress",
            "code": "training_in_progress",
        }
        status = client.get("/api/mlops/status").json()
        assert status["isTraining"] is True and "startedAt" in status and "progress" in status
    finally:
        lease.release()
    empty = client.post("/api/mlops/retrain", {"since": "2026-11-01"})
    assert empty.status_code == 422 and empty.json()["error"] == "No training data available"


def answer(k, **fields):
    base = {"userId": f"learner-{k % 5}", "questionId": f"q{k % 3}", "correct": k % 2 == 0, "eventId": f"ev-{k}"}
    return {**base, **fields}


def test_ingest_stores_hashes_and_is_idempotent(api, ingester):
    client = api(ingester)
    body = {
        "answers": [
            answer(0, module="algebra", difficulty=0.5, responseTime=5200, timestamp="2026-01-15T10:29:45Z"),
            answer(1),
            answer(2, timestamp=1768473000),
        ]
    }
    first = client.post("/api/training-data", body)
    assert first.status_code == 201 and first.json() == {"received": 3, "inserted": 3, "duplicates": 0}
    stored = TrainingData.objects.get(event_key=event_key("ev-0"))
    assert stored.user_hash == hash_user_id("learner-0") and stored.module == "algebra"
    assert stored.response_time_ms == 5200 and stored.answered_at.isoformat() == "2026-01-15T10:29:45+00:00"
    again = client.post("/api/training-data", [*body["answers"], answer(3)])
    assert again.status_code == 201 and again.json() == {"received": 4, "inserted": 1, "duplicates": 3}
    assert TrainingData.objects.count() == 4


def test_ingest_is_all_or_nothing_with_per_row_errors(api, ingester):
    answers = [answer(k) for k in range(5)]
    answers[1]["correct"] = "yes"
    answers[3].pop("eventId")
    answers.append({"userId": "x", "questionId": "q", "correct": 1, "eventId": "e", "colour": "red"})
    response = api(ingester).post("/api/training-data", {"answers": answers})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "3 of 6 answers are invalid; nothing was stored"
    assert [e["index"] for e in body["errors"]] == [1, 3, 5]
    assert "correct must be true/false" in body["errors"][0]["error"]
    assert "eventId is required" in body["errors"][1]["error"]
    assert "unknown field(s) colour" in body["errors"][2]["error"]
    assert not TrainingData.objects.exists()


def test_ingest_limits(api, ingester, settings):
    settings.MLOPS_INGEST_MAX_ANSWERS = 3
    client = api(ingester)
    assert client.post("/api/training-data", [answer(k) for k in range(4)]).status_code == 400
    assert client.post("/api/training-data", []).status_code == 400
    assert client.post("/api/training-data", {"answers": [answer(0)], "extra": 1}).status_code == 400


def test_predict_known_and_unknown(api, staff, simulated):
    client = api(staff)
    assert client.post("/api/mlops/predict", {"userId": "user1", "questionId": "q1"}).status_code == 404
    version = services.retrain().version
    # "ability": "model" is the stored ability, as training left it (live abilities: test_live_serving.py).
    one = client.post("/api/mlops/predict", {"userId": "user1", "questionId": "q1", "ability": "model"}).json()
    theta = version.parameters["users"][hash_user_id("user1")]["ability"]
    q = version.parameters["questions"]["q1"]
    import math

    expected = 1 / (1 + math.exp(-q["discrimination"] * (theta - q["difficulty"])))
    assert one["version"] == "v1" and one["coldStart"] is False
    assert one["probability"] == pytest.approx(expected, abs=1e-6)
    many = client.post(
        "/api/mlops/predict",
        [
            {"userId": "user1", "questionId": "q1", "ability": "model"},
            {"userId": "newcomer", "questionId": "q1", "ability": "model"},
            {"userId": "user1", "questionId": "new-q", "ability": "model"},
        ],
    ).json()
    flags = [(p["coldStartUser"], p["coldStartQuestion"]) for p in many["predictions"]]
    assert flags == [(False, False), (True, False), (False, True)]
    newcomer = 1 / (1 + math.exp(-q["discrimination"] * (0 - q["difficulty"])))
    assert many["predictions"][1]["probability"] == pytest.approx(newcomer, abs=1e-6)
    assert client.post("/api/mlops/predict", {"userId": "u"}).status_code == 400


def test_production_parameters_json_and_csv(api, staff, simulated):
    client = api(staff)
    version = services.retrain().version
    page = client.get("/api/mlops/production/parameters?limit=10&offset=5").json()
    assert page["count"] == len(version.parameters["questions"]) and len(page["questions"]) == 10
    first = page["questions"][0]
    assert first == {"questionId": first["questionId"], **version.parameters["questions"][first["questionId"]]}
    response = client.get("/api/mlops/production/parameters?format=csv&limit=10000")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == page["count"]
    assert float(rows[0]["difficulty"]) == pytest.approx(
        version.parameters["questions"][rows[0]["questionId"]]["difficulty"]
    )
