"""generate_demo_data: deterministic for a seed, idempotent, and its truth file is the model used."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from training_data.models import TrainingData

FIELDS = (
    "learner__hash",
    "question__question_id",
    "question__module",
    "difficulty",
    "correct",
    "response_time_ms",
    "answered_at",
    "event_key",
)


def generate(*args):
    out = StringIO()
    call_command("generate_demo_data", *args, stdout=out)
    return out.getvalue()


def snapshot():
    return list(TrainingData.objects.order_by("event_key").values_list(*FIELDS))


@pytest.mark.django_db
def test_same_seed_same_answers_and_rerun_adds_nothing():
    assert "Generated 3000 demo answers" in generate(
        "--users", "50", "--questions", "20", "--answers", "3000", "--seed", "7"
    )
    first = snapshot()
    assert "Generated 0 demo answers (3000 already present)" in generate(
        "--users", "50", "--questions", "20", "--answers", "3000", "--seed", "7"
    )
    TrainingData.objects.all().delete()
    generate("--users", "50", "--questions", "20", "--answers", "3000", "--seed", "7")
    assert snapshot() == first
    TrainingData.objects.all().delete()
    generate("--users", "50", "--questions", "20", "--answers", "3000", "--seed", "8")
    assert [row[:-1] for row in snapshot()] != [row[:-1] for row in first]


@pytest.mark.django_db
def test_truth_file_describes_the_generating_model(tmp_path):
    truth_path = tmp_path / "truth.json"
    generate("--users", "300", "--questions", "10", "--answers", "15000", "--seed", "3", "--truth", str(truth_path))
    truth = json.loads(truth_path.read_text())
    assert len(truth["ability"]) == 300 and len(truth["difficulty"]) == 10
    # Easier questions (lower true difficulty) are answered right more often.
    rates = {
        q: np.mean(list(TrainingData.objects.filter(question__question_id=q).values_list("correct", flat=True)))
        for q in truth["difficulty"]
    }
    questions = sorted(truth["difficulty"])
    correlation = np.corrcoef([truth["difficulty"][q] for q in questions], [rates[q] for q in questions])[0, 1]
    assert correlation < -0.9
    answered = TrainingData.objects.order_by("answered_at")
    assert answered.first().answered_at < answered.last().answered_at
    assert set(TrainingData.objects.values_list("question__module", flat=True)) <= {
        "algebra",
        "geometry",
        "statistics",
        "grammar",
        "vocabulary",
        "reading",
    }
