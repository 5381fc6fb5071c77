"""irt-2pl-modules in the pipeline: trained, compared, gated, deployed and served like the others."""

import io
import json
import math
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from retraining import learners, selectors, services
from retraining.models import ModelVersion
from retraining.serving import StoredModel
from training_data.anonymise import hash_user_id
from training_data.models import Question, TrainingData
from training_data.services import answer_row, answers_insert, demo_data_generate

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/retraining/modelversion/"


@pytest.fixture
def demo_with_modules():
    """Demo answers where each learner's ability differs by module (SD 1)."""
    _, truth = demo_data_generate(users=300, questions=60, answers=15_000, seed=5, module_sd=1.0)
    return truth


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_retrain_compares_gates_and_deploys_a_module_version(demo_with_modules):
    two_pl = services.retrain(algorithm="irt-2pl").version
    result = services.retrain(algorithm="irt-2pl-modules")
    version = result.version
    assert version.model_type == "irt-2pl-modules"
    # Compared with the serving 2PL on the same held-out answers, and better there: deployed.
    production = version.metrics["production"]
    assert production["version"] == two_pl.version
    assert version.metrics["logLoss"] < production["logLoss"] - 0.01
    assert version.metrics["auc"] > production["auc"]
    assert result.deployed and selectors.production_version() == version
    modules = version.parameters["modules"]
    assert modules["deviationSpread"] >= 0.5 and modules["pairs"] == sum(map(len, modules["deviations"].values()))
    assert set(modules["difficulty"]) <= {"algebra", "geometry", "statistics", "grammar", "vocabulary", "reading"}
    assert version.config["settings"]["validationFraction"] == 0.1  # ModuleIRT.get_params()
    # The stored deviations follow the true ones.
    truth = demo_with_modules.module_deviation
    stored, true = [], []
    for user, deviations in truth.items():
        for module, value in deviations.items():
            mine = modules["deviations"].get(hash_user_id(user), {}).get(module)
            if mine is not None:
                stored.append(mine)
                true.append(value)
    assert np.corrcoef(stored, true)[0, 1] >= 0.6


def test_a_2pl_candidate_is_scored_against_a_module_production_with_its_deviations(demo_with_modules):
    services.retrain(algorithm="irt-2pl-modules")
    candidate = services.retrain(algorithm="irt-2pl")
    # The serving module model kept its advantage on the candidate's held-out answers: no deploy.
    assert candidate.version.metrics["production"]["logLoss"] < candidate.version.metrics["logLoss"]
    assert not candidate.deployed and "log-loss" in candidate.decision["reason"]
    assert selectors.production_version().model_type == "irt-2pl-modules"


def test_serving_adds_the_module_deviation_and_falls_back_to_the_overall_ability(demo_with_modules):
    version = services.retrain(algorithm="irt-2pl-modules").version
    params = version.parameters
    user = hash_user_id("demo-user-3")
    module, deviation = next(iter(params["modules"]["deviations"][user].items()))
    question_id, question = next(iter(params["questions"].items()))
    theta = params["users"][user]["ability"]
    model = StoredModel.from_version(version)

    def p(modules):
        return float(model.predict([user], [question_id], modules=modules).probability[0])

    a, b = question["discrimination"], question["difficulty"]
    assert p([module]) == pytest.approx(_sigmoid(a * (theta + deviation - b)))
    overall = _sigmoid(a * (theta - b))
    assert p(["a module never seen"]) == pytest.approx(overall)
    assert p(None) == pytest.approx(overall)
    # An unseen question of a known module gets that module's mean difficulty.
    cold = float(model.predict([user], ["q-new"], modules=[module]).probability[0])
    mean_a = np.mean([q["discrimination"] for q in params["questions"].values()])
    b_module = params["modules"]["difficulty"][module]
    assert cold == pytest.approx(_sigmoid(mean_a * (theta + deviation - b_module)))


