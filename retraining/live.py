"""Live abilities: a learner re-scored from their stored answers with a version's items held fixed.

IRT versions use the training E-step over the same quadrature and N(0, 1) prior (so on the training
answers this is the stored ability); a version with module deviations solves for the ability and
the deviations jointly, as its training does; the heuristic applies its success-rate rule. Answers
to questions the version does not know are counted in ``skipped`` and left out; with none left the
learner gets the prior.

The EAP posterior is the prior times one factor per answer, so each process keeps, per (version,
learner), the learner's answers tallied per question and their log-likelihood at the quadrature
nodes. Every request reads the count and the key sum of all the learner's answers and, in the
same statement (one snapshot) and only when those differ from the kept ones, the answers newer than
the newest one kept. When the totals are not the kept ones plus the new answers' (an answer was
deleted, e.g. an erasure, or one was committed late with a smaller key), everything is read again
and re-scored, so an answer that is gone never counts. (Deletions can hide new answers from the
totals only by matching their count and key sum exactly: never newer answers alone, whose keys are
all above every kept one.) For one learner, the same statement also asks which version serves
(:func:`serving_learner`), and, in a serving request about that learner, its token's user too
(:func:`read_with_token_user`): the request's one round trip.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from common import sql

from . import selectors
from .irt import eap_from_log_likelihood, module_ability
from .irt.heuristic import ability_from_success_rate
from .serving import Ability, StoredModel, serving_model, serving_query

KEPT_LEARNERS = 4096  # per process; the least recently asked for are dropped first


@dataclass(frozen=True)
class Tally:
    """A learner's answers as last read: how many, the sum of their keys and the largest key (to see
    that none changed), and per (question, module) how many answers and how many right."""

    count: int = 0
    key_sum: int = 0
    last_key: int = 0
    groups: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def plus(self, rows, last_key: int) -> Tally:
        """With answers ``rows`` (question id, module, answers, right, key sum) added."""
        groups = dict(self.groups)
        for question_id, module, answers, right, _ in rows:
            before = groups.get((question_id, module), (0, 0))
            groups[question_id, module] = (before[0] + answers, before[1] + right)
        added, keys = sum(row[2] for row in rows), sum(row[4] for row in rows)
        return Tally(self.count + added, self.key_sum + keys, max(self.last_key, last_key), groups)

    def explains(self, totals: tuple[int, int, int], rows) -> bool:
        """Whether the learner's answers now (``totals``: count, key sum) are these plus ``rows``."""
        return totals[:2] == (self.count + sum(row[2] for row in rows), self.key_sum + sum(row[4] for row in rows))

    def rows(self) -> list[tuple]:
        """The tally as answer rows (question id, module, answers, right, 0), to score it whole."""
        return [(question_id, module, n, right, 0) for (question_id, module), (n, right) in self.groups.items()]

    @cached_property
    def questions(self) -> frozenset[str]:
        """The questions answered (worked out once per tally, when asked for)."""
        return frozenset(question_id for question_id, _ in self.groups)


@dataclass(frozen=True)
class Score:
    """What a version makes of a tally: answers used and skipped, right ones, the log-likelihood."""

    used: int = 0
    skipped: int = 0
    right: float = 0.0
    log_lik: np.ndarray | None = None


@dataclass(frozen=True)
class Kept:
    tally: Tally
    score: Score
    ability: Ability


_kept: OrderedDict[tuple, Kept] = OrderedDict()
_lock = threading.Lock()


def live_abilities(model: StoredModel, user_hashes) -> dict[str, tuple[Ability, Tally]]:
    """Several learners' live abilities under ``model`` and the tallies of their answers, all their
    answers read in one query and nothing kept (one learner: :func:`serving_learner`)."""
    user_hashes = set(user_hashes)
    groups = selectors.learner_answer_groups(user_hashes)
    out = {}
    for user_hash in user_hashes:
        rows = [(q, m, n, r, 0) for q, m, n, r in groups.get(user_hash, [])]
        tally = Tally().plus(rows, 0)
        out[user_hash] = (ability_of(model, score(model, rows), tally), tally)
    return out


