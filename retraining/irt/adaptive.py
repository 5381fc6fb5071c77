"""Between calibrations: re-score one learner with the items held fixed, and rank the next items.

Computerised adaptive testing keeps item parameters fixed between calibrations and updates the
learner's ability after every answer. :func:`eap_ability` does that with the training E-step itself
(:func:`~retraining.irt.em.posterior`), so live and trained abilities agree on the same answers.
The EAP posterior is the prior times a product over answers, so a learner's log-likelihood at the
nodes can be kept and only new answers added to it (:class:`NodeTables`, :func:`eap_from_log_likelihood`):
the same ability as re-scoring every answer. :func:`module_ability` re-scores a learner of a model
with per-module deviations (:class:`~retraining.irt.modules.ModuleIRT`) the way its training does.
:func:`information`, :func:`rank_items` and :func:`best_items` choose what to ask next.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .em import normalised_posterior, posterior, posterior_moments, quadrature
from .module_fitting import solve_abilities
from .prediction import log1pexp, sigmoid


@lru_cache(maxsize=8)
def _log_prior(points: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = quadrature(points)
    nodes.flags.writeable = False
    log_weights = np.log(weights)
    log_weights.flags.writeable = False
    return nodes, log_weights


def eap_ability(a, d, correct, *, counts=None, quadrature_points=21) -> tuple[float, float]:
    """One learner's ability (EAP) and posterior SD with the item parameters held fixed.

    The same E-step, quadrature and N(0, 1) ability prior as :meth:`IRT.fit`, so for a learner of
    the training data, on the same answers and the fitted items, it gives ``ability_`` and
    ``ability_sd_`` back. This is how a learner is re-scored between calibrations (adaptive
    testing). ``a``, ``d`` are the slope and intercept of each answered item and ``correct`` the
    0/1 answers, one entry per answer (repeats count again, as in training); or, with ``counts``,
    one entry per item: ``counts`` answers of which ``correct`` were right (the same likelihood,
    as training sums repeated pairs). No answers give the prior: (0, 1).
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    d = np.asarray(d, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    total = np.ones(a.size) if counts is None else np.asarray(counts, dtype=np.float64).ravel()
    if not a.size == d.size == correct.size == total.size:
        raise ValueError(
            f"a, d, correct (and counts) must have the same length, got {a.size}, {d.size}, {correct.size}"
            + ("" if counts is None else f" and {total.size}")
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(d))):
        raise ValueError("a and d must be finite")
    if counts is None:
        if not np.all((correct == 0) | (correct == 1)):
            raise ValueError("correct must hold only 0 and 1")
    elif not (np.all(total >= 0) and np.all(correct >= 0) and np.all(correct <= total)):
        raise ValueError("with counts, correct must be right-answer counts between 0 and counts")
    if not isinstance(quadrature_points, int) or quadrature_points < 3:
        raise ValueError(f"quadrature_points must be an integer >= 3, got {quadrature_points!r}")
    nodes, log_weights = _log_prior(quadrature_points)
    weights_post, _ = posterior(total[None, :], correct[None, :], a, d, nodes, log_weights)
    ability, sd = posterior_moments(weights_post, nodes)
    return float(ability[0]), float(sd[0])


class NodeTables:
    """Each item's logit a theta + d and log P(wrong) at every quadrature node, computed once for
    fixed items: the log-likelihood of a learner's answers at the nodes is then two small products,
    the same sums as :func:`~retraining.irt.em.posterior` makes."""

    def __init__(self, a, d, *, quadrature_points=21):
        nodes, _ = _log_prior(quadrature_points)
        self.quadrature_points = quadrature_points
        self.eta = np.outer(np.asarray(a, dtype=np.float64), nodes) + np.asarray(d, dtype=np.float64)[:, None]
        self.log_wrong = -log1pexp(self.eta)

    def log_likelihood(self, items, counts, right) -> np.ndarray:
        """Log-likelihood at each node of ``counts[k]`` answers to item ``items[k]``, ``right[k]`` of
        them right; add it to a learner's earlier answers' to update their posterior."""
        items = np.asarray(items, dtype=np.int64)
        return (
            np.asarray(counts, dtype=np.float64) @ self.log_wrong[items]
            + np.asarray(right, dtype=np.float64) @ self.eta[items]
        )


