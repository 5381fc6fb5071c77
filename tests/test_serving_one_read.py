"""A serving request about one learner reads its token's user, which version serves and the
learner's answers in one statement; everything the token's user is checked for still holds."""

import pytest

from retraining import learners, services

pytestmark = pytest.mark.django_db

ONE_LEARNER = (
    ("get", "/api/mlops/learners/user1/ability", None),
    ("post", "/api/mlops/predict", {"userId": "user1", "questionId": "q1"}),
    ("post", "/api/mlops/predict", {"userId": "  user1 ", "questionId": "q1", "ability": "live"}),
    ("post", "/api/mlops/next-question", {"userId": "user1", "candidates": ["q1", "q2"]}),
)


@pytest.fixture
def quiz_app(django_user_model):
    from django.contrib.auth.models import Permission

    from tests.conftest import PASSWORD

    app = django_user_model.objects.create_user("quiz-service", password=PASSWORD)
    app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    return app


def call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body is not None else client.get(path)


@pytest.mark.parametrize(("method", "path", "body"), ONE_LEARNER)
def test_a_request_about_one_learner_makes_one_read(
    api, quiz_app, simulated, method, path, body, django_assert_num_queries
):
    services.retrain()
    client = api(quiz_app)
    assert call(client, method, path, body).status_code == 200  # the first also loads the version's parameters
    with django_assert_num_queries(1):
        response = call(client, method, path, body)
    assert response.status_code == 200
    answers = learners.learner_ability(user_id="user1").ability.answers
    assert answers > 0 and response.json().get("answers", answers) == answers


def test_what_one_read_serves_is_what_separate_reads_serve(api, quiz_app, staff, simulated, add_answers):
    """The same learner through the one statement (a single pair) and through separate reads (a
    list of pairs, the ability asked for by the service itself), before and after new answers."""
    services.retrain()
    client = api(quiz_app)
    for round_ in range(2):
        one = client.post("/api/mlops/predict", {"userId": "user5", "questionId": "q3"}, format="json").json()
        listed = client.post(
            "/api/mlops/predict",
            [{"userId": "user5", "questionId": "q3"}, {"userId": "user6", "questionId": "q3"}],
            format="json",
        ).json()["predictions"][0]
        assert one["probability"] == pytest.approx(listed["probability"], abs=1e-12)
        ability = client.get("/api/mlops/learners/user5/ability").json()
        direct = learners.learner_ability(user_id="user5")
        assert (ability["answers"], ability["ability"]) == (
            direct.ability.answers,
            pytest.approx(direct.ability.ability),
        )
        add_answers([("user5", "q3", 1), ("user5", "q4", 1), ("user5", "q5", 1)], prefix=f"r{round_}")
    assert ability["answers"] == direct.ability.answers  # the second round saw the first round's answers


def test_the_token_checks_hold_inside_the_one_read(api, quiz_app, simulated, django_user_model):
    """A deleted, deactivated or re-passworded account, or one without the permission, is refused
    on a request about one learner as on any other; and no token means no read at all."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    services.retrain()
    gone = django_user_model.objects.create_user("gone")
    gone.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    token_of_gone = str(AccessToken.for_user(gone))
    gone.delete()

    def status(token, path="/api/mlops/learners/user1/ability"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.get(path)

    response = status(token_of_gone)
    assert response.status_code == 401 and response.json()["error"] == "User not found"
    client = api(quiz_app)
    for method, path, body in ONE_LEARNER:
        assert call(client, method, path, body).status_code == 200
    quiz_app.user_permissions.clear()
    assert {call(client, *request).status_code for request in ONE_LEARNER} == {403}
    quiz_app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    quiz_app.is_active = False
    quiz_app.save()
    assert {call(client, *request).status_code for request in ONE_LEARNER} == {401}


def test_no_token_reads_nothing(client, simulated, django_assert_num_queries):
    services.retrain()
    with django_assert_num_queries(0):
        assert client.get("/api/mlops/learners/user1/ability").status_code == 401


def test_a_refused_request_leaves_nothing_read_for_later(api, quiz_app, simulated, add_answers):
    """A request about one learner that fails its own validation (its one read already made): what
    was read is not used afterwards, e.g. by the service asked directly in the same thread."""
    services.retrain()
    client = api(quiz_app)
    before = learners.learner_ability(user_id="user9").ability.answers
    bad = {"userId": "user9", "candidates": ["q1"], "count": 0}
    assert client.post("/api/mlops/next-question", bad, format="json").status_code == 400
    add_answers([("user9", "q1", 1), ("user9", "q2", 0)], prefix="later")
    assert learners.learner_ability(user_id="user9").ability.answers == before + 2


@pytest.mark.parametrize(
    "body",
    [
        '{"userId": "\\ud800", "candidates": ["q1"]}',
        '{"userId": 42, "candidates": ["q1"]}',
        '{"userId": "user1", "candidates": ["q1"]',
        '[{"userId": "user1", "candidates": ["q1"]}]',
        "[" * 5000,
    ],
)
def test_a_body_the_one_read_cannot_use_is_judged_as_before(api, quiz_app, simulated, body):
    """Bodies that are not a plain object with a string userId take the separate reads, and the
    view's own parsing and validation answer them (never a 500)."""
    services.retrain()
    response = api(quiz_app).post("/api/mlops/next-question", body, content_type="application/json")
    if body.startswith('{"userId": 42'):
        assert response.status_code == 200 and response.json()["userId"] == "42"
    else:
        assert response.status_code == 400, response.content


