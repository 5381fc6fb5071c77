"""The production setup: deploy checks, static files, structured audit logs."""

import json
import logging
import os
import subprocess
import sys

import pytest

from retraining import services
from tests.conftest import ROOT

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "q8Zr-3vKp0x_Wm2Jt7Lh9Ns4Bd6Fg1Yc5Ue8Ia0Ro3Pk7Sw2Tz9Xv4Ql6Hn1Mj5",
    "TRAINING_DATA_HASH_KEY": "a-long-random-hash-key-for-user-ids",
    "ALLOWED_HOSTS": "irt.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://irt.example.org",
    "SECURE_HSTS_PRELOAD": "true",
    "DATABASE_URL": "postgres://irt:secret@127.0.0.1:5432/irt",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "API_TRUSTED_PROXIES": "1",
}


def test_check_deploy_is_clean_with_the_documented_environment():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_HTTPS", "MONGODB_URI")}
    env.update(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_behind_the_proxy_http_redirects_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_REDIRECT_EXEMPT = settings.HEALTH_CHECK_PATHS  # as settings.py sets it with HTTPS on
    plain = client.get("/api/mlops/status")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert client.get("/api/mlops/status", headers={"x-forwarded-proto": "https"}).status_code == 401
    assert client.get("/healthz").status_code == 200 and client.get("/livez").status_code == 200  # exempt


@pytest.mark.django_db
def test_livez_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/livez").json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_asks_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(1):  # a query, not only a connection: see tests/test_connection_check.py
        body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] in ("sqlite", "postgresql")


def audit_events(caplog):
    return [record for record in caplog.records if record.name == "irt.audit"]


@pytest.mark.django_db
def test_retrain_and_deploy_write_one_json_line_each(caplog, simulated):
    from mlops_site.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="irt.audit"):
        services.retrain(actor_name="cron")
    events = audit_events(caplog)
    assert [e.event for e in events] == ["deploy", "retrain"]
    lines = [json.loads(JsonFormatter().format(e)) for e in events]
    assert lines[1]["outcome"] == "completed" and lines[1]["version"] == "v1" and lines[1]["deployed"] is True
    assert lines[0] | {"time": None} == {
        "time": None,
        "level": "INFO",
        "logger": "irt.audit",
        "message": "deploy",
        "event": "deploy",
        "version": "v1",
        "previous": None,
        "action": "auto-deploy",
        "actor": "cron",
    }


@pytest.mark.django_db
def test_refused_requests_are_logged_without_secrets_or_user_ids(caplog, api, ingester, settings):
    from mlops_site.logs import JsonFormatter

    client = api(ingester)
    with caplog.at_level(logging.INFO, logger="irt.audit"):
        client.get("/api/mlops/status")
        api().post(
            "/api/training-data", [{"userId": "alice@example.com", "questionId": "q", "correct": 1, "eventId": "e"}]
        )
    lines = [JsonFormatter().format(e) for e in audit_events(caplog)]
    assert [json.loads(line)["status"] for line in lines] == [403, 401]
    assert json.loads(lines[0])["user"] == "quiz-app"
    text = "\n".join(lines)
    assert "alice" not in text and settings.SECRET_KEY not in text and "Bearer" not in text


def test_the_wsgi_application_starts_with_its_views_imported_and_frozen_out_of_garbage_collection():
    """What a worker loads at start-up is exempt from full collections (their pause was the serving tail)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_HTTPS", "MONGODB_URI")}
    env.update(PRODUCTION_ENV, DATABASE_URL="sqlite:///:memory:")
    probe = (
        "import gc, sys; import mlops_site.wsgi; "
        "print(gc.get_freeze_count(), 'retraining.api.serving' in sys.modules, len(gc.get_objects(generation=2)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    frozen, views_imported, left = result.stdout.split()
    assert views_imported == "True"
    assert int(frozen) > 50_000 and int(left) < int(frozen) // 100


def test_healthz_pings_mongodb_and_a_server_that_does_not_answer_is_an_error(django_db_blocker):
    """The MongoDB branch, checked without a server: the ping goes to the configured address and
    fails there (the view turns that into a 503); with a server it answers (not exercised here)."""
    import socket

    from django.db.utils import ConnectionHandler
    from pymongo.errors import PyMongoError

    from mlops_site.urls import ask_database

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        uri = f"mongodb://127.0.0.1:{port}/irt?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
        db = ConnectionHandler({"default": {"ENGINE": "django_mongodb_backend", "HOST": uri, "NAME": "irt"}})["default"]
        assert db.vendor == "mongodb"
        with django_db_blocker.unblock(), pytest.raises(PyMongoError, match=f"127.0.0.1:{port}"):
            ask_database(db)  # not a test database: pytest-django refuses any connection unless asked
        db.close_pool()
