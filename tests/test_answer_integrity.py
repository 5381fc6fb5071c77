"""Answers never reference a missing learner or question, without a per-row foreign-key check.

On PostgreSQL the answers table has no foreign-key constraint (training_data 0005): a check over
each statement's rows refuses orphans there (SQLite: the writer's batch check, and its foreign
keys), and learners or questions that have answers cannot be deleted or re-keyed, by the ORM
(PROTECT) or by raw SQL.
"""

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, ProtectedError
from django.utils import timezone

from training_data.fields import event_key
from training_data.models import Learner, Question, TrainingData
from training_data.services import demo_data_generate
from training_data.services.insert import answers_store, learner_keys, question_keys

ANSWERS, LEARNERS = TrainingData._meta.db_table, Learner._meta.db_table


def stored_row(learner, question, event, *, difficulty=None, time_ms=None):
    now = timezone.now()
    return (now - timedelta(hours=1), now, difficulty, learner, question, time_ms, True, event_key(event))


def one_learner_and_question():
    return learner_keys({"h" * 64})["h" * 64], question_keys({("q1", "algebra")})["q1", "algebra"]


def orphans():
    return TrainingData.objects.exclude(Exists(Learner.objects.filter(pk=OuterRef("learner_id")))).count() + (
        TrainingData.objects.exclude(Exists(Question.objects.filter(pk=OuterRef("question_id")))).count()
    )


@pytest.mark.django_db
def test_a_batch_with_a_missing_learner_or_question_is_refused_whole():
    learner, question = one_learner_and_question()
    good = stored_row(learner, question, "good", difficulty=2, time_ms=1500)
    for bad in (stored_row(learner + 1000, question, "no-learner"), stored_row(learner, question + 1000, "no-q")):
        with pytest.raises(IntegrityError, match="not stored"):
            answers_store([good, bad])
        assert TrainingData.objects.count() == 0
    assert answers_store([good]) == 1
    stored = TrainingData.objects.get()
    assert (stored.difficulty, stored.response_time_ms, stored.correct) == (2.0, 1500, True)


@pytest.mark.django_db
def test_every_door_leaves_no_orphan(add_answers):
    add_answers([("u1", "q1", 1), ("u2", "q1", 0), ("u1", "q2", 1)])
    demo_data_generate(users=40, questions=15, answers=2000, seed=3)
    assert TrainingData.objects.count() == 2003
    assert orphans() == 0


@pytest.mark.django_db(transaction=True)  # SQLite checks its foreign keys at commit
def test_learners_and_questions_with_answers_cannot_be_deleted_or_rekeyed(add_answers):
    add_answers([("u1", "q1", 1)])
    answer = TrainingData.objects.get()
    with pytest.raises(ProtectedError):
        Learner.objects.filter(pk=answer.learner_id).delete()
    with pytest.raises(ProtectedError):
        Question.objects.filter(pk=answer.question_id).delete()
    statements = [
        (f"DELETE FROM {LEARNERS} WHERE id = %s", [answer.learner_id]),
        (f"DELETE FROM {Question._meta.db_table} WHERE id = %s", [answer.question_id]),
        (f"UPDATE {LEARNERS} SET id = id + 1000 WHERE id = %s", [answer.learner_id]),
    ]
    for sql, params in statements:
        refused = pytest.raises(IntegrityError, match=r"has answers|FOREIGN KEY")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert orphans() == 0 and Learner.objects.count() == 1 and Question.objects.count() == 1
    # A learner without answers can still be removed.
    spare = learner_keys({"s" * 64})["s" * 64]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LEARNERS} WHERE id = %s", [spare])
    assert not Learner.objects.filter(pk=spare).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_orphans_from_any_statement(add_answers):
    add_answers([("u1", "q1", 1)])
    answer = TrainingData.objects.get()
    columns = "answered_at, created_at, learner_id, question_id, correct, event_key"
    statements = [
        (f"INSERT INTO {ANSWERS} ({columns}) VALUES (now(), now(), %s, %s, true, %s)", [answer.learner_id + 99]),
        (f"UPDATE {ANSWERS} SET question_id = question_id + 99", []),
    ]
    for sql, extra in statements:
        params = [*extra, answer.question_id, b"x" * 16] if sql.startswith("INSERT") else extra
        with pytest.raises(IntegrityError, match="not stored"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert orphans() == 0


def waiting_for_a_lock(thread) -> bool:
    """True once some session waits for a lock while ``thread`` runs (False if it ends first)."""
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
        thread.join(timeout=0.05)
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_delete_racing_a_writer_waits_then_is_refused():
    """A learner deleted while a writer's answers for it are not yet committed: the delete waits for
    the writer, then sees its answers and fails; the answers stay, their learner too."""
    learner, question = one_learner_and_question()
    outcome = {}

    def delete():
        with psycopg.connect(**connection.get_connection_params()) as other:
            try:
                other.execute(f"DELETE FROM {LEARNERS} WHERE id = %s", [learner])
                other.commit()
                outcome["deleted"] = True
            except psycopg.errors.ForeignKeyViolation:
                outcome["refused"] = True

    with transaction.atomic():
        answers_store([stored_row(learner, question, "racing")])
        deleter = threading.Thread(target=delete)
        deleter.start()
        assert waiting_for_a_lock(deleter), "the delete should wait for this transaction"
    deleter.join(timeout=30)
    assert outcome == {"refused": True}
    assert TrainingData.objects.count() == 1 and Learner.objects.filter(pk=learner).exists()
    assert orphans() == 0
