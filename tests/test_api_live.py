"""One end-to-end flow over real HTTP against a live server: token -> ingest -> retrain -> deploy -> predict."""

import pytest

from tests.api_client import call
from tests.conftest import PASSWORD, simulated_answers

pytestmark = pytest.mark.django_db(transaction=True)


def test_token_ingest_retrain_deploy_predict(live_server, staff, ingester):
    base = live_server.url
    status, tokens = call(base, "POST", "/api/auth/token", {"username": "quiz-app", "password": PASSWORD})
    assert status == 200
    app_token = tokens["access"]
    answers = [
        {
            "userId": user,
            "questionId": question,
            "correct": bool(correct),
            "timestamp": when.isoformat(),
            "eventId": f"e{k}",
        }
        for k, (user, question, correct, when) in enumerate(simulated_answers())
    ]
    status, body = call(base, "POST", "/api/training-data", {"answers": answers}, app_token)
    assert (status, body["inserted"]) == (201, len(answers))
    status, _ = call(base, "POST", "/api/mlops/retrain", {}, app_token)
    assert status == 403  # the ingest account is not staff

    _, tokens = call(base, "POST", "/api/auth/token", {"username": "staff", "password": PASSWORD})
    token = tokens["access"]
    status, first = call(base, "POST", "/api/mlops/retrain", {"algorithm": "irt-1pl"}, token)
    assert (status, first["version"], first["deployed"]) == (200, "v1", True)
    status, second = call(base, "POST", "/api/mlops/retrain", {}, token)
    assert (status, second["version"]) == (200, "v2")
    status, deployed = call(base, "POST", "/api/mlops/deploy/v1", None, token)
    assert (status, deployed["version"]) == (200, "v1")
    status, production = call(base, "GET", "/api/mlops/production", None, token)
    assert production["model"]["version"] == "v1"
    status, prediction = call(base, "POST", "/api/mlops/predict", {"userId": "user3", "questionId": "q4"}, token)
    assert status == 200 and prediction["version"] == "v1" and 0 < prediction["probability"] < 1
    assert prediction["coldStart"] is False
