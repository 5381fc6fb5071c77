"""The quiz app's service role: it may serve (predict, ability, next question) and ingest, nothing else."""

import pytest

from retraining import services
from tests.conftest import client_logged_in, service_account_create
from tests.test_api_access import MLOPS

pytestmark = pytest.mark.django_db

SERVING = [
    ("post", "/api/mlops/predict", {"userId": "user1", "questionId": "q1"}),
    ("get", "/api/mlops/learners/user1/ability", None),
    ("post", "/api/mlops/next-question", {"userId": "user1", "candidates": ["q1", "q2"]}),
]
STAFF_ONLY = [route for route in MLOPS if route not in SERVING]


@pytest.fixture
def quiz_app(django_user_model):
    from django.contrib.auth.models import Permission

    from tests.conftest import PASSWORD

    user = django_user_model.objects.create_user("quiz-service", password=PASSWORD)
    user.user_permissions.add(
        Permission.objects.get(codename="serve_predictions", content_type__app_label="retraining"),
        Permission.objects.get(codename="add_trainingdata", content_type__app_label="training_data"),
    )
    return user


@pytest.mark.parametrize(("method", "path", "body"), SERVING)
def test_the_service_account_and_staff_may_serve_others_may_not(
    api, quiz_app, staff, learner, ingester, simulated, method, path, body
):
    services.retrain()
    assert getattr(api(), method)(path, body, format="json").status_code == 401
    assert getattr(api(learner), method)(path, body, format="json").status_code == 403
    assert getattr(api(ingester), method)(path, body, format="json").status_code == 403
    assert getattr(api(quiz_app), method)(path, body, format="json").status_code == 200
    assert getattr(api(staff), method)(path, body, format="json").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ONLY)
def test_the_service_account_gets_403_everywhere_else(api, quiz_app, simulated, method, path, body):
    services.retrain()
    response = getattr(api(quiz_app), method)(path, body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_service_account_can_ingest_and_retrains_nothing(api, quiz_app):
    from retraining.models import ModelVersion

    body = [{"userId": "u", "questionId": "q", "correct": 1, "eventId": "e"}]
    client = api(quiz_app)
    assert client.post("/api/training-data", body, format="json").status_code == 201
    assert client.post("/api/mlops/retrain", {}, format="json").status_code == 403
    assert not ModelVersion.objects.exists()


def test_create_service_account_grants_serving_with_serve(api, django_user_model, simulated):
    services.retrain()
    password, printed = service_account_create("quiz-app", "--serve")
    assert "serve predictions" in printed
    client = client_logged_in(api(), "quiz-app", password)
    assert client.post("/api/mlops/predict", {"userId": "user1", "questionId": "q1"}, format="json").status_code == 200
    answer = [{"userId": "u", "questionId": "q", "correct": 1, "eventId": "e"}]
    assert client.post("/api/training-data", answer, format="json").status_code == 201
    assert client.post("/api/mlops/deploy/v1", format="json").status_code == 403
    user = django_user_model.objects.get(username="quiz-app")
    assert not user.is_staff and user.has_perm("retraining.serve_predictions")


def test_create_service_account_without_serve_cannot_predict(api, django_user_model, simulated):
    services.retrain()
    password, _ = service_account_create("ingest-only")
    client = client_logged_in(api(), "ingest-only", password)
    assert client.post("/api/mlops/predict", {"userId": "user1", "questionId": "q1"}, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_quiz_app_adapts_over_real_http(live_server, simulated):
    """create_service_account --serve, then the quiz app's loop over a socket: answer, re-score, pick next."""
    from tests.api_client import call

    services.retrain()
    password, _ = service_account_create("quiz-app", "--serve")
    base = live_server.url
    status, tokens = call(base, "POST", "/api/auth/token", {"username": "quiz-app", "password": password})
    assert status == 200
    token = tokens["access"]
    questions = [f"q{k}" for k in range(25)]

    status, first = call(base, "POST", "/api/mlops/next-question", {"userId": "pupil", "candidates": questions}, token)
    assert status == 200 and first["abilitySource"] == "prior" and len(first["questions"]) == 5
    asked = first["questions"][0]["questionId"]
    answer = {"userId": "pupil", "questionId": asked, "correct": True, "eventId": "pupil-1"}
    assert call(base, "POST", "/api/training-data", [answer], token)[0] == 201

    status, ability = call(base, "GET", "/api/mlops/learners/pupil/ability", None, token)
    assert status == 200 and ability["source"] == "live" and ability["ability"] > 0 and ability["answers"] == 1
    status, second = call(base, "POST", "/api/mlops/next-question", {"userId": "pupil", "candidates": questions}, token)
    assert status == 200 and second["ability"] == ability["ability"] and second["excluded"] == 1
    assert asked not in {q["questionId"] for q in second["questions"]}
    assert call(base, "POST", "/api/mlops/retrain", {}, token)[0] == 403


def _grant(user, codename="serve_predictions", app_label="retraining"):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app_label))


