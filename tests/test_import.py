"""import_training_data: both layouts, idempotent, all-or-nothing, --skip-invalid."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import SHARED
from training_data.anonymise import hash_user_id
from training_data.fields import event_key
from training_data.models import TrainingData

OURS = """user_id,question_id,correct,answered_at,module,response_time_ms,difficulty,event_id
u1,q1,1,2026-01-05T10:00:00Z,algebra,1200,0.5,e-1
u1,q2,0,2026-01-05T10:01:00,algebra,,,e-2
u2,q1,true,2026-01-06,geometry,900,-1,
"""

ASSISTMENTS = (
    "user_id\titem_id\ttimestamp\tcorrect\tskill_id\n0\t12661\t0\t0\t143\n0\t12685\t0\t1\t143\n7\t12661\t0\t1\t9\n"
)


def run_import(path, *args):
    out = StringIO()
    call_command("import_training_data", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_our_layout(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text(OURS)
    assert "Imported 3 answers" in run_import(path)
    first = TrainingData.objects.get(event_key=event_key("e-1"))
    assert (first.question.question_id, first.module, first.correct, first.response_time_ms, first.difficulty) == (
        "q1",
        "algebra",
        True,
        1200,
        0.5,
    )
    assert first.user_hash == hash_user_id("u1")
    assert first.answered_at.isoformat() == "2026-01-05T10:00:00+00:00"
    third = TrainingData.objects.get(learner__hash=hash_user_id("u2"))
    assert third.correct is True
    line = "u2,q1,true,2026-01-06,geometry,900,-1,"  # no event id: one derived from line 4
    assert third.event_key == event_key("import-" + hashlib.sha256(f"4\x1f{line}".encode()).hexdigest()[:40])


@pytest.mark.django_db
def test_assistments_layout(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text(ASSISTMENTS)
    assert "assistments layout" in run_import(path)
    rows = TrainingData.objects.order_by("id")
    assert [(r.question.question_id, r.module, r.correct) for r in rows] == [
        ("12661", "143", False),
        ("12685", "143", True),
        ("12661", "9", True),
    ]


@pytest.mark.django_db
def test_reimport_adds_nothing(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text(OURS)
    run_import(path)
    ids = set(TrainingData.objects.values_list("event_key", flat=True))
    output = run_import(path)
    assert "Imported 0 answers" in output and "3 already present" in output
    assert set(TrainingData.objects.values_list("event_key", flat=True)) == ids


@pytest.mark.django_db
def test_a_bad_row_in_the_middle_leaves_nothing(tmp_path):
    path = tmp_path / "answers.csv"
    lines = ["user_id,question_id,correct"] + [f"u{k},q{k % 7},1" for k in range(30_000)]
    lines[20_000] = "u9,q1,maybe"  # after a full chunk has been written
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match=r"line 20001: correct must be 0 or 1.*nothing was imported"):
        run_import(path)
    assert TrainingData.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_imports_the_rest_and_counts(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("user_id,question_id,correct\nu1,q1,1\nu2,,1\nu3,q3,2\nu4,q4,0\n")
    output = run_import(path, "--skip-invalid")
    assert "Imported 2 answers" in output and "2 invalid" in output
    assert "question_id is missing" in output and "correct must be 0 or 1" in output
    assert TrainingData.objects.count() == 2


@pytest.mark.django_db
def test_clear_errors_for_unusable_files(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "missing.csv")
    odd = tmp_path / "odd.csv"
    odd.write_text("learner,answer\n1,2\n")
    with pytest.raises(CommandError, match="unknown header"):
        run_import(odd)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user_id,question_id,correct\nJos\xe9,q1,1\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        run_import(latin)
    future = tmp_path / "future.csv"
    future.write_text("user_id,question_id,correct,answered_at\nu1,q1,1,2999-01-01\n")
    with pytest.raises(CommandError, match="in the future"):
        run_import(future)
    assert TrainingData.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.skipif(not (SHARED / "datasets/assistments09/train.tsv").exists(), reason="shared dataset absent")
def test_assistments09_train_file():
    path = SHARED / "datasets/assistments09/train.tsv"
    assert "Imported 220070 answers" in run_import(path)
    assert TrainingData.objects.count() == 220_070
    assert "Imported 0 answers" in run_import(path)
    assert TrainingData.objects.count() == 220_070
