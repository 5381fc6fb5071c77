"""Reads: versions, the production model, training status, and answers loaded into numpy."""

from __future__ import annotations

import gc
import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import numpy as np
from django.db import connection
from django.db.models import Count, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from training_data.models import TrainingData

from .cutoff import Cutoff
from .errors import VersionNotFound
from .models import Deployment, ModelVersion, TrainingLock

LOCK_NAME = "retrain"


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
    """Answers stored since the newest finished training started; None when there is none."""
    last = latest_trained_version()
    if last is None or last.training_started_at is None:
        return None
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


# ----------------------------------------------------------------------------- answers
def answers_queryset(
    *,
    limit: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    keys: Q | None = None,
) -> QuerySet[TrainingData]:
    """The answers a retrain uses: the most recent ``limit`` (answered_at, then id), answered on or
    after ``since`` and before ``until``, within ``keys`` (a range of answer keys, e.g. a cutoff's)."""
    answers = TrainingData.objects.order_by("-answered_at", "-id")
    if since is not None:
        answers = answers.filter(answered_at__gte=_moment(since))
    if until is not None:
        answers = answers.filter(answered_at__lt=_moment(until))
    if keys is not None:
        answers = answers.filter(keys)
    return answers[:limit] if limit else answers


def _moment(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class AnswerArrays:
    """Answers as parallel arrays, with the ids behind the dense user/question indices."""

    users: np.ndarray
    items: np.ndarray
    correct: np.ndarray
    user_ids: list[str]
    question_ids: list[str]
    modules: np.ndarray  # dense module codes; module_ids[k] is the module ("" when none was given)
    module_ids: list[str]
    difficulty_labels: np.ndarray  # per question; NaN where the app gave none
    first_answer_at: datetime | None
    last_answer_at: datetime | None
    digest: str
    ids: np.ndarray  # the answers' keys, row by row
    cutoff: Cutoff  # the newest answer among them (largest key) and its arrival time

    def __len__(self) -> int:
        return int(self.correct.size)

    def subset(self, rows: np.ndarray) -> AnswerArrays:
        """These answers restricted to ``rows`` (a mask or indices); ids lists, labels, cutoff kept."""
        return replace(
            self,
            users=self.users[rows],
            items=self.items[rows],
            correct=self.correct[rows],
            modules=self.modules[rows],
            ids=self.ids[rows],
        )


def answers_concat(parts: list[AnswerArrays]) -> AnswerArrays:
    """Several loads as one: users and questions re-encoded over all of them, first-seen order."""
    parts = [part for part in parts if len(part)] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    user_ids: dict = {}
    question_ids: dict = {}
    module_ids: dict = {}
    users, items, modules = [], [], []
    for part in parts:
        modules.append(
            np.array([module_ids.setdefault(m, len(module_ids)) for m in part.module_ids], np.int64)[part.modules]
        )
        users.append(np.array([user_ids.setdefault(u, len(user_ids)) for u in part.user_ids], np.int64)[part.users])
        items.append(
            np.array([question_ids.setdefault(q, len(question_ids)) for q in part.question_ids], np.int64)[part.items]
        )
    ids = np.concatenate([part.ids for part in parts])
    return AnswerArrays(
        users=np.concatenate(users),
        items=np.concatenate(items),
        correct=np.concatenate([part.correct for part in parts]),
        user_ids=list(user_ids),
        question_ids=list(question_ids),
        modules=np.concatenate(modules),
        module_ids=list(module_ids),
        difficulty_labels=np.full(len(question_ids), np.nan),
        first_answer_at=min(p.first_answer_at for p in parts),
        last_answer_at=max(p.last_answer_at for p in parts),
        digest=_digest(ids),
        ids=ids,
        cutoff=max((p.cutoff for p in parts), key=lambda c: (c.id or 0, c.at)),
    )


_FIELDS = ("id", "user_hash", "question_id", "correct", "module", "difficulty")


def answers_load(
    *,
    limit: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    keys: Q | None = None,
    with_labels: bool = True,
) -> AnswerArrays:
    """Load the selected answers straight into numpy arrays.

    On SQL backends the ORM's query runs on a raw cursor (no model instance or dict per row), with
    the garbage collector paused; ids are encoded in first-seen order with C-level dict calls.
    Timestamps are not loaded per row: only the first and last answers' are looked up; the app's
    difficulty labels only ``with_labels`` (the heuristic starts from them; IRT does not).
    """
    fields = _FIELDS if with_labels else _FIELDS[:-1]
    queryset = answers_queryset(limit=limit, since=since, until=until, keys=keys).values_list(*fields)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if connection.vendor in ("sqlite", "postgresql"):
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        else:
            rows = list(queryset)
        return _to_arrays(rows, with_labels)
    finally:
        if gc_was_enabled:
            gc.enable()


def answers_given(user_hashes, question_ids, correct, modules=None) -> AnswerArrays:
    """Answers that are not stored (a file's, say): no keys, so nothing is known of who trained on them.
    ``modules`` (one per answer) default to "" (no module)."""
    users, user_list = _encode(tuple(user_hashes))
    items, question_list = _encode(tuple(question_ids))
    module_codes, module_list = _encode(tuple(modules) if modules is not None else ("",) * users.size)
    empty = np.zeros(0, dtype=np.int64)
    return AnswerArrays(
        users=users,
        items=items,
        correct=np.fromiter(correct, np.int8, users.size),
        user_ids=user_list,
        question_ids=question_list,
        modules=module_codes,
        module_ids=module_list,
        difficulty_labels=np.full(len(question_list), np.nan),
        first_answer_at=None,
        last_answer_at=None,
        digest="",
        ids=empty,
        cutoff=Cutoff(None, None),
    )


def _encode(values: tuple) -> tuple[np.ndarray, list]:
    """Dense codes in first-seen order, and the distinct values in that order."""
    distinct = list(dict.fromkeys(values))
    index = {value: k for k, value in enumerate(distinct)}
    return np.fromiter(map(index.__getitem__, values), np.int64, len(values)), distinct


def _to_arrays(rows: list[tuple], with_labels: bool = True) -> AnswerArrays:
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return AnswerArrays(
            empty,
            empty,
            empty,
            [],
            [],
            empty,
            [],
            np.zeros(0),
            None,
            None,
            hashlib.sha256().hexdigest(),
            empty,
            Cutoff(None, None),
        )
    columns = zip(*rows, strict=True)
    ids, user_hashes, question_ids, correct = next(columns), next(columns), next(columns), next(columns)
    users, user_list = _encode(user_hashes)
    items, question_list = _encode(question_ids)
    modules, module_list = _encode(next(columns))
    outcome = np.fromiter(correct, np.int8, len(rows))
    labels = np.full(len(question_list), np.nan)
    if with_labels:
        given = np.array(next(columns), dtype=np.float64)  # None -> NaN
        labelled = np.flatnonzero(~np.isnan(given))[::-1]  # oldest first: the newest label is written last
        labels[items[labelled]] = given[labelled]
    key_array = np.fromiter(ids, np.int64, len(rows)) if isinstance(ids[0], int) else np.array(ids, dtype=object)
    newest = max(ids)
    ends = {
        pk: (answered, arrived)
        for pk, answered, arrived in TrainingData.objects.filter(pk__in=[ids[0], ids[-1], newest]).values_list(
            "pk", "answered_at", "created_at"
        )
    }
    return AnswerArrays(
        users=users,
        items=items,
        correct=outcome,
        user_ids=user_list,
        question_ids=question_list,
        modules=modules,
        module_ids=module_list,
        difficulty_labels=labels,
        first_answer_at=ends[ids[-1]][0],
        last_answer_at=ends[ids[0]][0],
        digest=_digest(key_array),
        ids=key_array,
        cutoff=Cutoff(newest if isinstance(newest, int) else None, ends[newest][1]),
    )


def _digest(ids: np.ndarray) -> str:
    """SHA-256 of the sorted answer keys: the same answers give the same digest, in any order."""
    if ids.dtype == np.int64:
        return hashlib.sha256(np.sort(ids).tobytes()).hexdigest()
    return hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest()  # e.g. MongoDB object ids


# ----------------------------------------------------------------------------- for the admin
def history_versions(limit: int = 30) -> list[ModelVersion]:
    """The newest finished versions, oldest first (for charts)."""
    return list(reversed(finished_versions()[:limit]))


def deployed_version_names() -> set[str]:
    return set(Deployment.objects.values_list("version__version", flat=True).distinct())


# ----------------------------------------------------------------------------- one learner
def _learner_counts_query(user_hashes: list[str]) -> QuerySet:
    return (
        TrainingData.objects.filter(user_hash__in=user_hashes)
        .values_list("user_hash", "question_id")
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
    return list(TrainingData.objects.filter(module=module).values_list("question_id", flat=True).distinct())
