"""Reads: versions, the production model, training status, and answers loaded into numpy."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, IntegerField, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from common import sql
from training_data.models import Learner, Question, TrainingData
from training_data.postgresql_layout import LEARNER_TOTALS

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
def _learner_groups_query(user_hashes: list[str]) -> QuerySet:
    # Answers are found by learner key in the index on the learner; each question's id and module
    # come from its own small table.
    return (
        TrainingData.objects.filter(learner__hash__in=user_hashes)
        .values_list("learner__hash", "question__question_id", "question__module")
        .annotate(answers=Count("*"), right=Sum(Cast("correct", IntegerField())))
        .order_by()
    )


def learner_answer_groups(user_hashes) -> dict[str, list[tuple[str, str, int, int]]]:
    """Per learner: (question id, module, answers, right answers) of each question they answered.

    One grouped query through the index on the learner; learners without answers are absent.
    """
    query = _learner_groups_query(list(user_hashes))
    rows = sql.fetch_all(*query.query.sql_with_params()) if sql.compiled() else list(query)
    grouped: dict[str, list] = {}
    for user_hash, question_id, module, answers, right in rows:
        grouped.setdefault(user_hash, []).append((question_id, module, int(answers), int(right)))
    return grouped


def learner_answers_after(
    user_hash: str, after: int, known: tuple[int, int] | None = None
) -> tuple[tuple[int, int, int], list[tuple]]:
    """A learner's answers with a key above ``after``, per question: (question id, module, answers,
    right answers, sum of their keys); and, from the same statement (one snapshot), the count and
    the sum of the keys of all their answers, and the largest key above ``after`` (``after`` when
    there is none). With ``known`` (a count and key sum), the newer answers are read only when the
    totals differ from it: an unchanged learner costs no read of their answers, since the learner's
    row keeps the totals.
    Compiled SQL only (see common.sql)."""
    _, totals, rows = _answers_after(None, user_hash, after, known)
    return totals, rows


def row_and_learner_answers_after(
    row_query: tuple[str, list, int], user_hash: str, after: int, known: tuple[int, int] | None = None
) -> tuple[tuple, tuple[int, int, int], list[tuple]]:
    """:func:`learner_answers_after`, and first the row of ``row_query`` (the SQL, parameters and
    number of columns of a query finding at most one row, e.g. which version serves; all None when
    it finds none), read by the same statement: one round trip for both."""
    return _answers_after(row_query, user_hash, after, known)


def _answers_after(row_query, user_hash: str, after: int, known: tuple[int, int] | None):
    count, key_sum, last = 0, 0, after
    rows = []
    found = None
    known_count, known_sum = known if known is not None else (-1, -1)  # never a learner's totals
    # All of them (after 0): a statement without the key range, whose plan (made once, for any
    # parameters, see common.sql) need not be the one that finds a few newer answers.
    newer = after > 0
    query, params, width = row_query if row_query is not None else ("", [], 0)
    text = sql.statement(("learner answers", newer, query), lambda: _answers_after_sql(width, query, newer))
    for question_id, module, answers, keys, largest, right, *row in sql.fetch_all(
        text, [*params, user_hash, *([after] if newer else []), known_count, known_sum]
    ):
        if question_id is None:
            count, key_sum = int(answers), int(keys)
            found = tuple(row)
        else:
            rows.append((question_id, module, int(answers), int(right), int(keys)))
            last = max(last, int(largest))
    return found, (count, key_sum, last), rows


def _answers_after_sql(width: int, row_query: str = "", newer: bool = True) -> str:
    """The totals row (question id NULL) and the newer answers grouped by question, in one UNION ALL;
    the second part reads answers only when the totals are not the ones given. With
    ``row_query`` (``width`` columns), its row's columns follow the totals (NULL on the other rows).
    Without ``newer``, all the answers (no key parameter)."""
    answers, key, learner_key = (
        sql.table(TrainingData),
        sql.quoted(TrainingData, "id"),
        sql.quoted(TrainingData, "learner"),
    )
    where = f"FROM {sql.table(Learner)} WHERE {sql.quoted(Learner, 'hash')} = %s"
    question_id, module = sql.quoted(Question, "question_id"), sql.quoted(Question, "module")
    correct = sql.quoted(TrainingData, "correct")
    names = [f"c{k}" for k in range(width)]
    found = f"found ({', '.join(names)}) AS ({row_query}), " if width else ""
    # The row's columns joined once (one row, or NULLs when none): a scalar subquery per column
    # cost 8 us on SQLite, 24 us on PostgreSQL, for the token's user with which version serves.
    found_columns = "".join(f", {name}" for name in names)
    with_found = " LEFT JOIN found ON 1 = 1" if width else ""
    nulls = ", NULL" * width
    newer_than = f"a.{key} > %s AND " if newer else ""
    changed = "EXISTS (SELECT 1 FROM totals WHERE answers <> %s OR keys <> %s)"
    # The learner row keeps the totals (training_data 0006 on PostgreSQL, 0007 on SQLite).
    learner = f"learner (id, answers, keys) AS (SELECT {sql.quoted(Learner, 'id')}, {LEARNER_TOTALS} {where})"
    totals = "SELECT COALESCE((SELECT answers FROM learner), 0), COALESCE((SELECT keys FROM learner), 0)"
    if connection.vendor == "postgresql":  # a condition on the totals alone is tested once, before any answer is read
        newer_answers = f"{newer_than}a.{learner_key} = (SELECT id FROM learner) AND {changed}"
    else:
        # SQLite would test it on each of the learner's index entries: it goes into the key the
        # index search starts from, and with no key no entry is read.
        newer_answers = f"{newer_than}a.{learner_key} = (SELECT id FROM learner WHERE {changed})"
    return (
        f"WITH {found}{learner}, totals (answers, keys) AS ({totals})"
        f" SELECT NULL, NULL, answers, keys, NULL, NULL{found_columns} FROM totals{with_found}"
        f" UNION ALL SELECT q.{question_id}, q.{module}, COUNT(*), SUM(a.{key}), MAX(a.{key}),"
        f" SUM(CASE WHEN a.{correct} THEN 1 ELSE 0 END){nulls} FROM {answers} a JOIN {sql.table(Question)} q"
        f" ON q.{sql.quoted(Question, 'id')} = a.{sql.quoted(TrainingData, 'question')}"
        f" WHERE {newer_answers} GROUP BY q.{question_id}, q.{module}"
    )


def question_modules(question_ids) -> dict[str, str]:
    """The module each question is stored under, for those stored under exactly one."""
    modules: dict[str, set[str]] = {}
    for question_id, module in Question.objects.filter(question_id__in=list(question_ids)).values_list(
        "question_id", "module"
    ):
        modules.setdefault(question_id, set()).add(module)
    return {question_id: found.pop() for question_id, found in modules.items() if len(found) == 1}


def module_question_ids(module: str) -> list[str]:
    """The questions answered under ``module``, in no particular order."""
    return list(Question.objects.filter(module=module).values_list("question_id", flat=True).distinct())
