"""User ids are stored only as keyed HMAC-SHA256 hashes."""

import hashlib
import hmac

import pytest
from django.db import connection

from training_data.anonymise import hash_user_id
from training_data.models import Learner, Question, TrainingData


def test_hash_is_hmac_sha256_with_the_key(settings):
    settings.TRAINING_DATA_HASH_KEY = "k1"
    expected = hmac.new(b"k1", b"learner-42", hashlib.sha256).hexdigest()
    assert hash_user_id("learner-42") == expected
    assert hash_user_id("learner-42") == hash_user_id("learner-42")
    assert hash_user_id(42) == hash_user_id("42")


def test_hash_depends_on_the_key(settings):
    settings.TRAINING_DATA_HASH_KEY = "k1"
    first = hash_user_id("learner-42")
    settings.TRAINING_DATA_HASH_KEY = "k2"
    assert hash_user_id("learner-42") != first
    assert hash_user_id("learner-42") != hashlib.sha256(b"learner-42").hexdigest()


@pytest.mark.django_db
def test_raw_ids_never_reach_the_table(add_answers):
    add_answers([("alice@example.com", "q1", 1), ("bob-7731", "q2", 0)])
    stored = ""
    with connection.cursor() as cursor:
        for model in (TrainingData, Learner, Question):  # every table an answer writes to
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")
            stored += " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert "alice" not in stored and "bob-7731" not in stored
    assert hash_user_id("alice@example.com") in stored