def _grant_to_group(user, codename="serve_predictions", app_label="retraining"):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name=f"group-of-{user.username}")
    group.permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app_label))
    user.groups.add(group)


HOLDERS = {
    "nothing": lambda user: None,
    "directly": _grant,
    "through a group": _grant_to_group,
    "another permission": lambda user: _grant(user, "add_trainingdata", "training_data"),
    "superuser": lambda user: _set(user, is_superuser=True),
    "inactive, directly": lambda user: _grant(user) or _set(user, is_active=False),
    "inactive superuser": lambda user: _set(user, is_superuser=True, is_active=False),
}


def _set(user, **fields):
    type(user).objects.filter(pk=user.pk).update(**fields)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("nothing", False),
        ("directly", True),
        ("through a group", True),
        ("another permission", False),
        ("superuser", True),
        ("inactive, directly", False),
        ("inactive superuser", False),
    ],
)
def test_the_permission_query_answers_as_django_does(django_user_model, how, expected):
    """``holds`` reads one prepared query instead of Django's backend: same answer in every case,
    and someone else's grant (directly or through their group) is not this user's."""
    from retraining.permissions import SERVE_PREDICTIONS, holds

    other = django_user_model.objects.create_user("other")
    _grant(other)
    _grant_to_group(other)
    user = django_user_model.objects.create_user("someone")
    HOLDERS[how](user)
    user = django_user_model.objects.get(pk=user.pk)
    assert holds(user, SERVE_PREDICTIONS) is expected
    assert user.has_perm(SERVE_PREDICTIONS) is expected


@pytest.mark.parametrize("how", list(HOLDERS))
def test_a_token_user_carries_the_answer_read_with_it(django_user_model, django_assert_num_queries, how):
    """The token's user and whether they hold the serving permission come from one statement, and
    holds() then asks nothing more: the same answer as Django's in every case above."""
    from mlops_site.tokens import token_user
    from retraining.permissions import SERVE_PREDICTIONS, holds

    other = django_user_model.objects.create_user("other")
    _grant(other)
    _grant_to_group(other)
    user = django_user_model.objects.create_user("someone")
    HOLDERS[how](user)
    expected = django_user_model.objects.get(pk=user.pk).has_perm(SERVE_PREDICTIONS)
    with django_assert_num_queries(1):
        read = token_user(user.pk)
    with django_assert_num_queries(0):
        assert holds(read, SERVE_PREDICTIONS) is expected
    assert read.username == "someone" and read.password == user.password


def test_a_token_user_asks_for_other_permissions(django_user_model, django_assert_num_queries):
    """Only the serving permission is read with the user; another is still asked for (and right)."""
    from mlops_site.tokens import token_user
    from retraining.permissions import ACTIONS, DEPLOY, holds

    user = django_user_model.objects.create_user("someone")
    _grant(user)
    read = token_user(user.pk)
    with django_assert_num_queries(1):
        assert holds(read, ACTIONS[DEPLOY]) is False


def test_a_permission_taken_away_stops_serving_at_once(api, quiz_app, simulated):
    from django.contrib.auth.models import Permission

    services.retrain()
    client = api(quiz_app)
    assert client.get("/api/mlops/learners/user1/ability").status_code == 200
    quiz_app.user_permissions.remove(Permission.objects.get(codename="serve_predictions"))
    assert client.get("/api/mlops/learners/user1/ability").status_code == 403
    _grant_to_group(quiz_app)
    assert client.get("/api/mlops/learners/user1/ability").status_code == 200


class GrantsEverything:
    """An authentication backend of another kind: it answers has_perm itself."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, permission, obj=None):
        return True


def test_with_other_authentication_backends_django_decides(django_user_model, settings):
    from mlops_site.tokens import token_user
    from retraining.permissions import SERVE_PREDICTIONS, holds

    user = django_user_model.objects.create_user("someone")
    assert holds(user, SERVE_PREDICTIONS) is False
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.test_service_role.GrantsEverything",
    ]
    assert holds(django_user_model.objects.get(pk=user.pk), SERVE_PREDICTIONS) is True
    assert holds(token_user(user.pk), SERVE_PREDICTIONS) is True  # not the answer read with the user
