"""compare(a, b): versions scored on the same answers, on simulated data where the truth is known."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from retraining import services
from retraining.errors import NotComparable
from retraining.models import ModelVersion
from retraining.services import comparison
from retraining.services.comparison import compare
from training_data.models import TrainingData

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=UTC)


def population(
    *, n_users=200, n_questions=30, per_user=20, seed=0, draw=0, difficulty_seed=0, flip=False, start=START, step=1.0
):
    """Answers drawn from a known 2PL. Learners' abilities come from ``seed``; question
    difficulties from ``difficulty_seed`` (``flip``: every difficulty negated, a changed population).
    Answers are ``step`` seconds apart from ``start``; ``draw`` picks another sample of answers.
    """
    theta = np.random.default_rng(seed).normal(size=n_users)
    rng = np.random.default_rng([seed, draw])
    b = np.random.default_rng(1000 + difficulty_seed).normal(0, 1.5, n_questions)
    if flip:
        b = -b
    out = []
    for k in range(n_users * per_user):
        u = k // per_user
        q = int(rng.integers(n_questions))
        p = 1 / (1 + np.exp(-2.0 * (theta[u] - b[q])))
        out.append((f"user{u}", f"q{q}", int(rng.random() < p), start + timedelta(seconds=k * step)))
    return out


def test_a_rollback_candidate_trained_on_an_old_population_is_shown_worse_on_todays_answers(add_answers):
    add_answers(population(seed=1), prefix="old")
    v1 = services.retrain(limit=4000).version
    today = population(seed=1, flip=True, start=START + timedelta(days=30))
    add_answers(today, prefix="new")
    v2 = services.retrain(limit=4000).version

    result = compare(v1, v2)

    assert result.selection == comparison.FRESH
    assert result.answers == v2.metrics["validationCount"]  # v2's held-out answers, all after v1's cutoff
    assert result.in_sample_share == {"v1": 0.0, "v2": 0.0}
    assert result.verdict("logLoss") == "worse"
    assert result.verdict("accuracy") == "worse"
    assert result.differences["logLoss"].low > 0
    # v1's own held-out figures (another population's answers) look far better than its score today.
    assert v1.metrics["accuracy"] - result.metrics["v1"]["accuracy"] > 0.1
    body = result.as_json()
    assert body["difference"]["logLoss"]["mean"] == pytest.approx(
        result.metrics["v1"]["logLoss"] - result.metrics["v2"]["logLoss"]
    )
    assert compare(v2, v1).verdict("logLoss") == "better"


def test_two_models_of_the_same_population_show_no_significant_difference(add_answers):
    add_answers(population(seed=2), prefix="first")
    v1 = services.retrain(limit=4000).version
    add_answers(population(seed=2, draw=1, start=START + timedelta(days=1)), prefix="second")
    v2 = services.retrain(limit=4000).version
    # Today's answers from the same learners and questions: neither version saw them.
    add_answers(population(seed=2, draw=2, per_user=5, start=START + timedelta(days=2)), prefix="today")

    result = compare(v2, v1)

    assert result.selection == comparison.FRESH
    assert result.answers >= 1000
    for key in ("logLoss", "accuracy", "brierScore"):
        interval = result.differences[key]
        assert interval.low <= 0 <= interval.high, (key, interval)
        assert result.verdict(key) == comparison.NO_SIGNIFICANT_DIFFERENCE
    assert "no significant difference" in result.summary()


def test_too_few_fresh_answers_widen_to_the_held_out_set_and_report_what_each_version_trained_on(add_answers):
    add_answers(population(seed=3), prefix="first")
    v1 = services.retrain(limit=4000).version
    add_answers(population(seed=3, n_users=10, per_user=10, start=START + timedelta(days=1)), prefix="few")
    v2 = services.retrain(limit=4100).version

    result = compare(v2, v1)

    assert result.selection == comparison.HELD_OUT
    assert result.answers == v2.metrics["validationCount"]
    assert result.in_sample_share["v2"] == 0.0
    # v1 trained on 80 % of the first 4,000 answers; v2's held-out set is mostly those answers.
    assert 0.7 < result.in_sample_share["v1"] < 0.85
    window = comparison.training_window(v1)
    newest_v1 = TrainingData.objects.order_by("-id").values_list("id", flat=True)[100]
    assert window is not None and v1.data_cutoff_id == newest_v1
    assert int((~window.held).sum()) == v1.metrics["trainCount"]


def test_the_training_cutoff_is_the_newest_answer_the_version_saw(add_answers):
    add_answers(population(seed=4, n_users=50), prefix="a")
    version = services.retrain(limit=1000).version
    newest = TrainingData.objects.order_by("-id").first()
    assert (version.data_cutoff_id, version.data_cutoff_at) == (newest.id, newest.created_at)
    add_answers(population(seed=4, n_users=5, start=START + timedelta(days=1)), prefix="b")
    assert TrainingData.objects.filter(version.cutoff.after()).count() == 100


def test_comparing_a_version_with_itself_or_with_a_failed_one_is_refused(add_answers):
    add_answers(population(seed=5, n_users=50), prefix="a")
    version = services.retrain(limit=1000).version
    failed = ModelVersion.objects.create(version="v9", number=9, status=ModelVersion.Status.FAILED)
    with pytest.raises(NotComparable, match="two different versions"):
        compare(version, version)
    with pytest.raises(NotComparable, match="v9 has no model"):
        compare(version, failed)


def test_the_evaluate_command_compares_two_versions_on_a_file_or_on_fresh_answers(add_answers, tmp_path):
    import io
    import json

    from django.core.management import call_command

    add_answers(population(seed=1), prefix="old")
    services.retrain(limit=4000)
    today = population(seed=1, draw=1, flip=True, start=START + timedelta(days=30))
    add_answers(today, prefix="new")
    services.retrain(limit=4000)

    out = io.StringIO()
    call_command("evaluate", "v1", "--against", "v2", "--json", stdout=out)
    fresh = json.loads(out.getvalue())
    assert fresh["selection"] == "fresh" and fresh["verdict"]["logLoss"] == "worse"

    path = tmp_path / "today.csv"
    later = population(seed=1, draw=2, per_user=5, flip=True, start=START + timedelta(days=31))
    path.write_text(
        "user_id,question_id,correct,answered_at\n" + "".join(f"{u},{q},{c},{t.isoformat()}\n" for u, q, c, t in later)
    )
    out = io.StringIO()
    call_command("evaluate", "v1", str(path), "--against", "v2", stdout=out)
    report = out.getvalue()
    assert "v1 against v2 on the answers in" in report and "(1000 answers)" in report
    assert "Share each trained on: v1 unknown, v2 unknown" in report
    assert "Log-loss:" in report and ": worse" in report
