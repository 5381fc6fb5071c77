"""Answers as numpy arrays: the selection a retrain uses, the arrays, and joining loads.

Loading them from the database is :mod:`retraining.loading`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import numpy as np
from django.db.models import Q, QuerySet

from training_data.models import TrainingData
from training_data.recency import newest_first

from .cutoff import Cutoff


def answers_queryset(
    *,
    limit: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    keys: Q | None = None,
) -> QuerySet[TrainingData]:
    """The answers a retrain uses: the most recent ``limit`` (answered_at, then id), answered on or
    after ``since`` and before ``until``, within ``keys`` (a range of answer keys, e.g. a cutoff's)."""
    answers = TrainingData.objects.order_by(*newest_first())
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


def _encode(values) -> tuple[np.ndarray, list]:
    """Dense codes in first-seen order, and the distinct values in that order."""
    values = tuple(values)
    distinct = list(dict.fromkeys(values))
    index = {value: k for k, value in enumerate(distinct)}
    return np.fromiter(map(index.__getitem__, values), np.int64, len(values)), distinct


def _digest(ids: np.ndarray) -> str:
    """SHA-256 of the sorted answer keys: the same answers give the same digest, in any order."""
    if ids.dtype == np.int64:
        return hashlib.sha256(np.sort(ids).tobytes()).hexdigest()
    return hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest()  # e.g. MongoDB object ids
