"""The cron-facing commands: report, JSON body, exit codes, --min-new-answers, deploy, evaluate."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from retraining import services
from retraining.models import Deployment, ModelVersion
from tests.conftest import simulated_answers

pytestmark = pytest.mark.django_db


def command(name, *args):
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def test_console_report_has_the_seed_sections(simulated):
    services.retrain(auto_deploy=False)
    output = command("retrain")
    lines = output.splitlines()
    assert lines[1] == "ML OPS: AUTOMATED MODEL RETRAINING"
    assert "Current production model: none" in output
    expected_order = [
        "[Retraining] Starting automated model retraining...",
        f"[Retraining] Loaded {len(simulated)} training samples",
        "[Retraining] Created model version: v2",
        "[Learning]  Running IRT-based learning algorithm...",
        "[Learning] Processed 25 questions and",
        "[Learning] Difficulty mean:",
        "[Learning] Ability mean:",
        "[Retraining] Learning algorithm completed",
        "[Evaluation] Evaluating model performance...",
        "[Evaluation] ✅ Accuracy:",
        "[Evaluation] RMSE:",
        "[Retraining] Model evaluation completed",
        "[Retraining] ✅ Model version v2 saved successfully",
        "[Deploy] Deploying model to production...",
        "[Deploy] Model parameters ready for application",
        "[Retraining] Model deployed to production",
        "✅ RETRAINING COMPLETED SUCCESSFULLY",
        "   Version: v2",
        f"   Training samples: {len(simulated)}",
        "Performance Metrics:",
        "   Precision:",
        "   F1 Score:",
        "   MAE:",
        "Model deployed to production!",
    ]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(text)) for text in expected_order]
    assert positions == sorted(positions)
    version = ModelVersion.objects.get(version="v2")
    assert f"   Accuracy: {version.metrics['accuracy']:.2%}" in lines


def test_report_says_why_not_deployed(simulated, settings):
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.999
    output = command("retrain", "--algorithm", "irt-1pl")
    assert "Model not deployed: accuracy" in output and "not above the 99.90% threshold" in output
    assert "[Deploy] Deploying model to production..." not in output


def test_json_is_exactly_the_api_body(simulated):
    body = json.loads(command("retrain", "--json"))
    version = ModelVersion.objects.get()
    assert list(body) == ["success", "version", "metrics", "trainingDataCount", "duration", "deployed", "decision"]
    assert body["success"] is True and body["version"] == "v1" and body["deployed"] is True
    assert body["trainingDataCount"] == len(simulated)
    assert {"accuracy", "precision", "recall", "f1Score", "rmse", "mae"} <= set(body["metrics"])
    assert body["metrics"]["accuracy"] == round(version.metrics["accuracy"], 4)


def test_exit_codes(simulated):
    with pytest.raises(CommandError) as error:
        call_command("retrain", "--since", "2999-01-01", stdout=StringIO())
    assert error.value.returncode == 1 and "No training data available" in str(error.value)
    lease = services.TrainingLease().acquire()
    try:
        with pytest.raises(CommandError) as error:
            call_command("retrain", stdout=StringIO())
        assert error.value.returncode == 3 and "Training already in progress" in str(error.value)
    finally:
        lease.release()
    with pytest.raises(CommandError, match="--since must be a date"):
        call_command("retrain", "--since", "yesterday", stdout=StringIO())


def test_min_new_answers_skips_until_enough_arrive(add_answers):
    add_answers(simulated_answers())
    assert "Created model version: v1" in command("retrain", "--min-new-answers", "100")  # no version yet: trains
    skipped = command("retrain", "--min-new-answers", "100")
    assert skipped.startswith("Skipped: 0 new answers since the last version, fewer than 100.")
    assert ModelVersion.objects.count() == 1
    add_answers(simulated_answers(seed=9, n_users=10, per_user=12), prefix="new")
    assert "Created model version: v2" in command("retrain", "--min-new-answers", "100")


def test_deploy_command_rolls_back(simulated):
    services.retrain()
    services.retrain()
    output = command("deploy", "v1")
    assert "v1 is now the production model (rollback; previous: v2" in output
    assert ModelVersion.objects.get(is_production=True).version == "v1"
    assert Deployment.objects.first().actor_name == "manage.py deploy"
    assert "already serves" in command("deploy", "v1")
    with pytest.raises(CommandError, match='"v9" not found'):
        command("deploy", "v9")


def test_evaluate_backtests_a_version_on_a_file(simulated, tmp_path):
    services.retrain()
    path = tmp_path / "later.csv"
    later = simulated_answers(seed=0)[:200]  # same learners and questions
    path.write_text(
        "user_id,question_id,correct\n" + "".join(f"{u},{q},{c}\n" for u, q, c, _ in later) + "stranger,q999,1\n"
    )
    body = json.loads(command("evaluate", "v1", str(path), "--json"))
    assert body["answers"] == 201 and body["coldStartShare"] == pytest.approx(1 / 201)
    assert body["metrics"]["accuracy"] > 0.75
    assert "Accuracy:" in command("evaluate", "v1", str(path))