def eap_from_log_likelihood(log_lik, *, quadrature_points=21) -> tuple[float, float]:
    """EAP ability and posterior SD from a learner's answers' log-likelihood at the nodes
    (:meth:`NodeTables.log_likelihood`, summed over answers), under the N(0, 1) prior."""
    nodes, log_weights = _log_prior(quadrature_points)
    weights, _ = normalised_posterior(np.array(log_lik, dtype=np.float64).reshape(1, -1), log_weights)
    ability, sd = posterior_moments(weights, nodes)
    return float(ability[0]), float(sd[0])


def module_ability(a, d, correct, modules, *, counts=None, deviation_spread: float):
    """One learner's overall ability, its SD and their deviation in each module, items held fixed.

    The joint posterior mode of :class:`~retraining.irt.modules.ModuleIRT`'s training (ability
    ~ N(0, 1), deviations ~ N(0, ``deviation_spread``^2)), so on the training answers it gives the
    fitted ``ability_``, ``ability_sd_`` and ``deviation_`` back. ``modules`` are each entry's
    module as 0..k-1; with ``counts``, an entry is ``counts`` answers of which ``correct`` were right.
    Returns (ability, sd, deviations): ``deviations[m]`` is the learner's in module m.
    """
    a, d = np.asarray(a, dtype=np.float64).ravel(), np.asarray(d, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    modules = np.asarray(modules, dtype=np.int64).ravel()
    if not a.size == d.size == correct.size == modules.size:
        raise ValueError(
            "a, d, correct and modules must have the same length, "
            f"got {a.size}, {d.size}, {correct.size} and {modules.size}"
        )
    if counts is not None:  # one entry per answer, as training sees them
        counts = np.asarray(counts, dtype=np.int64).ravel()
        first = np.repeat(np.cumsum(counts) - counts, counts)
        correct = (np.arange(counts.sum()) - first < np.repeat(correct.astype(np.int64), counts)).astype(np.float64)
        a, d, modules = np.repeat(a, counts), np.repeat(d, counts), np.repeat(modules, counts)
    n_modules = int(modules.max()) + 1 if modules.size else 0
    ability, sd, deviation, _ = solve_abilities(
        np.zeros(a.size, dtype=np.int64),
        modules,
        np.zeros(n_modules, dtype=np.int64),
        a,
        d,
        correct,
        deviation_spread,
        1,
        n_modules,
    )
    return float(ability[0]), float(sd[0]), deviation


def information(a, d, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """P(correct) and Fisher information a^2 p (1 - p) of each item at ability ``theta``."""
    a = np.asarray(a, dtype=np.float64)
    p = sigmoid(a * theta + np.asarray(d, dtype=np.float64))
    return p, a * a * p * (1.0 - p)


def rank_items(a, d, theta: float, *, strategy: str = "max-information", target: float = 0.7) -> np.ndarray:
    """Item indices, best first: most informative at ``theta``, or P(correct) closest to ``target``.

    Ties keep the given order (stable sort), so the ranking is reproducible.
    """
    return best_items(a, d, theta, strategy=strategy, target=target)[0]


def best_items(
    a, d, theta: float, *, strategy: str = "max-information", target: float = 0.7, count: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``count`` best items (all when None) as :func:`rank_items` orders them, with the
    P(correct) and information :func:`information` gives each, computed once for the ranking and the
    answer: ``(indices, p, information)``, best first."""
    p, info = information(a, d, theta)
    if strategy == "max-information":
        key = -info
    elif strategy == "target":
        if not 0.0 < target < 1.0:
            raise ValueError(f"target must be a probability strictly between 0 and 1, got {target!r}")
        key = np.abs(p - target)
    else:
        raise ValueError(f'strategy must be "max-information" or "target", got {strategy!r}')
    order = np.argsort(key, kind="stable")[:count]
    return order, p[order], info[order]
