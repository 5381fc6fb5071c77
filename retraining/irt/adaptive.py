"""Between calibrations: re-score one learner with the items held fixed, and rank the next items.

Computerised adaptive testing keeps item parameters fixed between calibrations and updates the
learner's ability after every answer. :func:`eap_ability` does that with the training E-step itself
(:func:`~retraining.irt.em.posterior`), so live and trained abilities agree on the same answers;
:func:`information` and :func:`rank_items` choose what to ask next.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .em import posterior, posterior_moments, quadrature
from .prediction import sigmoid


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


def information(a, d, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """P(correct) and Fisher information a^2 p (1 - p) of each item at ability ``theta``."""
    a = np.asarray(a, dtype=np.float64)
    p = sigmoid(a * theta + np.asarray(d, dtype=np.float64))
    return p, a * a * p * (1.0 - p)


def rank_items(a, d, theta: float, *, strategy: str = "max-information", target: float = 0.7) -> np.ndarray:
    """Item indices, best first: most informative at ``theta``, or P(correct) closest to ``target``.

    Ties keep the given order (stable sort), so the ranking is reproducible.
    """
    p, info = information(a, d, theta)
    if strategy == "max-information":
        key = -info
    elif strategy == "target":
        if not 0.0 < target < 1.0:
            raise ValueError(f"target must be a probability strictly between 0 and 1, got {target!r}")
        key = np.abs(p - target)
    else:
        raise ValueError(f'strategy must be "max-information" or "target", got {strategy!r}')
    return np.argsort(key, kind="stable")
