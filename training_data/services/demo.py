"""Demo answers drawn from a known 2PL model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from retraining.irt import draw_answers

from ..anonymise import hash_user_id
from ..fields import event_key
from ..postgresql_layout import answer_keys_summarize, learner_totals_deferred
from ..validation import answered_at_check
from .insert import answers_store, learner_keys, question_keys


@dataclass
class DemoTruth:
    ability: dict
    difficulty: dict
    discrimination: dict
    module_deviation: dict = field(default_factory=dict)  # user -> module -> deviation (with module_sd)


MODULES = ("algebra", "geometry", "statistics", "grammar", "vocabulary", "reading")


def demo_data_generate(
    *,
    users: int,
    questions: int,
    answers: int,
    seed: int,
    end: datetime | None = None,
    days: int = 28,
    module_sd: float = 0.0,
) -> tuple[int, DemoTruth]:
    """Answers drawn from a known 2PL model; returns (answers inserted, the true parameters).

    Abilities ~ N(0, 1); difficulties ~ N(0, 1.5^2); discriminations log-normal around 1.5.
    With ``module_sd`` > 0 a learner's ability in each module deviates from their overall one by
    N(0, module_sd^2) (what ``irt-2pl-modules`` models); 0 leaves the answers of a seed unchanged.
    Each user's answers are spread, in order, over the ``days`` before ``end`` (default: today,
    midnight UTC, so a seed gives the same rows all day). Event ids derive from the seed: running
    it twice adds nothing.
    """
    if min(users, questions, answers) < 1:
        raise ValueError("users, questions and answers must all be at least 1")
    if not 0 <= module_sd <= 5:
        raise ValueError(f"module_sd must be between 0 and 5, got {module_sd}")
    if days < 0:
        raise ValueError("days must not be negative")
    rng = np.random.default_rng(seed)  # every draw below comes from it, in this order
    model = _DemoModel.draw(rng, users, questions)
    drawn = _draw_answers(rng, model, answers, seed=seed, module_sd=module_sd)
    now = timezone.now()
    end = end or now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Every answer lies between start and end: checking both keeps all of them in the window.
    start = answered_at_check(end - timedelta(days=days), now=now)
    answered_at_check(end, now=now)
    offsets = rng.random(answers) * days * 86400.0
    # user_of is sorted: ordering by (user, time) keeps each user's answers in time order.
    offsets = offsets[np.lexsort((offsets, drawn.user_of))]
    inserted = 0
    with transaction.atomic(), learner_totals_deferred():  # the learners' rows locked at the end only
        for rows in _stored_rows(model, drawn, offsets, start=start, now=now, seed=seed):
            inserted += answers_store(rows)
    answer_keys_summarize()
    return inserted, model.truth(drawn.deviation if module_sd else None)


@dataclass
class _DemoModel:
    """The true 2PL: abilities, items and their modules, and the app's (noisy) difficulty labels."""

    theta: np.ndarray
    b: np.ndarray
    a: np.ndarray
    question_module: np.ndarray
    labelled: np.ndarray
    label: np.ndarray

    @classmethod
    def draw(cls, rng, users: int, questions: int) -> _DemoModel:
        theta = rng.normal(0.0, 1.0, users)
        b = rng.normal(0.0, 1.5, questions)
        a = rng.lognormal(np.log(1.5), 0.25, questions)
        question_module = rng.integers(0, len(MODULES), questions)
        labelled = rng.random(questions) < 0.5
        label = np.round(b + rng.normal(0.0, 0.3, questions), 1)
        return cls(theta, b, a, question_module, labelled, label)

    @property
    def question_ids(self) -> list[str]:
        return [f"q{k + 1:04d}" for k in range(self.b.size)]

    def truth(self, deviation) -> DemoTruth:
        users, question_ids = range(self.theta.size), self.question_ids
        return DemoTruth(
            ability={f"demo-user-{k}": float(self.theta[k]) for k in users},
            difficulty={q: float(self.b[k]) for k, q in enumerate(question_ids)},
            discrimination={q: float(self.a[k]) for k, q in enumerate(question_ids)},
            module_deviation={}
            if deviation is None
            else {f"demo-user-{k}": dict(zip(MODULES, deviation[k].tolist(), strict=True)) for k in users},
        )


@dataclass
class _DrawnAnswers:
    user_of: np.ndarray  # sorted
    item_of: np.ndarray
    correct: np.ndarray
    seconds: np.ndarray
    deviation: np.ndarray | None  # (users, modules) with module_sd


def _draw_answers(rng, model: _DemoModel, answers: int, *, seed: int, module_sd: float) -> _DrawnAnswers:
    """Who answers which question, right or not, and how long it took."""
    user_of = np.sort(rng.integers(0, model.theta.size, answers))
    item_of = rng.integers(0, model.b.size, answers)
    deviation = None
    if module_sd:
        # Drawn from their own stream, so that module_sd = 0 gives the same answers as before.
        deviation = np.random.default_rng([seed, 17]).normal(0.0, module_sd, (model.theta.size, len(MODULES)))
        ability = model.theta[user_of] + deviation[user_of, model.question_module[item_of]]  # one per answer
        correct = draw_answers(
            rng, ability=ability, discrimination=model.a, difficulty=model.b, users=np.arange(answers), items=item_of
        )
    else:
        correct = draw_answers(
            rng, ability=model.theta, discrimination=model.a, difficulty=model.b, users=user_of, items=item_of
        )
    seconds = np.exp(rng.normal(np.log(15.0), 0.5, answers)) * np.where(correct, 0.8, 1.2)
    return _DrawnAnswers(user_of, item_of, correct, seconds, deviation)


def _stored_rows(model: _DemoModel, drawn: _DrawnAnswers, offsets, *, start, now, seed: int, size: int = 50_000):
    """The answers as stored rows, ``size`` at a time, in the order they would have arrived (time order).

    The learners and questions that answer are stored (and their keys read) once, up front; each
    batch is built only when stored, so memory holds one batch of Python rows, not all of them.
    """
    arrival = np.argsort(offsets, kind="stable")
    users = np.unique(drawn.user_of).tolist()
    hashes = {user: hash_user_id(f"demo-user-{user}") for user in users}
    keys = learner_keys(set(hashes.values()))
    learner_of = {user: keys[hash_] for user, hash_ in hashes.items()}
    question_ids = model.question_ids
    pairs = {
        item: (question_ids[item], MODULES[model.question_module[item]]) for item in np.unique(drawn.item_of).tolist()
    }
    keys = question_keys(set(pairs.values()))
    question_of = {item: keys[pair] for item, pair in pairs.items()}
    labels = [float(x) if flag else None for x, flag in zip(model.label.tolist(), model.labelled.tolist(), strict=True)]
    for begin in range(0, arrival.size, size):
        part = arrival[begin : begin + size]
        columns = zip(
            part.tolist(),
            drawn.user_of[part].tolist(),
            drawn.item_of[part].tolist(),
            drawn.correct[part].tolist(),
            (drawn.seconds[part] * 1000).astype(np.int64).tolist(),
            offsets[part].tolist(),
            strict=True,
        )
        yield [
            (
                start + timedelta(seconds=offset),
                now,
                labels[item],
                learner_of[user],
                question_of[item],
                time_ms,
                right,
                event_key(f"demo-{seed}-{k}"),
            )
            for k, user, item, right, time_ms, offset in columns
        ]
