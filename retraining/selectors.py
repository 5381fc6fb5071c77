"""Reads: versions, the production model, training status, and answers loaded into numpy."""

from __future__ import annotations

import numpy as np
from django.db import connection
from django.db.models import Count, IntegerField, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from training_data.models import Question, TrainingData

# The answers as numpy arrays live in their own module; reads of them are reached from here too.
from .answers import AnswerArrays, answers_concat, answers_given, answers_queryset
from .errors import VersionNotFound
from .loading import answers_load
from .models import Deployment, ModelVersion, TrainingLock

LOCK_NAME = "retrain"

__all__ = ["AnswerArrays", "answers_concat", "answers_given", "answers_load", "answers_queryset"]


def production_version() -> ModelVersion | None:
    """The serving version (its row: summaries, metrics, config, decision, lineage)."""
    return ModelVersion.objects.filter(is_production=True).first()


SUMMARY_KEYS = ("difficulty", "abilityEstimates", "discrimination")


def parameter_summaries(version: ModelVersion) -> dict:
    """The seed's parameter summaries (kept in the version row)."""
    summaries = version.summaries or {}
    return {key: summaries[key] for key in SUMMARY_KEYS if key in summaries}


def version_get(identifier: str | int) -> ModelVersion:
    """A version by its name ("v2") or its primary key; :class:`VersionNotFound` otherwise."""
    text = str(identifier).strip()
    if not text or len(text) > 64 or not text.isprintable():
        # No stored name is like that; a NUL would even be refused by PostgreSQL as an error.
        raise VersionNotFound(f"Model version {text[:64]!r} not found: use a name like v2 or a primary key")
    versions = ModelVersion.objects.all()
    version = versions.filter(version=text).first()
    if version is None and text.isascii() and text.isdigit() and len(text) < 19:
        version = versions.filter(pk=int(text)).first()
    if version is None:
        raise VersionNotFound(f'Model version "{text}" not found')
    return version


def versions_list(*, status: str | None = None) -> QuerySet[ModelVersion]:
    """Versions, newest first, optionally of one status."""
    versions = ModelVersion.objects.order_by("-number")
    return versions.filter(status=status) if status else versions


def finished_versions() -> QuerySet[ModelVersion]:
    """Versions whose training ended with a model, newest first."""
    return versions_list().finished()


def latest_trained_version() -> ModelVersion | None:
    """The newest version whose training finished (failed runs excluded)."""
    return finished_versions().first()


def new_answers_count() -> int | None:
    """Answers stored after the newest finished training's cutoff (its newest answer; before
    cutoffs were recorded: since it started); None when there is none."""
    last = latest_trained_version()
    if last is None or last.training_started_at is None:
        return None
    if last.cutoff.known:
        return TrainingData.objects.filter(last.cutoff.after()).count()  # a key range: the primary key's index
    return TrainingData.objects.filter(created_at__gte=last.training_started_at).count()


def training_status() -> dict:
    """isTraining, currentVersion (production), and while training: version, progress, startedAt."""
    lock = (
        TrainingLock.objects.filter(name=LOCK_NAME)
        .values("acquired_at", "expires_at", "progress", "version__version")
        .first()
    )
    current = ModelVersion.objects.filter(is_production=True).values_list("version", flat=True).first()
    status = {"isTraining": lock is not None, "currentVersion": current}
    if lock is not None:
        status.update(
            {
                "trainingVersion": lock["version__version"],
                "progress": lock["progress"],
                "startedAt": lock["acquired_at"],
                "leaseExpiresAt": lock["expires_at"],
                "stale": lock["expires_at"] <= timezone.now(),
            }
        )
    return status


# ----------------------------------------------------------------------------- for the admin
def history_versions(limit: int = 30) -> list[ModelVersion]:
    """The newest finished versions, oldest first (for charts)."""
    return list(reversed(finished_versions()[:limit]))


def deployed_version_names() -> set[str]:
    return set(Deployment.objects.values_list("version__version", flat=True).distinct())


# ----------------------------------------------------------------------------- one learner
def _learner_counts_query(user_hashes: list[str]) -> QuerySet:
    # Answers are found by learner key in the covering index (learner, question, correct): the
    # table itself is not read; each question's id comes from its own small table.
    return (
        TrainingData.objects.filter(learner__hash__in=user_hashes)
        .values_list("learner__hash", "question__question_id")
        .annotate(answers=Count("*"), right=Sum(Cast("correct", IntegerField())))
        .order_by()
    )


# Compiled SQL of the one-learner read, per database: building it through the ORM costs more
# than running it, and every serving request makes it.
_one_learner_sql: dict[str, str] = {}


def learner_answer_counts(user_hashes) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per learner: the questions they answered, how many times, and how many times right.

    One grouped query through the index on the learner; learners without answers are absent.
    """
    user_hashes = list(user_hashes)
    if connection.vendor in ("sqlite", "postgresql"):
        if len(user_hashes) == 1:
            if connection.alias not in _one_learner_sql:
                _one_learner_sql[connection.alias] = _learner_counts_query(["-"]).query.sql_with_params()[0]
            sql, params = _one_learner_sql[connection.alias], user_hashes
        else:
            sql, params = _learner_counts_query(user_hashes).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        rows = list(_learner_counts_query(user_hashes))
    grouped: dict[str, list] = {}
    for user_hash, question_id, answers, right in rows:
        grouped.setdefault(user_hash, []).append((question_id, answers, right))
    return {
        user_hash: (
            [question for question, _, _ in entries],
            np.fromiter((n for _, n, _ in entries), np.float64, len(entries)),
            np.fromiter((r for _, _, r in entries), np.float64, len(entries)),
        )
        for user_hash, entries in grouped.items()
    }


def module_question_ids(module: str) -> list[str]:
    """The questions answered under ``module``, in no particular order."""
    return list(Question.objects.filter(module=module).values_list("question_id", flat=True).distinct())
