"""Serving the adaptive quiz between retrains: live abilities, predictions with them, next questions.

The serving version's item parameters stay fixed (they are cached per version in this process);
each learner is re-scored from their stored answers on every request (:mod:`retraining.live`: the
answers newer than those already scored are read, and all of them when any older one changed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np

from common import sql
from training_data.anonymise import hash_user_id

from . import selectors
from .errors import RetrainingError
from .irt import best_items
from .live import Tally, live_abilities, read_with_token_user, serving_learner
from .serving import Ability, StoredModel, production_model

ABILITY_SOURCES = ("live", "model")
STRATEGIES = ("max-information", "target")
EXCLUDE = ("answered", "none")


class NoCandidates(RetrainingError):
    """A next-question request whose module has no question the serving version knows."""

    code = "no_candidates"


def _serving_live(user_hashes) -> tuple[str, StoredModel, dict[str, Ability], dict[str, Tally]]:
    """The serving version (name, predictor) and each learner's live ability under it, and the tally
    of their answers (``.questions``: those answered). For one learner on SQLite or PostgreSQL, which
    version serves and the learner's answers are asked in one statement."""
    user_hashes = set(user_hashes)
    if len(user_hashes) == 1 and sql.compiled():
        (user_hash,) = user_hashes
        version, model, ability, tally = serving_learner(user_hash)
        return version, model, {user_hash: ability}, {user_hash: tally}
    version, model = production_model()
    scored = live_abilities(model, user_hashes) if user_hashes else {}
    abilities = {h: ability for h, (ability, _) in scored.items()}
    return version, model, abilities, {h: tally for h, (_, tally) in scored.items()}


@contextmanager
def one_read_with_token_user(learner: Callable[[], str | None]) -> Iterator[None]:
    """Within (a serving request): when its token's user is read, ``learner()`` (the learner the
    request is about, None when it is about no single one) is asked, and for a learner the user,
    which version serves and the learner's answers are read in one statement, where they would take
    two round trips (SQLite and PostgreSQL)."""

    def user_hash() -> str | None:
        user_id = learner()
        try:
            return hash_user_id(user_id) if user_id is not None else None
        except UnicodeEncodeError:  # a lone surrogate, which the request's validation refuses
            return None

    with read_with_token_user(user_hash) if sql.compiled() else nullcontext():
        yield


@dataclass(frozen=True)
class LearnerAbility:
    version: str
    ability: Ability


def learner_ability(*, user_id: str) -> LearnerAbility:
    """The learner's live ability under the serving version (the prior without usable answers)."""
    user_hash = hash_user_id(user_id)
    version, _, abilities, _ = _serving_live([user_hash])
    return LearnerAbility(version, abilities[user_hash])


@dataclass(frozen=True)
class PairPrediction:
    user_id: str
    question_id: str
    probability: float
    ability: Ability
    cold_question: bool


def predictions(
    *, pairs: list[tuple[str, str, str]], modules: list[str | None] | None = None
) -> tuple[str, list[PairPrediction]]:
    """P(correct) for (userId, questionId, ability source) triples under the serving version.

    Source "live" re-scores each learner from their stored answers (one query for all of them);
    "model" keeps the ability the version's training left (the prior for learners it never saw).
    ``modules`` (one per pair, None where unknown) adds a module version's deviation of the
    learner in that module (live, from the same answers, with a live ability); without it, or in a
    module the learner never answered in, the overall ability is used.
    """
    hashes = [hash_user_id(user_id) for user_id, _, _ in pairs]
    live_hashes = [h for h, (_, _, source) in zip(hashes, pairs, strict=True) if source == "live"]
    version, model, live, _ = _serving_live(live_hashes)
    abilities = [
        live[h] if source == "live" else model.model_ability(h) for h, (_, _, source) in zip(hashes, pairs, strict=True)
    ]
    deviations = None
    if modules is not None and model.module_spread is not None:  # live: the live deviations
        stored = model.deviations(hashes, modules)
        deviations = [
            stored[k] if ability.source == "model" else ability.deviations.get(module, 0.0)
            for k, (ability, module) in enumerate(zip(abilities, modules, strict=True))
        ]
    prediction = model.predict(
        hashes,
        [q for _, q, _ in pairs],
        abilities=[a.ability for a in abilities],
        modules=modules,
        deviations=deviations,
    )
    return version, [
        PairPrediction(user_id, question_id, float(p), ability, bool(cold_q))
        for (user_id, question_id, _), p, ability, cold_q in zip(
            pairs, prediction.probability, abilities, prediction.cold_question, strict=True
        )
    ]


