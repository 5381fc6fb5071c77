"""The 2PL response probability, with the cold-start rule every predictor shares.

P(correct) = 1 / (1 + exp(-a (theta - b))). A user the model has never seen gets the prior mean
ability (0); a question it has never seen gets the mean item (mean discrimination, mean
difficulty). The fitted estimators, the heuristic and the stored production model all predict
through :func:`predict_2pl`, so a model scores the same answers the same way wherever it is used.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    """The logistic function, without overflow warnings (via tanh)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def log1pexp(x):
    """log(1 + exp(x)) without overflow (as max(x, 0) + log1p(exp(-|x|)), in place: fast)."""
    out = np.abs(x)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(x, 0.0)
    return out


def predict_2pl(
    users,
    items,
    *,
    ability,
    discrimination,
    difficulty,
    cold_ability: float = 0.0,
    cold_discrimination: float | None = None,
    cold_difficulty: float | None = None,
) -> np.ndarray:
    """P(correct) for each (user, item) index pair; an index outside the parameter arrays
    (negative, or past the end) is a cold start.

    ``cold_discrimination`` and ``cold_difficulty`` default to the mean of the given items (1 and
    0 when there are none).
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    ability = np.asarray(ability, dtype=np.float64)
    discrimination = np.asarray(discrimination, dtype=np.float64)
    difficulty = np.asarray(difficulty, dtype=np.float64)
    if cold_discrimination is None:
        cold_discrimination = float(discrimination.mean()) if discrimination.size else 1.0
    if cold_difficulty is None:
        cold_difficulty = float(difficulty.mean()) if difficulty.size else 0.0
    theta = np.full(users.size, float(cold_ability))
    seen_user = (users >= 0) & (users < ability.size)
    theta[seen_user] = ability[users[seen_user]]
    a = np.full(items.size, float(cold_discrimination))
    b = np.full(items.size, float(cold_difficulty))
    seen_item = (items >= 0) & (items < difficulty.size)
    a[seen_item] = discrimination[items[seen_item]]
    b[seen_item] = difficulty[items[seen_item]]
    return sigmoid(a * (theta - b))