def test_what_was_read_for_one_learner_is_never_served_for_another(quiz_app, simulated):
    from mlops_site.tokens import token_user

    services.retrain()
    with learners.one_read_with_token_user(lambda: "user1"):
        assert token_user(quiz_app.pk).pk == quiz_app.pk
        other = learners.learner_ability(user_id="user2")
    alone = learners.learner_ability(user_id="user2")
    assert other == alone and alone != learners.learner_ability(user_id="user1")


def test_the_body_is_looked_at_only_once_the_token_is_verified(api, quiz_app, simulated, monkeypatch):
    """The learner is found (the body parsed, for the view as well) only for a request whose token
    passed its signature check: a request without a valid token costs no look at its body."""
    from rest_framework.test import APIClient

    from retraining.api.serving import NextQuestionView

    services.retrain()
    looked = []
    learner = NextQuestionView.learner
    monkeypatch.setattr(NextQuestionView, "learner", lambda view, *args: looked.append(1) or learner(view, *args))
    body = {"userId": "user1", "candidates": ["q1", "q2"]}
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    for client in (APIClient(), forged):
        assert client.post("/api/mlops/next-question", body, format="json").status_code == 401
    assert looked == []
    assert api(quiz_app).post("/api/mlops/next-question", body, format="json").status_code == 200
    assert looked == [1]


def test_the_body_is_parsed_once_for_the_learner_and_the_view(api, quiz_app, simulated, monkeypatch):
    from mlops_site.parsers import SafeJSONParser

    services.retrain()
    client = api(quiz_app)  # (its token asked for with a JSON body)
    parsed = []
    parse = SafeJSONParser._parse
    monkeypatch.setattr(SafeJSONParser, "_parse", lambda *args: parsed.append(1) or parse(*args))
    response = client.post("/api/mlops/next-question", {"userId": "user1", "candidates": ["q1"]}, format="json")
    assert response.status_code == 200 and response.json()["userId"] == "user1"
    assert parsed == [1]
    broken = client.post("/api/mlops/next-question", '{"userId": "user1"', content_type="application/json")
    assert broken.status_code == 400 and "JSON parse error" in broken.json()["error"]
    assert parsed == [1, 1]


def test_a_body_in_a_declared_charset_is_one_read_about_the_same_learner(
    api, quiz_app, simulated, add_answers, django_assert_num_queries
):
    """The learner is found in the body as the view reads it, in the charset the request declares."""
    services.retrain()
    add_answers([("élève", "q1", 1), ("élève", "q2", 1)], prefix="charset")
    client = api(quiz_app)
    body = '{"userId": "élève", "candidates": ["q1", "q2", "q3"], "exclude": "none"}'
    utf8 = client.post("/api/mlops/next-question", body.encode(), content_type="application/json")
    with django_assert_num_queries(1):
        latin = client.post(
            "/api/mlops/next-question", body.encode("latin-1"), content_type="application/json; charset=latin-1"
        )
    assert latin.status_code == 200 and latin.json() == utf8.json()
    assert latin.json()["userId"] == "élève" and latin.json()["abilitySource"] == "live"


@pytest.mark.parametrize(("method", "path", "body"), ONE_LEARNER)
def test_a_serving_answer_is_written_as_drf_writes_one(api, quiz_app, simulated, method, path, body):
    """The serving views write their answer themselves: the same bytes and headers as DRF's
    ``Response``, and the renderer's media type as negotiated (JSON indented when asked)."""
    from rest_framework.renderers import JSONRenderer

    services.retrain()
    client = api(quiz_app)
    response = call(client, method, path, body)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == ("GET, HEAD, OPTIONS" if method == "get" else "POST, OPTIONS")
    assert "Vary" not in response
    assert response.content == JSONRenderer().render(response.json())
    client.credentials(HTTP_ACCEPT="application/json; indent=2", **client._credentials)
    indented = call(client, method, path, body)
    assert indented.status_code == 200 and indented.json() == response.json()
    assert indented.content.startswith(b'{\n  "') and indented["Content-Type"] == "application/json"
