"""Rules the database itself enforces, whatever code writes to it."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from retraining.models import ModelVersion
from training_data.fields import event_key
from training_data.models import Learner, Question, TrainingData


def make_version(number, **fields):
    return ModelVersion.objects.create(version=f"v{number}", number=number, **fields)


@pytest.mark.django_db
def test_a_second_production_row_is_rejected_by_the_database():
    make_version(1, status="deployed", is_production=True)
    second = make_version(2, status="completed")
    with pytest.raises(IntegrityError), transaction.atomic():
        # A raw UPDATE bypasses every Python check: only the constraint can refuse it.
        ModelVersion.objects.filter(pk=second.pk).update(status="deployed", is_production=True)
    assert ModelVersion.objects.filter(is_production=True).count() == 1


@pytest.mark.django_db
def test_production_must_be_deployed():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_version(1, status="archived", is_production=True)


@pytest.mark.django_db
def test_version_names_are_unique():
    make_version(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version="v1", number=2)


@pytest.mark.django_db
def test_event_ids_are_unique():
    learner, question = Learner.objects.create(hash="h"), Question.objects.create(question_id="q")
    fields = {"learner": learner, "question": question, "correct": True, "answered_at": timezone.now()}
    TrainingData.objects.create(event_key=event_key("e1"), **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingData.objects.create(event_key=event_key("e1"), **fields)
    TrainingData.objects.create(event_key=event_key("e2"), **fields)
    assert TrainingData.objects.count() == 2
