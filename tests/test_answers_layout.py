"""How answers are indexed (training_data 0004 on PostgreSQL; the model's B-trees elsewhere): the same
answers found, in the same order, and the event key still unique, whichever structure serves them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from retraining import loading
from retraining.answers import answers_queryset
from retraining.loading import answers_load
from training_data.fields import event_key
from training_data.models import Learner, TrainingData
from training_data.services import answers_insert

CHANGELIST = "/admin/training_data/trainingdata/"
START = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


def rows_over_days(count, *, prefix="e"):
    """Answers every 37 minutes from START (several per UTC day, crossing midnights), stored out of time order."""
    now = timezone.now()
    order = sorted(range(count), key=lambda k: (k * 7919) % count)
    return [
        (
            f"{k % 5:x}a" * 32,
            f"q{k % 3}",
            "",
            None,
            k % 2 == 0,
            100,
            START + timedelta(minutes=37 * k),
            f"{prefix}-{k}",
            now,
        )
        for k in order
    ]


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'training_data_trainingdata'")
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_newest_first_is_answered_at_then_key_descending():
    answers_insert(rows_over_days(200))
    answers_insert([(*row[:6], START + timedelta(minutes=37 * 50), f"same-moment-{k}", row[8]) for k, row in
                    enumerate(rows_over_days(3))])  # fmt: skip
    expected = sorted(TrainingData.objects.values_list("answered_at", "id"), reverse=True)
    assert list(answers_queryset().values_list("answered_at", "id")) == expected
    assert list(answers_queryset(limit=25).values_list("answered_at", "id")) == expected[:25]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [None, 203, 500, 25, 1])
@pytest.mark.parametrize("with_labels", [False, True])
@pytest.mark.parametrize("one_row", [loading.ONE_ROW, 20])
def test_loaded_arrays_are_the_selection_newest_first(limit, with_labels, one_row, monkeypatch):
    """The loader reads the whole selection in table order and sorts it itself when it fits the
    limit, asks the database for the newest ``limit`` otherwise, and past ``ONE_ROW`` answers
    (20 here: PostgreSQL) streams them row by row: the same rows every way."""
    if one_row != loading.ONE_ROW and connection.vendor != "postgresql":
        pytest.skip("ONE_ROW applies to PostgreSQL's loader only")
    monkeypatch.setattr(loading, "ONE_ROW", one_row)
    answers_insert(rows_over_days(200))
    same = START + timedelta(minutes=37 * 50)  # three answers at one moment; two labels for q9
    answers_insert([(row[0], "q9", "", 0.25 * k, *row[4:6], same, f"same-moment-{k}", row[8])
                    for k, row in enumerate(rows_over_days(3))])  # fmt: skip
    data = answers_load(limit=limit, with_labels=with_labels)
    fields = ("id", "learner__hash", "question__question_id", "correct")
    expected = list(answers_queryset(limit=limit).values_list(*fields))
    got = [
        (key, data.user_ids[user], data.question_ids[item], bool(right))
        for key, user, item, right in zip(data.ids.tolist(), data.users, data.items, data.correct, strict=True)
    ]
    assert got == expected
    labelled = [q for q, label in zip(data.question_ids, data.difficulty_labels, strict=True) if label == label]
    if with_labels and (limit is None or limit > 200):  # the newest answer's label: same moment, larger key
        assert labelled == ["q9"] and data.difficulty_labels[data.question_ids.index("q9")] == 0.5
    else:
        assert labelled == []
    assert data.cutoff.id == max(key for key, *_ in expected)


@pytest.mark.django_db
def test_an_empty_selection_loads_as_empty_arrays():
    answers_insert(rows_over_days(5))
    data = answers_load(since=START + timedelta(days=30), with_labels=True)
    assert len(data) == 0 and data.ids.size == 0 and data.user_ids == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("since", "until"),
    [
        (START + timedelta(hours=5, minutes=3), None),
        (None, START + timedelta(days=2, hours=1)),
        (START + timedelta(hours=3), START + timedelta(days=1, hours=23, minutes=59)),
        (datetime(2026, 3, 3, tzinfo=UTC).date(), datetime(2026, 3, 4, tzinfo=UTC).date()),
    ],
)
def test_time_windows_keep_exactly_the_answers_inside(since, until):
    answers_insert(rows_over_days(200))
    low = since if isinstance(since, datetime) else since and datetime(since.year, since.month, since.day, tzinfo=UTC)
    high = until if isinstance(until, datetime) else until and datetime(until.year, until.month, until.day, tzinfo=UTC)
    inside = [
        (at, key)
        for at, key in TrainingData.objects.values_list("answered_at", "id")
        if (low is None or at >= low) and (high is None or at < high)
    ]
    assert 0 < len(inside) < 200
    got = list(answers_queryset(since=since, until=until).values_list("answered_at", "id"))
    assert got == sorted(inside, reverse=True)


@pytest.mark.django_db
def test_every_comparison_of_answered_at_keeps_exactly_its_answers():
    answers_insert(rows_over_days(100))
    times = list(TrainingData.objects.values_list("answered_at", flat=True))
    edge = sorted(times)[41]  # an answer's own moment: the boundary itself is in or out as asked
    for lookup, keep in [("gt", edge.__lt__), ("gte", edge.__le__), ("lt", edge.__gt__), ("lte", edge.__ge__)]:
        assert TrainingData.objects.filter(**{f"answered_at__{lookup}": edge}).count() == sum(map(keep, times))


@pytest.mark.django_db
def test_a_repeated_event_is_skipped_within_a_batch_and_across_batches():
    rows = rows_over_days(10)
    assert answers_insert(rows + rows[:3]) == 10
    assert answers_insert(rows_over_days(12)) == 2
    assert TrainingData.objects.count() == 12
    stored = TrainingData.objects.first()
    copy = TrainingData(
        **{f.attname: getattr(stored, f.attname) for f in TrainingData._meta.concrete_fields if not f.primary_key}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()  # the ORM's own path, e.g. the admin: the database refuses the duplicate
    TrainingData.objects.bulk_create([copy], ignore_conflicts=True)  # Django's "skip duplicates"
    assert TrainingData.objects.count() == 12


@pytest.mark.django_db
def test_admin_lists_newest_first_and_finds_learners_by_hash_prefix(admin_client):
    answers_insert(rows_over_days(60))
    page = admin_client.get(CHANGELIST)
    listed = [row.pk for row in page.context["cl"].result_list]
    assert listed == list(TrainingData.objects.order_by("-answered_at", "-id").values_list("pk", flat=True)[:50])
    learner = Learner.objects.order_by("hash").last()
    found = admin_client.get(CHANGELIST, {"q": learner.hash[:8].upper()}).context["cl"]
    assert {row.learner_id for row in found.result_list} == {learner.pk}
    assert found.result_count == TrainingData.objects.filter(learner=learner).count()
    assert admin_client.get(CHANGELIST, {"q": "zzzzzzzz"}).context["cl"].result_count == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_layout_moves_existing_answers_and_goes_back():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("training_data")
    executor.migrate([("training_data", "0003_normalised_answers")])
    assert "training_data_answer_pkey" in _indexes()  # the B-tree layout, with answers stored in it
    answers_insert(rows_over_days(50))
    before = sorted(TrainingData.objects.values_list("id", "answered_at", "learner_id", "question_id", "correct"))

    MigrationExecutor(connection).migrate(latest)
    indexes = _indexes()
    assert set(indexes) == {
        "answers_answered_idx",
        "answers_event_key_unique",
        "answers_id_brin",
        "answers_learner_idx",
    }
    assert "date_trunc('day'" in indexes["answers_answered_idx"] and "USING gin" in indexes["answers_learner_idx"]
    assert (
        sorted(TrainingData.objects.values_list("id", "answered_at", "learner_id", "question_id", "correct")) == before
    )
    assert answers_insert(rows_over_days(51)) == 1  # old events are still known; the new one continues the keys
    assert TrainingData.objects.get(event_key=event_key("e-50")).pk > max(row[0] for row in before)

    MigrationExecutor(connection).migrate([("training_data", "0003_normalised_answers")])
    assert {"training_data_answer_pkey", "training_data_answer_event_key_key"} <= set(_indexes())
    assert TrainingData.objects.count() == 51
    MigrationExecutor(connection).migrate(latest)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_bulk_load_leaves_every_key_range_summarized(tmp_path):
    from training_data.services import demo_data_generate, training_data_import

    def unsummarized() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT brin_summarize_new_values('answers_id_brin')")  # summarizes what was left
            return cursor.fetchone()[0]

    demo_data_generate(users=50, questions=20, answers=6000, seed=3)
    assert unsummarized() == 0
    answers = tmp_path / "answers.csv"
    answers.write_text("user_id,question_id,correct\n" + "".join(f"u{k},q{k % 9},1\n" for k in range(4000)))
    training_data_import(path=answers)
    assert unsummarized() == 0
    assert TrainingData.objects.count() == 10_000
