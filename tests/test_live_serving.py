"""Between retrains: live abilities, predictions with them, and the next question (over the API)."""

import numpy as np
import pytest

from retraining import live, selectors, services
from retraining.models import ModelVersion
from training_data.anonymise import hash_user_id
from training_data.models import TrainingData

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(simulated):
    """The simulated answers, trained into the production version; returns its parameters."""
    services.retrain()
    return ModelVersion.objects.get(is_production=True).parameters


def _hardest(parameters, n):
    questions = parameters["questions"]
    return sorted(questions, key=lambda q: questions[q]["difficulty"], reverse=True)[:n]


def test_a_new_learner_who_answers_hard_questions_right_gets_a_high_live_ability(api, staff, served, add_answers):
    hard = _hardest(served, 6)
    add_answers([("newcomer", q, 1) for q in hard], prefix="new")
    client = api(staff)

    body = client.get("/api/mlops/learners/newcomer/ability").json()
    assert body["source"] == "live" and body["answers"] == 6 and body["skipped"] == 0
    assert body["ability"] > 1.0 and 0 < body["abilitySd"] < 1.0
    assert body["version"] == "v1" and body["userId"] == "newcomer"

    pair = {"userId": "newcomer", "questionId": hard[0]}
    live = client.post("/api/mlops/predict", pair, format="json").json()
    stored = client.post("/api/mlops/predict", pair | {"ability": "model"}, format="json").json()
    assert stored["abilitySource"] == "prior" and stored["coldStartUser"] is True  # the stored model: cold start
    assert live["abilitySource"] == "live" and live["coldStartUser"] is False
    question = served["questions"][hard[0]]
    a, b = question["discrimination"], question["difficulty"]
    assert stored["probability"] == pytest.approx(1 / (1 + np.exp(-a * (0.0 - b))), abs=1e-6)
    assert live["probability"] == pytest.approx(1 / (1 + np.exp(-a * (body["ability"] - b))), abs=1e-5)
    assert live["probability"] > stored["probability"] + 0.2


def test_live_ability_on_the_training_answers_is_the_trained_ability(api, staff, served, add_answers):
    """Leave a learner only the answers training used: the endpoint gives the stored ability back."""
    data = selectors.answers_load(with_labels=False)
    held = services.holdout_mask(data, validation_split=0.2, random_seed=42, split="random")
    for raw in ("user3", "user77"):
        user_hash = hash_user_id(raw)
        mine = (data.users == data.user_ids.index(user_hash)) & ~held
        training = [
            (raw, data.question_ids[i], int(c)) for i, c in zip(data.items[mine], data.correct[mine], strict=True)
        ]
        TrainingData.objects.filter(learner__hash=user_hash).delete()
        add_answers(training, prefix=f"only-{raw}")
        body = api(staff).get(f"/api/mlops/learners/{raw}/ability").json()
        stored = served["users"][user_hash]
        assert body["answers"] == len(training)
        assert body["ability"] == pytest.approx(stored["ability"], abs=1e-6)
        assert body["abilitySd"] == pytest.approx(stored["abilitySd"], abs=1e-6)


def test_unknown_questions_are_skipped_and_nothing_known_is_the_prior(api, staff, served, add_answers):
    add_answers([("explorer", "brand-new-1", 1), ("explorer", "brand-new-2", 0)], prefix="x")
    body = api(staff).get("/api/mlops/learners/explorer/ability").json()
    assert body | {"version": None} == {
        "userId": "explorer",
        "ability": 0.0,
        "abilitySd": 1.0,
        "answers": 0,
        "skipped": 2,
        "version": None,
        "source": "prior",
    }
    add_answers([("explorer", "q1", 1)], prefix="y")
    body = api(staff).get("/api/mlops/learners/explorer/ability").json()
    assert (body["source"], body["answers"], body["skipped"]) == ("live", 1, 2)


def test_predict_model_keeps_the_stored_ability_of_a_known_learner(api, staff, served, add_answers):
    user_hash = hash_user_id("user5")
    add_answers([("user5", q, 1) for q in _hardest(served, 10)], prefix="more")  # answers after the retrain
    pairs = [{"userId": "user5", "questionId": "q2"}, {"userId": "user5", "questionId": "q2", "ability": "model"}]
    body = api(staff).post("/api/mlops/predict", pairs, format="json").json()
    live, model = body["predictions"]
    assert (live["abilitySource"], model["abilitySource"]) == ("live", "model")
    q = served["questions"]["q2"]
    theta = served["users"][user_hash]["ability"]
    assert model["probability"] == pytest.approx(1 / (1 + np.exp(-q["discrimination"] * (theta - q["difficulty"]))))
    assert live["probability"] > model["probability"]  # ten more right answers to the hardest questions


