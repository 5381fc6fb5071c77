"""Answers are dated from 1970 to 5 minutes past now, at every door: API ingest, file import, demo data."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from retraining import services
from training_data.errors import ImportFailed, InvalidAnswer
from training_data.fields import event_key
from training_data.models import TrainingData
from training_data.services import demo_data_generate, training_data_import

pytestmark = pytest.mark.django_db

GOOD = {"userId": "u1", "questionId": "q1", "correct": True, "eventId": "good"}


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+05:00",
        "0001-01-01",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59",
        1e12,
        1e20,
        "99999999999999",
        253402300800,
    ],
)
def test_ingest_refuses_times_outside_the_window_naming_the_row(api, ingester, timestamp):
    bad = {**GOOD, "eventId": "bad", "timestamp": timestamp}
    response = api(ingester).post("/api/training-data", [GOOD, bad])
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and [e["index"] for e in body["errors"]] == [1]
    assert "1970-01-01" in body["errors"][0]["error"] and "timestamp" in body["errors"][0]["error"]
    assert not TrainingData.objects.exists()


def test_ingest_refuses_a_time_in_the_future_and_accepts_the_edges(api, ingester):
    client = api(ingester)
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    assert client.post("/api/training-data", [{**GOOD, "timestamp": tomorrow}]).status_code == 400
    edges = [
        {**GOOD, "eventId": "epoch", "timestamp": "1970-01-01T00:00:00Z"},
        {**GOOD, "eventId": "epoch-seconds", "timestamp": 1},
        {**GOOD, "eventId": "now", "timestamp": timezone.now().isoformat()},
    ]
    assert client.post("/api/training-data", edges).status_code == 201
    stored = TrainingData.objects.get(event_key=event_key("epoch")).answered_at
    assert stored == datetime(1970, 1, 1, tzinfo=UTC)


def test_file_import_refuses_times_outside_the_window_with_the_line(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("user_id,question_id,correct,answered_at\nu1,q1,1,2024-01-01\nu2,q1,0,0001-01-01T00:00:00+05:00\n")
    with pytest.raises(ImportFailed, match=r"line 3: answered_at 0001-01-01.*1970-01-01.*nothing was imported"):
        training_data_import(path=path)
    assert not TrainingData.objects.exists()
    report = training_data_import(path=path, skip_invalid=True)
    assert report.inserted == 1 and report.invalid == 1


def test_demo_data_stays_inside_the_window():
    with pytest.raises(InvalidAnswer, match="1970-01-01"):
        demo_data_generate(users=2, questions=2, answers=10, seed=1, end=datetime(1970, 1, 10, tzinfo=UTC), days=30)
    with pytest.raises(InvalidAnswer, match="1970-01-01"):
        demo_data_generate(users=2, questions=2, answers=10, seed=1, end=timezone.now() + timedelta(days=2))
    assert not TrainingData.objects.exists()


@pytest.mark.postgres
def test_a_year_one_answer_cannot_break_retraining_or_the_answers_admin(api, ingester, admin_client, simulated):
    response = api(ingester).post("/api/training-data", [{**GOOD, "timestamp": "0001-01-01T00:00:00+05:00"}])
    assert response.status_code == 400
    assert services.retrain().version.status in ("deployed", "completed")
    assert admin_client.get("/admin/training_data/trainingdata/").status_code == 200
