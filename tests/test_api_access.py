"""Every route: no token -> 401, a non-staff token -> 403, a staff token -> success."""

import re

import pytest

from retraining import services
from tests.conftest import client_logged_in, service_account_create

pytestmark = pytest.mark.django_db

MLOPS = [
    ("post", "/api/mlops/retrain", {}),
    ("get", "/api/mlops/status", None),
    ("get", "/api/mlops/versions", None),
    ("get", "/api/mlops/versions/v1", None),
    ("get", "/api/mlops/production", None),
    ("get", "/api/mlops/production/parameters", None),
    ("post", "/api/mlops/deploy/v1", None),
    ("post", "/api/mlops/predict", {"userId": "user1", "questionId": "q1"}),
]


@pytest.mark.parametrize(("method", "path", "body"), MLOPS)
def test_mlops_routes_need_a_staff_token(api, learner, staff, simulated, method, path, body):
    services.retrain()
    assert getattr(api(), method)(path, body, format="json").status_code == 401
    forged = api()
    forged.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert getattr(forged, method)(path, body, format="json").status_code == 401
    assert getattr(api(learner), method)(path, body, format="json").status_code == 403
    assert getattr(api(staff), method)(path, body, format="json").status_code == 200


def test_ingest_needs_the_add_permission_not_staff(api, learner, staff, ingester):
    body = {"answers": [{"userId": "u", "questionId": "q", "correct": True, "eventId": "e1"}]}
    assert api().post("/api/training-data", body, format="json").status_code == 401
    assert api(learner).post("/api/training-data", body, format="json").status_code == 403
    assert api(staff).post("/api/training-data", body, format="json").status_code == 403
    assert api(ingester).post("/api/training-data", body, format="json").status_code == 201


def test_errors_are_json_with_a_message(api):
    response = api().get("/api/mlops/status")
    assert response.json() == {"error": "Authentication credentials were not provided.", "code": "not_authenticated"}


def test_token_refresh_rotates_and_blacklists(api, staff):
    client = api()
    tokens = client.post("/api/auth/token", {"username": "staff", "password": "correct horse battery staple"}).json()
    rotated = client.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200 and rotated.json()["refresh"] != tokens["refresh"]
    reused = client.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401


def test_token_endpoint_throttles_guessing(api, staff):
    client = api()
    codes = [
        client.post("/api/auth/token", {"username": "staff", "password": f"guess{k}"}).status_code for k in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema")
    assert schema.status_code == 200 and b"/api/mlops/retrain" in schema.content
    assert b"jwtAuth" in schema.content and b"scheme: bearer" in schema.content  # how to send the token
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page and "/static/drf_spectacular_sidecar/" in page
    # Every file the page loads is this site's, and nothing names a CDN or another host. (Not "cdn"
    # anywhere: the page carries a random CSRF token, which spelt it once.)
    loaded = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert loaded and all(url.startswith("/static/") for url in loaded), loaded
    assert not re.search(r"(?i)https?://|//[\w.-]*cdn", page)


def test_service_account_command_creates_an_ingest_only_account(api, django_user_model):
    password, _ = service_account_create("quiz-app")
    client = client_logged_in(api(), "quiz-app", password)
    body = [{"userId": "u", "questionId": "q", "correct": 1, "eventId": "e"}]
    assert client.post("/api/training-data", body).status_code == 201
    assert client.get("/api/mlops/status").status_code == 403
    assert not django_user_model.objects.get(username="quiz-app").is_staff