_serving_seen = None  # the key of the version this process last found serving


@dataclass(frozen=True)
class LearnerRead:
    """What one statement read about a learner: the version it was asked relative to (``guess``) and
    the tally kept under it then, the serving version's key, the totals and the newer answers."""

    user_hash: str
    guess: tuple | None
    kept: Kept | None
    key: tuple | None
    totals: tuple[int, int, int]
    rows: list[tuple]


def serving_learner(user_hash: str) -> tuple[str, StoredModel, Ability, Tally]:
    """The serving version (name and predictor) and the learner's live ability and tally under it,
    which version serves and the learner's answers asked in one statement (compiled SQL only), or
    taken from the request's token-user read (:func:`read_with_token_user`).

    The answers newer than those kept are asked relative to the learner's tally under the version
    this process last found serving; when another serves now (a deploy, a rollback), the same
    tally, brought up to date, is scored under it."""
    global _serving_seen
    read = _read_with_user.get()
    if read is not None and read.user_hash == user_hash:
        _read_with_user.set(None)  # used once: a later ask in the same request reads again
    else:
        read, _ = _read_learner(user_hash)
    version, model = serving_model(read.key)
    _serving_seen = read.key
    kept = _brought_up_to_date(model, read.key, user_hash, read.kept, read.guess, read.totals, read.rows)
    return version, model, kept.ability, kept.tally


def _read_learner(user_hash: str, user_query: tuple[str, list, int] | None = None) -> tuple[LearnerRead, tuple]:
    """The learner's answers after those kept under the version this process last found serving, and
    which version serves now; with ``user_query`` (the SQL, parameters and number of columns of a
    query finding at most one row), its row too (all None for none): one statement for all."""
    guess = _serving_seen
    kept = _kept_for(guess, user_hash) if guess is not None else None
    serving, serving_params, serving_width = serving_query()
    row_query = (serving, serving_params, serving_width)
    if user_query is not None:
        text, params, width = user_query
        both = sql.statement(
            ("serving version and user", serving, text),
            lambda: (
                f"SELECT s.*, u.* FROM (SELECT 1 AS one) o LEFT JOIN ({serving}) s ON 1 = 1"
                f" LEFT JOIN ({text}) u ON 1 = 1"
            ),
        )
        row_query = (both, [*serving_params, *params], serving_width + width)
    found, totals, rows = selectors.row_and_learner_answers_after(row_query, user_hash, *_since(kept))
    key = found[:serving_width] if found[0] is not None else None
    return LearnerRead(user_hash, guess, kept, key, totals, rows), found[serving_width:]


_read_with_user: ContextVar[LearnerRead | None] = ContextVar("learner read with the token's user", default=None)


@contextmanager
def read_with_token_user(learner_hash: Callable[[], str | None]) -> Iterator[None]:
    """Within (a serving request): when the token's user is read, ``learner_hash()`` is asked for the
    learner the request is about, and for one the user is read in the same statement as which
    version serves and that learner's answers, one round trip for the request's reads;
    :func:`serving_learner` for that learner then uses what it read."""
    reset = _read_with_user.set(None)

    def read(text: str, params: list, width: int) -> tuple | None:
        user_hash = learner_hash()
        if user_hash is None:  # about no single learner: the user alone
            return sql.fetch_one(text, params)
        learner, user = _read_learner(user_hash, (text, params, width))
        _read_with_user.set(learner)
        return user

    try:
        with sql.beside_user(read):
            yield
    finally:
        _read_with_user.reset(reset)


def _kept_for(version_key, user_hash: str) -> Kept | None:
    with _lock:
        return _kept.get((version_key, user_hash))


def _since(kept: Kept | None) -> tuple[int, tuple[int, int] | None]:
    """The key after which to read a learner's answers, and the totals kept (none: read all)."""
    return (kept.tally.last_key, (kept.tally.count, kept.tally.key_sum)) if kept is not None else (0, None)