def test_max_information_picks_the_largest_fisher_information_at_the_live_ability(api, staff, served):
    client = api(staff)
    questions = served["questions"]
    body = client.post(
        "/api/mlops/next-question",
        {"userId": "user9", "candidates": list(questions), "exclude": "none", "count": 25},
        format="json",
    ).json()
    theta = client.get("/api/mlops/learners/user9/ability").json()["ability"]
    assert body["ability"] == theta and body["abilitySource"] == "live"
    a = np.array([questions[q]["discrimination"] for q in questions])
    b = np.array([questions[q]["difficulty"] for q in questions])
    p = 1 / (1 + np.exp(-a * (theta - b)))
    information = a**2 * p * (1 - p)
    assert body["questions"][0]["questionId"] == list(questions)[int(np.argmax(information))]
    ranked = [q["information"] for q in body["questions"]]
    assert ranked == sorted(ranked, reverse=True) and len(ranked) == len(questions)
    first = body["questions"][0]
    k = list(questions).index(first["questionId"])
    assert first["information"] == pytest.approx(information[k], abs=1e-5)
    assert first["probability"] == pytest.approx(p[k], abs=1e-5)


def test_next_question_reports_unknown_candidates_and_leaves_out_answered_ones(api, staff, served):
    answered = set(
        TrainingData.objects.filter(learner__hash=hash_user_id("user9")).values_list("question__question_id", flat=True)
    )
    candidates = ["nope-1", *sorted(served["questions"]), "nope-2"]
    body = (
        api(staff)
        .post("/api/mlops/next-question", {"userId": "user9", "candidates": candidates, "count": 100}, format="json")
        .json()
    )
    assert body["unknownCandidates"] == ["nope-1", "nope-2"]
    assert body["candidates"] == len(served["questions"]) and body["excluded"] == len(answered)
    returned = {q["questionId"] for q in body["questions"]}
    assert returned == set(served["questions"]) - answered


def test_target_strategy_ranks_by_closeness_to_the_wanted_probability(api, staff, served):
    body = (
        api(staff)
        .post(
            "/api/mlops/next-question",
            {"userId": "user4", "candidates": list(served["questions"]), "strategy": "target", "target": 0.8},
            format="json",
        )
        .json()
    )
    assert body["strategy"] == "target" and body["target"] == 0.8 and len(body["questions"]) == 5
    gaps = [abs(q["probability"] - 0.8) for q in body["questions"]]
    assert gaps == sorted(gaps)


