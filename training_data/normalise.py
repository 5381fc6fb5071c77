"""The data step of the move to normalised answers (migration 0003 of both migration trees).

Old rows (learner hash, question id, module and event id on every answer) are copied into the new
table with the same keys: learners and questions are stored once, in order of first appearance,
each answer references them, and its event id becomes the 16-byte event key.
"""

from __future__ import annotations

from datetime import datetime

from .fields import event_key, to_micros

OLD, LEARNERS, QUESTIONS, NEW = (
    "training_data_trainingdata",
    "training_data_learner",
    "training_data_question",
    "training_data_answer",
)
_COLUMNS = "id, answered_at, created_at, difficulty, learner_id, question_id, response_time_ms, correct, event_key"


def answers_normalise(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _copy_sql(schema_editor, "micros(t.answered_at)", "micros(t.created_at)", "event_key(t.event_id)")
    elif vendor == "postgresql":
        key = "substring(sha256(convert_to(t.event_id, 'UTF8')) from 1 for 16)"
        _copy_sql(schema_editor, "t.answered_at", "t.created_at", key)
    else:
        _copy_orm(apps)


def answers_denormalise(apps, schema_editor):
    """Going back is only possible while there are no answers: event ids cannot be recovered."""
    if apps.get_model("training_data", "Answer").objects.exists():
        raise RuntimeError(
            "training_data 0003 cannot be reversed with answers stored: the event ids were reduced to their "
            "16-byte keys. Restore a backup taken before the migration instead."
        )


def _copy_sql(schema_editor, answered, created, key):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        # Exact Python conversions for SQLite, which has neither SHA-256 nor microsecond timestamps.
        raw = connection.connection
        raw.create_function("micros", 1, lambda text: to_micros(datetime.fromisoformat(text)), deterministic=True)
        raw.create_function("event_key", 1, event_key, deterministic=True)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {LEARNERS} (hash) SELECT user_hash FROM {OLD} GROUP BY user_hash ORDER BY MIN(id)")
        cursor.execute(
            f"INSERT INTO {QUESTIONS} (question_id, module) SELECT question_id, module FROM {OLD} "
            "GROUP BY question_id, module ORDER BY MIN(id)"
        )
        cursor.execute(
            f"INSERT INTO {NEW} ({_COLUMNS}) "
            f"SELECT t.id, {answered}, {created}, t.difficulty, l.id, q.id, t.response_time_ms, t.correct, {key} "
            f"FROM {OLD} t JOIN {LEARNERS} l ON l.hash = t.user_hash "
            f"JOIN {QUESTIONS} q ON q.question_id = t.question_id AND q.module = t.module ORDER BY t.id"
        )
        if connection.vendor == "postgresql":
            # Rows came with their keys: new answers continue after the largest.
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{NEW}', 'id'), MAX(id)) FROM {NEW} HAVING COUNT(*) > 0"
            )


def _copy_orm(apps, chunk: int = 10_000):
    Old = apps.get_model("training_data", "TrainingData")
    Learner = apps.get_model("training_data", "Learner")
    Question = apps.get_model("training_data", "Question")
    Answer = apps.get_model("training_data", "Answer")
    learners: dict = {}
    questions: dict = {}
    last = None
    while True:
        rows = Old.objects.order_by("pk")
        batch = list((rows.filter(pk__gt=last) if last is not None else rows)[:chunk])
        if not batch:
            return
        for row in batch:
            if row.user_hash not in learners:
                learners[row.user_hash] = Learner.objects.create(hash=row.user_hash).pk
            if (row.question_id, row.module) not in questions:
                made = Question.objects.create(question_id=row.question_id, module=row.module)
                questions[row.question_id, row.module] = made.pk
        Answer.objects.bulk_create(
            Answer(
                id=row.pk,
                answered_at=row.answered_at,
                created_at=row.created_at,
                difficulty=row.difficulty,
                learner_id=learners[row.user_hash],
                question_id=questions[row.question_id, row.module],
                response_time_ms=row.response_time_ms,
                correct=row.correct,
                event_key=event_key(row.event_id),
            )
            for row in batch
        )
        last = batch[-1].pk