def _brought_up_to_date(model, version_key, user_hash, kept, kept_under, totals, rows) -> Kept:
    """``kept`` (scored under ``kept_under``) with the answers read after it (``totals``, ``rows``),
    scored under ``version_key``'s ``model``; when something below its newest answer changed, all the
    learner's answers read again."""
    if kept is not None and kept.tally.explains(totals, rows):
        if kept_under != version_key:  # the same answers and the new ones, scored under another version
            tally = kept.tally.plus(rows, totals[2])
            new_score = score(model, tally.rows())
        elif not rows:
            _keep((version_key, user_hash), kept)
            return kept
        else:
            tally, new_score = kept.tally.plus(rows, totals[2]), score(model, rows, kept.score)
    else:
        if kept is not None:  # something below the newest kept answer changed: read them all
            totals, rows = selectors.learner_answers_after(user_hash, 0)
        tally, new_score = Tally().plus(rows, totals[2]), score(model, rows)
    kept = Kept(tally, new_score, ability_of(model, new_score, tally))
    _keep((version_key, user_hash), kept)
    return kept


def _keep(key, kept: Kept) -> None:
    with _lock:
        _kept[key] = kept
        _kept.move_to_end(key)
        while len(_kept) > KEPT_LEARNERS:
            _kept.popitem(last=False)


def score(model: StoredModel, rows, base: Score | None = None) -> Score:
    """``base`` with answers ``rows`` (question id, module, answers, right, ...) added."""
    base = base or Score()
    positions = model.question_positions(row[0] for row in rows)
    answers = np.fromiter((row[2] for row in rows), np.float64, len(rows))
    right = np.fromiter((row[3] for row in rows), np.float64, len(rows))
    known = positions >= 0
    log_lik = base.log_lik
    if model.model_type != "heuristic" and known.any():
        added = model.node_tables.log_likelihood(positions[known], answers[known], right[known])
        log_lik = added if log_lik is None else log_lik + added
    return Score(
        base.used + int(answers[known].sum()),
        base.skipped + int(answers[~known].sum()),
        base.right + float(right[known].sum()),
        log_lik,
    )


def ability_of(model: StoredModel, score: Score, tally: Tally) -> Ability:
    """The learner's live ability from their score (and, for module deviations, their tally)."""
    if score.used == 0:
        prior = model.model_ability("")  # nobody: the prior
        return Ability(prior.ability, prior.ability_sd, "prior", 0, score.skipped)
    if model.model_type == "heuristic":
        ability = float(ability_from_success_rate(score.right / score.used))
        return Ability(ability, None, "live", score.used, score.skipped)
    if model.module_spread is not None:
        return _module_ability(model, score, tally)
    ability, sd = eap_from_log_likelihood(score.log_lik, quadrature_points=model.quadrature_points)
    return Ability(ability, sd, "live", score.used, score.skipped)


def _module_ability(model: StoredModel, score: Score, tally: Tally) -> Ability:
    """Ability and per-module deviations solved jointly from all the learner's known answers."""
    keys = list(tally.groups)
    positions = model.question_positions(question_id for question_id, _ in keys)
    known = np.flatnonzero(positions >= 0)
    modules = [keys[k][1] for k in known.tolist()]
    names = list(dict.fromkeys(modules))
    code = {name: k for k, name in enumerate(names)}
    counts = np.array([tally.groups[keys[k]] for k in known.tolist()], dtype=np.int64).reshape(-1, 2)
    a, d = model.item_parameters(positions[known])
    ability, sd, deviations = module_ability(
        a, d, counts[:, 1], [code[m] for m in modules], counts=counts[:, 0], deviation_spread=model.module_spread
    )
    by_module = dict(zip(names, deviations.tolist(), strict=True))
    return Ability(ability, sd, "live", score.used, score.skipped, deviations=by_module)