@dataclass(frozen=True)
class RankedQuestion:
    question_id: str
    probability: float
    information: float


@dataclass(frozen=True)
class NextQuestions:
    version: str
    ability: Ability
    questions: list[RankedQuestion]
    candidates: int
    excluded: int
    unknown: list[str] = field(default_factory=list)


def next_questions(
    *,
    user_id: str,
    candidates: list[str] | None = None,
    module: str | None = None,
    exclude: str = "answered",
    strategy: str = "max-information",
    target: float = 0.7,
    count: int = 5,
) -> NextQuestions:
    """Rank candidate questions for a learner at their live ability.

    Candidates are the given question ids, or the questions of ``module``; with a version that has
    module deviations each is ranked at the learner's ability in its module (``module``, or the module
    a given question is stored under), as predict with that module does; those the serving
    version does not know are reported in ``unknown`` (they have no parameters to rank by), and
    with ``exclude="answered"`` those the learner already answered are left out.
    "max-information" puts first the largest Fisher information a^2 p (1 - p); "target" the
    probability of a right answer closest to ``target``.
    """
    if (candidates is None) == (module is None):
        raise RetrainingError("send either candidates (a list of question ids) or module, not both")
    if strategy not in STRATEGIES:
        raise RetrainingError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if exclude not in EXCLUDE:
        raise RetrainingError(f"exclude must be one of {', '.join(EXCLUDE)}, got {exclude!r}")
    user_hash = hash_user_id(user_id)
    version, model, abilities, answered = _serving_live([user_hash])
    ability = abilities[user_hash]

    pool, positions, unknown = _candidate_pool(model, version, candidates=candidates, module=module)
    considered = len(pool)
    if exclude == "answered":
        done = answered[user_hash].questions
        if not done.isdisjoint(pool):
            kept = [k for k, question in enumerate(pool) if question not in done]
            pool, positions = [pool[k] for k in kept], positions[kept]
    excluded = considered - len(pool)

    theta = _abilities_at(model, ability, pool, module)
    ranked = _ranked(model, pool, positions, theta, strategy=strategy, target=target, count=count)
    return NextQuestions(version, ability, ranked, considered, excluded, unknown)


def _candidate_pool(model, version: str, *, candidates: list[str] | None, module: str | None):
    """The candidates the serving version knows and their positions in its arrays, and those it does
    not know (given ids only; a module's unknown questions are simply not candidates).
    ``NoCandidates`` for a module it knows nothing of."""
    pool = sorted(set(selectors.module_question_ids(module))) if module is not None else list(dict.fromkeys(candidates))
    positions = model.question_positions(pool)
    known = positions >= 0
    if module is not None and not known.any():
        raise NoCandidates(f"module {module!r} has no question the serving version {version} knows")
    if known.all():
        return pool, positions, []
    unknown = [] if module is not None else [pool[k] for k in np.flatnonzero(~known).tolist()]
    return [pool[k] for k in np.flatnonzero(known).tolist()], positions[known], unknown


def _abilities_at(model: StoredModel, ability: Ability, pool: list[str], module: str | None):
    """The learner's ability at each candidate: the overall one, plus under a version with module
    deviations their live deviation in the candidate's module (``module``, else the one module the
    question is stored under; none for a question stored under several)."""
    if model.module_spread is None:
        return ability.ability
    if module is not None:
        return ability.ability + ability.deviations.get(module, 0.0)
    modules = selectors.question_modules(pool)
    return ability.ability + np.array([ability.deviations.get(modules.get(q), 0.0) for q in pool])


def _ranked(model: StoredModel, pool: list[str], positions, theta, **ranking) -> list[RankedQuestion]:
    """The known questions of ``pool`` (at ``positions`` in the version's arrays), best first at
    ability ``theta`` (one, or one per question), at most ``count`` of them."""
    if not pool:
        return []
    a, d = model.item_parameters(positions)
    order, p, info = best_items(a, d, theta, **ranking)
    return [RankedQuestion(pool[k], float(pk), float(ik)) for k, pk, ik in zip(order, p, info, strict=True)]
