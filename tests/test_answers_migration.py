"""The move to normalised answers (training_data 0003): old rows in, the same answers out."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from training_data.fields import event_key
from training_data.models import Learner, Question, TrainingData
from training_data.services import answer_row, answers_insert

BEFORE = [("training_data", "0002_learner_index")]

OLD_FIELDS = ("id", "user_hash", "question_id", "module", "difficulty", "correct", "response_time_ms", "answered_at")
OLD_FIELDS += ("event_id",)
OLD_ROWS = [
    (5, "a" * 64, "q1", "algebra", 0.5, True, 1200, datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=UTC), "e-1"),
    (9, "a" * 64, "q2", "", None, False, None, datetime(2026, 1, 5, 10, 1, tzinfo=UTC), "ëvent-✓"),
    (17, "b" * 64, "q1", "geometry", -1.25, True, 0, datetime(1970, 1, 1, tzinfo=UTC), "e-3"),
    (100, "b" * 64, "q1", "algebra", None, False, 2**31 - 1, datetime(2026, 1, 6, 23, 59, 59, 999999, tzinfo=UTC), "x"),
]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_old_answers_move_with_their_keys_and_values():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("training_data")
    Old = _migrate(BEFORE).get_model("training_data", "TrainingData")
    arrived = timezone.now()
    for row in OLD_ROWS:
        Old.objects.create(**dict(zip(OLD_FIELDS, row, strict=True)), created_at=arrived)
    _migrate(latest)

    assert TrainingData.objects.count() == len(OLD_ROWS)
    for key, user, question, module, difficulty, correct, time_ms, answered, event in OLD_ROWS:
        row = TrainingData.objects.select_related("learner", "question").get(pk=key)
        assert (row.learner.hash, row.question.question_id, row.question.module) == (user, question, module)
        assert (row.difficulty, row.correct, row.response_time_ms) == (difficulty, correct, time_ms)
        assert (row.answered_at, row.created_at, bytes(row.event_key)) == (answered, arrived, event_key(event))
    assert Learner.objects.count() == 2
    assert Question.objects.count() == 3  # q1 under two modules stays two questions
    # The next answer continues after the largest moved key, and a moved event is still known.
    now = timezone.now()
    rows = [
        answer_row(user_id=u, question_id="q9", correct=1, event_id=e, now=now) for u, e in (("c", "new"), ("d", "x"))
    ]
    assert answers_insert(rows) == 1
    assert TrainingData.objects.get(event_key=event_key("new")).pk > 100
