"""Each learner's row keeps the count and the key sum of their answers (training_data 0006 on
PostgreSQL, 0007 on SQLite), whatever statement writes the answers, so a live request learns that
nothing changed without reading the answers; the live ability stays the one re-scored from every
answer. On SQLite these tests also find the triggers still there after every migration: Django
rebuilds a SQLite table to alter it, and a rebuild would drop them."""

import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum

from retraining import selectors
from tests.test_answer_integrity import stored_row, waiting_for_a_lock
from training_data.anonymise import hash_user_id
from training_data.models import Learner, Question, TrainingData
from training_data.services import demo_data_generate
from training_data.services.insert import answers_store, learner_keys, question_keys

ANSWERS, LEARNERS = TrainingData._meta.db_table, Learner._meta.db_table


def kept_totals() -> dict[int, tuple[int, int]]:
    """What the learner rows say, for learners with answers or non-zero totals."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, answer_count, answer_key_sum FROM {LEARNERS} WHERE answer_count <> 0 OR answer_key_sum <> 0"
        )
        return {learner: (count, keys) for learner, count, keys in cursor.fetchall()}


def counted_totals() -> dict[int, tuple[int, int]]:
    """The same, counted from the answers themselves."""
    rows = TrainingData.objects.values("learner_id").annotate(n=Count("id"), keys=Sum("id"))
    return {row["learner_id"]: (row["n"], row["keys"]) for row in rows}


def write_elsewhere(answers, outcome: dict) -> None:
    """Store ``answers`` (learner key, question key, correct, event key) from another session, as
    another process would, and commit."""
    columns = "answered_at, created_at, learner_id, question_id, correct, event_key"
    values = ", ".join(["(now(), now(), %s, %s, %s, %s)"] * len(answers))  # PostgreSQL's own connection
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute(f"INSERT INTO {ANSWERS} ({columns}) VALUES {values}", [v for answer in answers for v in answer])
        other.commit()
        outcome["committed"] = True


@pytest.mark.django_db
def test_every_kind_of_write_keeps_the_learner_totals(add_answers):
    add_answers([("u1", "q1", 1), ("u2", "q1", 0), ("u1", "q2", 1)])  # the API's writer: COPY, then INSERT
    assert kept_totals() == counted_totals() and len(kept_totals()) == 2
    demo_data_generate(users=30, questions=10, answers=1500, seed=4)
    assert kept_totals() == counted_totals() and len(kept_totals()) == 32

    u1, u2 = (Learner.objects.get(hash=hash_user_id(user)).pk for user in ("u1", "u2"))
    first = TrainingData.objects.filter(learner_id=u1).order_by("pk").first()
    columns = "answered_at, created_at, learner_id, question_id, correct, event_key"
    with connection.cursor() as cursor:  # raw statements, as a database administrator might run
        cursor.execute(
            f"INSERT INTO {ANSWERS} ({columns}) SELECT answered_at, created_at, %s, question_id, correct,"
            f" event_key || 'x' FROM {ANSWERS} WHERE learner_id = %s",
            [u2, u1],
        )
        assert kept_totals() == counted_totals()
        cursor.execute(f"UPDATE {ANSWERS} SET learner_id = %s WHERE id = %s", [u2, first.pk])  # moved to u2
        assert kept_totals() == counted_totals()
        cursor.execute(f"UPDATE {ANSWERS} SET correct = NOT correct WHERE learner_id = %s", [u2])  # no key moved
        assert kept_totals() == counted_totals()
        cursor.execute(f"DELETE FROM {ANSWERS} WHERE learner_id = %s", [u2])
    TrainingData.objects.filter(learner_id=u1).delete()  # the ORM: an erasure
    assert kept_totals() == counted_totals() and u1 not in kept_totals() and u2 not in kept_totals()


@pytest.mark.django_db
def test_the_live_read_takes_the_totals_from_the_learner_row(add_answers):
    """The totals row of the live statement is the learner row's, not a count of the answers: a
    learner row that says otherwise is believed (so no answer row is read to find it)."""
    add_answers([("steady", "q1", 1), ("steady", "q2", 0)])
    user_hash = hash_user_id("steady")
    totals, rows = selectors.learner_answers_after(user_hash, 0)
    assert totals[:2] == counted_totals()[Learner.objects.get(hash=user_hash).pk] and len(rows) == 2
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LEARNERS} SET answer_count = 99 WHERE hash = %s", [user_hash])
    assert selectors.learner_answers_after(user_hash, 0)[0][0] == 99


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_of_the_same_learners_both_commit_and_add_up():
    """Writers lock the learners' rows in key order: the second waits for the first, then both
    totals count (no deadlock, nothing lost), whatever order their answers come in."""
    learners = learner_keys({"a" * 64, "b" * 64})
    question = question_keys({("q1", "")})["q1", ""]
    a, b = learners["a" * 64], learners["b" * 64]
    outcome = {}
    theirs = [(b, question, True, b"other-b" + b"\0" * 9), (a, question, False, b"other-a" + b"\0" * 9)]

    with transaction.atomic():
        answers_store([stored_row(a, question, "mine-a"), stored_row(b, question, "mine-b")])
        writer = threading.Thread(target=write_elsewhere, args=(theirs, outcome))
        writer.start()
        assert waiting_for_a_lock(writer), "the other writer should wait for this transaction's learners"
    writer.join(timeout=30)
    assert outcome == {"committed": True}
    assert kept_totals() == counted_totals() and kept_totals()[a][0] == kept_totals()[b][0] == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_answers_already_stored(add_answers):
    """Migrating back drops the totals; forward again, they are counted from the stored answers."""
    from django.db.migrations.executor import MigrationExecutor

    add_answers([("u1", "q1", 1), ("u2", "q1", 0), ("u1", "q2", 1)])
    executor = MigrationExecutor(connection)
    executor.migrate([("training_data", "0005_answer_keys_checked")])
    with connection.cursor() as cursor:
        assert [c.name for c in connection.introspection.get_table_description(cursor, LEARNERS)] == ["id", "hash"]
    TrainingData.objects.filter(pk=TrainingData.objects.order_by("pk").first().pk).delete()  # no trigger now
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert kept_totals() == counted_totals() and sum(n for n, _ in kept_totals().values()) == 2
    assert Question.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_bulk_writer_holds_no_learner_row_until_its_end():
    """Inside learner_totals_deferred (imports, demo data) the statements only note their changes:
    another writer of the same learner commits meanwhile, without waiting; the totals are added up
    when the block ends, and both writers' answers count."""
    from training_data.postgresql_layout import learner_totals_deferred

    learner = learner_keys({"a" * 64})["a" * 64]
    question = question_keys({("q1", "")})["q1", ""]
    outcome = {}
    theirs = [(learner, question, True, b"other" + b"\0" * 11)]

    with transaction.atomic(), learner_totals_deferred():
        answers_store([stored_row(learner, question, "bulk-1")])
        answers_store([stored_row(learner, question, "bulk-2"), stored_row(learner, question, "bulk-3")])
        assert kept_totals() == {}  # noted, not yet added up
        writer = threading.Thread(target=write_elsewhere, args=(theirs, outcome))
        writer.start()
        assert not waiting_for_a_lock(writer), "the other writer should not wait for the bulk writer"
        writer.join(timeout=30)
        assert outcome == {"committed": True}
    assert kept_totals() == counted_totals() and kept_totals()[learner][0] == 4


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_bulk_writer_that_fails_leaves_the_totals_as_they_were(add_answers):
    from training_data.postgresql_layout import learner_totals_deferred

    add_answers([("u1", "q1", 1)])
    before = kept_totals()
    learner = Learner.objects.get().pk
    question = Question.objects.get().pk

    def doomed():
        with transaction.atomic(), learner_totals_deferred():
            answers_store([stored_row(learner, question, "doomed")])
            raise RuntimeError("the import failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        doomed()
    assert kept_totals() == before == counted_totals()
    add_answers([("u1", "q2", 0)], prefix="later")  # and the next writer is not deferred
    assert kept_totals() == counted_totals() and kept_totals()[learner][0] == 2


@pytest.mark.django_db
def test_an_import_keeps_the_learner_totals(tmp_path):
    from training_data.services import training_data_import

    path = tmp_path / "answers.csv"
    lines = ["user_id,question_id,correct,answered_at,event_id"]
    lines += [f"user{k % 7},q{k % 5},{k % 2},2026-03-01T10:{k % 60:02d}:00Z,e{k}" for k in range(300)]
    path.write_text("\n".join(lines) + "\n")
    report = training_data_import(path=path, chunk_size=40)
    assert report.inserted == 300
    assert kept_totals() == counted_totals() and len(kept_totals()) == 7
