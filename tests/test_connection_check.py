"""A serving request's first read is also its connection's health check (PostgreSQL, a real server):
no ``SELECT 1`` of its own before it, and a connection the server dropped between requests is
replaced without the request noticing."""

import contextlib

import psycopg
import pytest
from django.db import connection

from retraining import services

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the connection is kept between requests, as in production
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: a check is a round trip"),
]
ABILITY = "/api/mlops/learners/user1/ability"


@pytest.fixture
def checks(monkeypatch):
    """Each ``is_usable()`` (Django's health check: a ``SELECT 1``) made on this connection."""
    made = []
    usable = connection.is_usable

    def counted():
        made.append(True)
        return usable()

    monkeypatch.setattr(connection, "is_usable", counted)
    return made


@pytest.fixture
def client(api, django_user_model, simulated):
    from django.contrib.auth.models import Permission

    from tests.conftest import PASSWORD

    services.retrain()
    app = django_user_model.objects.create_user("quiz-service", password=PASSWORD)
    app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    client = api(app)
    assert client.get(ABILITY).status_code == 200
    assert connection.connection is not None and connection.health_check_enabled
    return client


def request(client, path):
    """A request on the kept connection: the test client skips the handler's start-of-request
    step (it would close the test's connection), so it is made here as the handler makes it."""
    connection.close_if_unusable_or_obsolete()
    return client.get(path)


def drop_connection() -> int:
    """Make the server end this process's connection, as a restart or an idle timeout would."""
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [dropped]).fetchone() == (True,)
    return dropped


def test_a_serving_request_sends_no_check_of_its_own(client, checks):
    assert request(client, ABILITY).status_code == 200
    assert checks == []


def test_a_connection_the_server_dropped_is_replaced_by_the_first_read(client, checks):
    dropped = drop_connection()
    assert request(client, ABILITY).status_code == 200
    assert connection.connection.info.backend_pid != dropped
    assert checks == [True]  # asked once, after the read failed: the connection was gone
    assert request(client, ABILITY).status_code == 200


def test_a_request_that_reads_through_the_orm_keeps_djangos_check(client, checks):
    dropped = drop_connection()
    assert request(client, "/api/mlops/versions").status_code == 403  # answered, not a 500
    assert connection.connection.info.backend_pid != dropped


def test_over_http_a_restarted_connection_costs_no_request(simulated, django_user_model, settings):
    """gunicorn (one worker, one thread, its connection kept): every connection to the database but
    the test's own is ended between two requests, and the second is still answered."""
    from django.contrib.auth.models import Permission
    from rest_framework_simplejwt.tokens import AccessToken

    from tests.api_client import call
    from tests.servers import gunicorn

    services.retrain()
    app = django_user_model.objects.create_user("quiz-app")
    app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    token = str(AccessToken.for_user(app))
    env = {"GUNICORN_THREADS": "1", "JWT_SECRET": settings.SIMPLE_JWT["SIGNING_KEY"]}
    with gunicorn(workers=1, env=env) as (host, port):
        base = f"http://{host}:{port}"
        assert call(base, "GET", ABILITY, None, token)[0] == 200
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall(), "the worker's connection was not kept"
        assert call(base, "GET", ABILITY, None, token)[0] == 200


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_the_serving_reads_are_prepared_once_per_connection(client):
    """The token's user with the serving version and the learner's answers, one statement, is
    planned once per connection (pg_prepared_statements lists it) and reused by every later request."""
    assert request(client, ABILITY).status_code == 200
    statements = prepared()
    assert any("auth_user" in statement and "training_data_trainingdata" in statement for statement in statements)
    for _ in range(3):
        body = request(client, ABILITY).json()
        assert body["source"] == "live" and body["answers"] > 0
    assert sorted(prepared()) == sorted(statements)
    with connection.cursor() as cursor:  # planned once, for any parameters: not again per request
        cursor.execute("SELECT sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements")
        generic, custom = cursor.fetchone()
    assert generic >= 4 and custom == 0


def test_prepared_statements_can_be_turned_off(api, django_user_model, simulated, settings):
    """SQL_PREPARED_STATEMENTS=false, for a pooler that cannot keep them: nothing is prepared."""
    from django.contrib.auth.models import Permission

    from tests.conftest import PASSWORD

    settings.SQL_PREPARED_STATEMENTS = False
    connection.close()  # a new connection: none prepared on it yet
    services.retrain()
    app = django_user_model.objects.create_user("quiz-service", password=PASSWORD)
    app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    client = api(app)
    for _ in range(2):
        assert request(client, ABILITY).json()["source"] == "live"
    assert prepared() == []


@contextlib.contextmanager
def unreachable_database():
    """Point this process's connection settings at a port where nothing listens (bound, never
    listening: connections to it are refused), as when the database is down; restored after."""
    import socket

    settings_dict = connection.settings_dict
    before = settings_dict["HOST"], settings_dict["PORT"]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings_dict["HOST"], settings_dict["PORT"] = closed.getsockname()
        try:
            yield
        finally:
            settings_dict["HOST"], settings_dict["PORT"] = before
            connection.close()


def test_healthz_answers_503_when_a_kept_connection_cannot_be_replaced(client):
    """The server ended the kept connection and cannot be reached again: /healthz says so with a 503
    (it said ok while a connection object was kept), and ok again once the database is back."""
    assert request(client, "/healthz").json() == {"status": "ok", "database": "postgresql"}
    drop_connection()
    with unreachable_database():
        response = request(client, "/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "postgresql",
        "error": "the database did not answer",
    }
    assert request(client, "/healthz").json()["status"] == "ok"


def test_healthz_replaces_a_dropped_connection_and_answers_ok(client):
    dropped = drop_connection()
    assert request(client, "/healthz").json()["status"] == "ok"
    assert connection.connection.info.backend_pid != dropped