def test_predict_api_takes_the_module(api, staff, demo_with_modules):
    version = services.retrain(algorithm="irt-2pl-modules").version
    params = version.parameters
    user = hash_user_id("demo-user-7")
    module, deviation = max(params["modules"]["deviations"][user].items(), key=lambda kv: abs(kv[1]))
    client = api(staff)
    body = {"userId": "demo-user-7", "questionId": "q0001", "ability": "model"}
    with_module = client.post("/api/mlops/predict", {**body, "module": module}, format="json").json()
    without = client.post("/api/mlops/predict", body, format="json").json()
    theta = params["users"][user]["ability"]
    q = params["questions"]["q0001"]
    expected = _sigmoid(q["discrimination"] * (theta + deviation - q["difficulty"]))
    assert with_module["probability"] == pytest.approx(expected, abs=1e-6)
    assert without["probability"] == pytest.approx(_sigmoid(q["discrimination"] * (theta - q["difficulty"])), abs=1e-6)
    assert with_module["version"] == version.version


def test_retrain_command_and_backtest(demo_with_modules, tmp_path):
    out = io.StringIO()
    call_command("retrain", "--algorithm", "irt-2pl-modules", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["success"] and body["deployed"] and body["version"] == "v1"
    assert ModelVersion.objects.get().model_type == "irt-2pl-modules"
    # Backtest on a file in our layout: the module column is used.
    rows = ["user_id,question_id,correct,module"]
    rows += [f"demo-user-{k},q{k % 60 + 1:04d},{k % 2},algebra" for k in range(40)]
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(rows) + "\n")
    out = io.StringIO()
    call_command("evaluate", "v1", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["answers"] == 40
    # Compared with a 2PL on the file's answers (the modules travel with them).
    services.retrain(algorithm="irt-2pl", auto_deploy=False)
    out = io.StringIO()
    call_command("evaluate", "v1", str(path), "--against", "v2", "--json", stdout=out)
    assert "v1" in out.getvalue() and "v2" in out.getvalue()


def test_an_unknown_algorithm_is_refused_with_the_choices(demo_with_modules):
    with pytest.raises(services.RetrainingError, match="irt-2pl-modules"):
        services.retrain(algorithm="irt-3pl")
    assert not ModelVersion.objects.exists()


def test_admin_offers_the_algorithm_and_shows_the_deviations(client, admin_user, demo_with_modules):
    services.retrain(algorithm="irt-2pl-modules")
    client.force_login(admin_user)
    page = client.get(CHANGELIST).content.decode()
    assert '<option value="irt-2pl-modules">IRT 2PL + module deviations</option>' in page
    version = ModelVersion.objects.get()
    detail = client.get(f"{CHANGELIST}{version.pk}/change/").content.decode()
    assert "module deviations" in detail and "(learner, module) pairs" in detail


@pytest.mark.django_db(transaction=True)
def test_admin_retrain_queues_the_chosen_algorithm(client, admin_user, demo_with_modules):
    from tests.conftest import jobs_run

    client.force_login(admin_user)
    response = client.post(f"{CHANGELIST}retrain/", {"algorithm": "irt-3pl"}, follow=True)
    assert "Unknown algorithm" in response.content.decode()
    response = client.post(f"{CHANGELIST}retrain/", {"algorithm": "irt-2pl-modules"}, follow=True)
    assert "Retrain queued" in response.content.decode()
    jobs_run()
    version = ModelVersion.objects.get()
    assert (version.model_type, version.status) == ("irt-2pl-modules", "deployed")


def test_next_question_by_module_ranks_at_the_learners_ability_in_that_module(api, staff, demo_with_modules):
    """As predict with the module: the learner's live ability plus their live deviation in the module."""
    version = services.retrain(algorithm="irt-2pl-modules").version
    params = version.parameters
    live = learners.learner_ability(user_id="demo-user-7").ability
    module, deviation = max(live.deviations.items(), key=lambda kv: abs(kv[1]))
    assert abs(deviation) > 0.1
    client = api(staff)
    ability = client.get("/api/mlops/learners/demo-user-7/ability").json()["ability"]
    request = {"userId": "demo-user-7", "module": module, "exclude": "none", "count": 100}
    body = client.post("/api/mlops/next-question", request, format="json").json()
    assert body["ability"] == ability == pytest.approx(live.ability, abs=1e-4) and len(body["questions"]) >= 5
    for ranked in body["questions"]:
        item = params["questions"][ranked["questionId"]]
        at = live.ability + deviation - item["difficulty"]
        assert ranked["probability"] == pytest.approx(_sigmoid(item["discrimination"] * at), abs=1e-6)
    information = [ranked["information"] for ranked in body["questions"]]
    assert information == sorted(information, reverse=True)
    first = body["questions"][0]
    pair = {"userId": "demo-user-7", "questionId": first["questionId"], "module": module}
    assert client.post("/api/mlops/predict", pair, format="json").json()["probability"] == pytest.approx(
        first["probability"], abs=1e-9
    )


def test_next_question_over_candidates_ranks_each_in_its_module_as_predict_does(api, staff, demo_with_modules):
    services.retrain(algorithm="irt-2pl-modules")
    client = api(staff)
    modules = dict(Question.objects.values_list("question_id", "module"))
    candidates = sorted(modules)[:20]
    request = {"userId": "demo-user-7", "candidates": candidates, "exclude": "none", "count": 20}
    body = client.post("/api/mlops/next-question", request, format="json").json()
    assert len(body["questions"]) == 20
    for ranked in body["questions"]:
        pair = {"userId": "demo-user-7", "questionId": ranked["questionId"], "module": modules[ranked["questionId"]]}
        predicted = client.post("/api/mlops/predict", pair, format="json").json()["probability"]
        assert ranked["probability"] == pytest.approx(predicted, abs=1e-6)
    # Not the overall ability alone: the learner's modules differ (demo data: module SD 1).
    overall = client.post("/api/mlops/predict", {"userId": "demo-user-7", "questionId": candidates[0]}, format="json")
    first = next(q for q in body["questions"] if q["questionId"] == candidates[0])
    assert abs(overall.json()["probability"] - first["probability"]) > 1e-4


def test_live_module_ability_on_the_training_answers_is_the_trained_one(demo_with_modules):
    """Leave a learner only the answers training used: live ability, SD and deviations are the stored ones."""
    version = services.retrain(algorithm="irt-2pl-modules", limit=20_000).version
    params = version.parameters
    data = selectors.answers_load(limit=20_000, with_labels=False)
    held = services.holdout_mask(data, validation_split=0.2, random_seed=42, split="random")
    now = timezone.now()
    for raw in ("demo-user-3", "demo-user-7"):
        user_hash = hash_user_id(raw)
        mine = np.flatnonzero((data.users == data.user_ids.index(user_hash)) & ~held)
        rows = [
            answer_row(
                user_id=raw,
                question_id=data.question_ids[data.items[k]],
                module=data.module_ids[data.modules[k]],
                correct=int(data.correct[k]),
                answered_at=now - timedelta(hours=1),
                event_id=f"only-{raw}-{k}",
                now=now,
            )
            for k in mine.tolist()
        ]
        TrainingData.objects.filter(learner__hash=user_hash).delete()
        answers_insert(rows)
        live = learners.learner_ability(user_id=raw).ability
        stored = params["users"][user_hash]
        assert (live.source, live.answers) == ("live", len(rows))
        assert live.ability == pytest.approx(stored["ability"], abs=1e-6)
        assert live.ability_sd == pytest.approx(stored["abilitySd"], abs=1e-6)
        assert live.deviations == pytest.approx(params["modules"]["deviations"][user_hash], abs=1e-6)
