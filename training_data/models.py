from django.db import models
from django.utils import timezone


class TrainingData(models.Model):
    """One anonymised answer of a learner to a question."""

    user_hash = models.CharField(
        max_length=64, help_text="Keyed HMAC-SHA256 of the app's user id; the raw id is never stored."
    )
    question_id = models.CharField(max_length=255)
    module = models.CharField(max_length=255, blank=True, default="")
    difficulty = models.FloatField(null=True, blank=True, help_text="Difficulty as the app labelled it, if any.")
    correct = models.BooleanField()
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField()
    event_id = models.CharField(
        max_length=255, unique=True, help_text="Client-supplied id of the answer event: retries never duplicate it."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "answer"
        verbose_name_plural = "answers"
        indexes = [
            # "The most recent N answers" (ordered by answered_at DESC, id DESC) and "since a date".
            models.Index(fields=["answered_at", "id"], name="trainingdata_answered_idx"),
            # "How many answers arrived since the last training run".
            models.Index(fields=["created_at"], name="trainingdata_created_idx"),
            models.Index(fields=["question_id"], name="trainingdata_question_idx"),
            # One learner's answers, read on every live-ability request between retrains.
            models.Index(fields=["user_hash"], name="trainingdata_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id} {'right' if self.correct else 'wrong'} ({self.user_hash[:8]})"