def test_next_question_by_module(api, staff, served, add_answers):
    from datetime import timedelta

    from django.utils import timezone

    from training_data.services import answer_row, answers_insert

    now = timezone.now()
    answers_insert(
        [
            answer_row(
                user_id="tagger",
                question_id=q,
                correct=1,
                module="algebra",
                answered_at=now - timedelta(hours=1),
                event_id=f"tag-{q}",
                now=now,
            )
            for q in ("q1", "q2", "q3", "unheard-of")
        ]
    )
    body = (
        api(staff)
        .post("/api/mlops/next-question", {"userId": "someone", "module": "algebra", "count": 10}, format="json")
        .json()
    )
    assert sorted(q["questionId"] for q in body["questions"]) == ["q1", "q2", "q3"]
    missing = api(staff).post("/api/mlops/next-question", {"userId": "someone", "module": "poetry"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "no_candidates"
    assert "poetry" in missing.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"userId": "u"}, "either candidates"),
        ({"userId": "u", "candidates": ["q1"], "module": "m"}, "either candidates"),
        ({"userId": "u", "candidates": []}, "candidates"),
        ({"userId": "u", "candidates": ["q1", {"id": 2}]}, "item 1"),
        ({"userId": "u", "candidates": ["q1", "  "]}, "item 1"),
        ({"userId": "u", "candidates": ["q1", "q2", "x" * 256]}, "item 2"),
        ({"userId": "u", "candidates": "q1"}, "list"),
        ({"userId": "u", "candidates": ["q1"], "strategy": "random"}, "strategy"),
        ({"userId": "u", "candidates": ["q1"], "strategy": "target", "target": 1.5}, "target"),
        ({"userId": "u", "candidates": ["q1"], "target": 0.5}, "target"),
        ({"userId": "u", "candidates": ["q1"], "count": 0}, "count"),
        ({"userId": "u", "candidates": ["q1"], "colour": "red"}, "unknown field"),
        ({"userId": "u", "questionId": "q1", "ability": "psychic"}, "unknown field"),
    ],
)
def test_next_question_refuses_bad_input_with_a_clear_message(api, staff, served, body, message):
    response = api(staff).post("/api/mlops/next-question", body, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_predict_refuses_an_unknown_ability_source(api, staff, served):
    response = api(staff).post("/api/mlops/predict", {"userId": "u", "questionId": "q1", "ability": "psychic"})
    assert response.status_code == 400 and "ability" in response.json()["error"]


def test_without_a_production_model_the_serving_endpoints_say_so(api, staff):
    client = api(staff)
    for response in (
        client.get("/api/mlops/learners/u/ability"),
        client.post("/api/mlops/next-question", {"userId": "u", "candidates": ["q1"]}, format="json"),
    ):
        assert response.status_code == 404 and response.json()["code"] == "no_production_model"


def test_user_ids_with_slashes_and_spaces_are_hashed_like_ingest(api, staff, served, add_answers):
    add_answers([("school/7 pupil", "q1", 1)], prefix="slash")
    body = api(staff).get("/api/mlops/learners/school/7%20pupil/ability").json()
    assert body["userId"] == "school/7 pupil" and body["answers"] == 1


def test_heuristic_versions_re_score_with_their_success_rate_rule(api, staff, simulated, add_answers):
    services.version_deploy(version=services.retrain(algorithm="heuristic").version, actor=None)
    add_answers([("fresh", "q1", 1), ("fresh", "q2", 1), ("fresh", "q3", 0), ("fresh", "q4", 1)], prefix="h")
    body = api(staff).get("/api/mlops/learners/fresh/ability").json()
    assert body["source"] == "live" and body["abilitySd"] is None
    assert body["ability"] == pytest.approx(1.0 + (0.75 - 0.7) * 5.0)  # 75 % right: the 70-89 % band


def test_a_full_batch_of_distinct_learners_is_scored_in_one_request(api, staff, simulated):
    services.retrain()
    pairs = [{"userId": f"user{k % 150}" if k < 150 else f"stranger{k}", "questionId": "q3"} for k in range(1000)]
    body = api(staff).post("/api/mlops/predict", pairs, format="json").json()
    sources = [p["abilitySource"] for p in body["predictions"]]
    assert sources[:150] == ["live"] * 150 and sources[150:] == ["prior"] * 850


def test_the_serving_endpoints_follow_a_deploy_and_a_rollback_at_once(api, staff, served):
    """Which version serves is asked on every request (only its parameters are kept per process)."""
    client = api(staff)
    pair = {"userId": "user1", "questionId": "q1"}
    assert client.post("/api/mlops/predict", pair, format="json").json()["version"] == "v1"
    services.retrain(auto_deploy=False)
    assert client.post("/api/mlops/predict", pair, format="json").json()["version"] == "v1"
    services.version_deploy(version=ModelVersion.objects.get(version="v2"), actor_name="test")
    assert client.post("/api/mlops/predict", pair, format="json").json()["version"] == "v2"
    assert client.get("/api/mlops/learners/user1/ability").json()["version"] == "v2"
    services.version_deploy(version=ModelVersion.objects.get(version="v1"), actor_name="test")
    body = {"userId": "user1", "candidates": ["q1", "q2"]}
    assert client.post("/api/mlops/next-question", body, format="json").json()["version"] == "v1"
    ModelVersion.objects.update(is_production=False)
    assert client.post("/api/mlops/predict", pair, format="json").status_code == 404


def _fresh_ability(client, user_id):
    """The ability re-scored from all the learner's answers: nothing kept from earlier requests."""
    live._kept.clear()
    live._serving_seen = None
    return client.get(f"/api/mlops/learners/{user_id}/ability").json()


def test_a_kept_learner_follows_new_answers_and_every_change_to_old_ones(api, staff, served, add_answers):
    """Each request reads only newer answers; a deletion below them makes it read everything again."""
    client = api(staff)
    questions = sorted(served["questions"])
    add_answers([("keeper", q, k % 3 != 0) for k, q in enumerate(questions[:12])], prefix="a")
    first = client.get("/api/mlops/learners/keeper/ability").json()
    add_answers([("keeper", q, 1) for q in questions[12:20]], prefix="b")  # newer: added to the kept tally
    more = client.get("/api/mlops/learners/keeper/ability").json()
    assert more["answers"] == 20 and more["ability"] > first["ability"]
    assert more == pytest.approx(_fresh_ability(client, "keeper"), abs=1e-9)

    answers = TrainingData.objects.filter(learner__hash=hash_user_id("keeper")).order_by("pk")
    client.get("/api/mlops/learners/keeper/ability")  # kept again
    answers.filter(pk=answers[0].pk).delete()  # an old answer erased, a new one in: the count is unchanged
    add_answers([("keeper", questions[20], 0)], prefix="c")
    changed = client.get("/api/mlops/learners/keeper/ability").json()
    assert changed["answers"] == 20 and changed["ability"] != more["ability"]
    assert changed == pytest.approx(_fresh_ability(client, "keeper"), abs=1e-9)

    client.get("/api/mlops/learners/keeper/ability")
    answers.delete()  # the learner erased: the prior, not what was kept
    gone = client.get("/api/mlops/learners/keeper/ability").json()
    assert (gone["source"], gone["answers"], gone["ability"]) == ("prior", 0, 0.0)


def test_a_learner_whose_totals_are_unchanged_has_no_newer_answers_read(served, add_answers):
    """The one statement reads the newer answers only when the learner's totals are not the known ones."""
    questions = sorted(served["questions"])
    add_answers([("steady", q, 1) for q in questions[:5]], prefix="steady-a")
    user_hash = hash_user_id("steady")
    totals, rows = selectors.learner_answers_after(user_hash, 0)
    assert totals[0] == sum(row[2] for row in rows) == 5 and totals[1] == sum(row[4] for row in rows) > 0
    # Known totals: none of the five answers above key 0 is read (nor a largest key found).
    assert selectors.learner_answers_after(user_hash, 0, known=totals[:2]) == ((*totals[:2], 0), [])
    add_answers([("steady", questions[5], 0)], prefix="steady-b")
    after, newer = selectors.learner_answers_after(user_hash, totals[2], known=totals[:2])
    assert after[0] == 6 and [(row[0], row[2], row[3]) for row in newer] == [(questions[5], 1, 0)]
    assert after[1] == totals[1] + newer[0][4] and after[2] == newer[0][4] > totals[2]


def test_next_question_leaves_out_answers_given_since_the_last_request(api, staff, served, add_answers):
    client = api(staff)
    candidates = sorted(served["questions"])[:5]
    request = {"userId": "newcomer", "candidates": candidates, "count": 5}
    assert len(client.post("/api/mlops/next-question", request, format="json").json()["questions"]) == 5
    add_answers([("newcomer", candidates[0], 1), ("newcomer", candidates[1], 0)], prefix="n")
    body = client.post("/api/mlops/next-question", request, format="json").json()
    assert {q["questionId"] for q in body["questions"]} == set(candidates[2:]) and body["excluded"] == 2


def test_serving_answers_json_and_refuses_other_formats(api, staff, served):
    client = api(staff)
    for accept in ("*/*", "application/json"):
        assert client.get("/api/mlops/learners/u1/ability", HTTP_ACCEPT=accept).status_code == 200
    assert client.get("/api/mlops/learners/u1/ability", HTTP_ACCEPT="text/html").status_code == 406
    assert client.get("/api/mlops/learners/u1/ability?format=xml").status_code == 404


def test_a_learner_kept_under_one_version_is_scored_under_the_next(api, staff, served, add_answers):
    """Which version serves and the learner's newer answers come from one statement; after a deploy
    or a rollback the tally kept under the version before is scored under the one serving now."""
    client = api(staff)
    questions = sorted(served["questions"])
    add_answers([("mover", q, k % 2) for k, q in enumerate(questions[:10])], prefix="m1")
    assert client.get("/api/mlops/learners/mover/ability").json()["version"] == "v1"  # kept under v1
    services.retrain(auto_deploy=False)
    add_answers([("mover", q, 1) for q in questions[10:14]], prefix="m2")
    services.version_deploy(version=ModelVersion.objects.get(version="v2"), actor_name="test")
    under_v2 = client.get("/api/mlops/learners/mover/ability").json()
    assert (under_v2["version"], under_v2["answers"]) == ("v2", 14)
    assert under_v2 == pytest.approx(_fresh_ability(client, "mover"), abs=1e-9)

    add_answers([("mover", questions[14], 0)], prefix="m3")
    services.version_deploy(version=ModelVersion.objects.get(version="v1"), actor_name="test")
    back = client.post("/api/mlops/next-question", {"userId": "mover", "candidates": questions}, format="json").json()
    fresh = _fresh_ability(client, "mover")
    assert (back["version"], fresh["version"], fresh["answers"]) == ("v1", "v1", 15)
    assert back["ability"] == pytest.approx(fresh["ability"], abs=1e-9) and back["excluded"] == 15
