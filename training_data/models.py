from django.conf import settings
from django.db import models
from django.utils import timezone

from .fields import TimestampField
from .recency import day_bounded

# Learners and questions get 4-byte keys on SQL databases (each answer references both: PostgreSQL
# packs them in 8 bytes instead of 16); MongoDB keeps its ObjectId keys (DEFAULT_AUTO_FIELD there).
SMALL_KEYS = not settings.DEFAULT_AUTO_FIELD.endswith("ObjectIdAutoField")


class Learner(models.Model):
    """A learner, known only by the keyed hash of the app's user id; stored once, referenced by key."""

    if SMALL_KEYS:
        id = models.AutoField(primary_key=True)
    hash = models.CharField(
        max_length=64, unique=True, help_text="Keyed HMAC-SHA256 of the app's user id; the raw id is never stored."
    )

    def __str__(self) -> str:
        return self.hash[:10]


class Question(models.Model):
    """The app's question id and the module it was answered under; stored once, referenced by key."""

    if SMALL_KEYS:
        id = models.AutoField(primary_key=True)
    question_id = models.CharField(max_length=255)
    module = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question_id", "module"], name="question_id_module_unique")]

    def __str__(self) -> str:
        return f"{self.question_id} ({self.module})" if self.module else self.question_id


class TrainingData(models.Model):
    """One anonymised answer of a learner to a question: keys and what is per answer only.

    Fields are declared widest first, so that PostgreSQL packs the row without alignment padding.
    The indexes below are SQLite's (and the model state's); PostgreSQL plays the same roles with
    smaller structures (:mod:`training_data.postgresql_layout`).
    """

    answered_at = TimestampField()
    created_at = TimestampField(default=timezone.now, editable=False)
    difficulty = models.FloatField(null=True, blank=True, help_text="Difficulty as the app labelled it, if any.")
    # No index of their own: the covering index below starts with the learner, and the admin's
    # question search goes through the ordered index (see README, "Scale").
    # No foreign-key constraint on PostgreSQL: it checks one with a trigger per inserted answer (a
    # third of a bulk insert's time). Migration 0005 holds the same integrity per statement there: an
    # answer whose learner or question is missing is refused, and deleting a learner or question that
    # has answers fails (PROTECT, also in the database). SQLite keeps its (cheap, deferred) constraint.
    learner = models.ForeignKey(
        Learner, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="answers"
    )
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="answers"
    )
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    correct = models.BooleanField()
    event_key = models.BinaryField(
        max_length=16,
        unique=True,
        help_text="First 16 bytes of SHA-256 of the client's eventId: retries never duplicate an answer.",
    )

    class Meta:
        verbose_name = "answer"
        verbose_name_plural = "answers"
        indexes = [
            # "The most recent N answers" (answered_at DESC, id DESC), "since a date", the admin's list.
            models.Index(fields=["answered_at"], name="answers_answered_idx"),
            # Live ability: one learner's (question, correct) pairs and keys, from the index alone on SQLite.
            models.Index(fields=["learner", "question", "correct"], name="answers_learner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.question.question_id} {'right' if self.correct else 'wrong'} ({self.learner.hash[:8]})"

    @property
    def user_hash(self) -> str:
        return self.learner.hash

    @property
    def module(self) -> str:
        return self.question.module


# Ranges of answered_at are also bounded by day on PostgreSQL, where the index holds the day.
day_bounded(TrainingData._meta.get_field("answered_at"))
