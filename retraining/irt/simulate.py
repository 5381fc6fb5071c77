"""Answers drawn from a known 2PL model, for recovery tests, benchmarks and demo data."""

from __future__ import annotations

import numpy as np

from .prediction import sigmoid


def draw_answers(rng: np.random.Generator, *, ability, discrimination, difficulty, users, items) -> np.ndarray:
    """One answer per (user, item) index pair, right (True) with its 2PL probability."""
    p = sigmoid(discrimination[items] * (ability[users] - difficulty[items]))
    return rng.random(p.size) < p


def simulate_2pl(
    n_users: int,
    n_items: int,
    per_user: int,
    seed: int = 0,
    *,
    difficulty_sd: float = 1.0,
    discrimination: float | None = None,
):
    """Each user answers ``per_user`` distinct items; theta ~ N(0, 1), b ~ N(0, difficulty_sd²),
    a ~ logN(0, 0.3²) (or the one given ``discrimination`` for every item).

    Returns ``(users, items, correct, theta, a, b)``: the answers (users in order, each user's
    answers together) and the true parameters.
    """
    if per_user > n_items:
        raise ValueError(f"per_user ({per_user}) cannot exceed n_items ({n_items})")
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_users)
    b = rng.normal(size=n_items) * difficulty_sd
    a = rng.lognormal(0.0, 0.3, size=n_items) if discrimination is None else np.full(n_items, float(discrimination))
    users = np.repeat(np.arange(n_users), per_user)
    # Distinct items per user, drawn in blocks of users so memory stays near 4 million cells.
    block = max(1, 4_000_000 // n_items)
    items = np.concatenate(
        [
            rng.permuted(np.broadcast_to(np.arange(n_items), (min(block, n_users - start), n_items)), axis=1)[
                :, :per_user
            ].ravel()
            for start in range(0, n_users, block)
        ]
    )
    correct = draw_answers(rng, ability=theta, discrimination=a, difficulty=b, users=users, items=items)
    return users, items, correct.astype(np.int8), theta, a, b


def simulate_2pl_modules(n_users: int, n_items: int, n_modules: int, per_user: int, deviation_sd: float, seed: int = 0):
    """:func:`simulate_2pl` with items in modules and a deviation of ability per (learner, module).

    Item ``i`` belongs to module ``i % n_modules``; a learner's ability in module ``m`` is
    ``theta_u + delta_um`` with ``delta_um ~ N(0, deviation_sd²)`` (0 gives the plain 2PL).
    Returns ``(users, items, correct, modules, theta, a, b, delta)`` with ``delta`` of shape
    (n_users, n_modules).
    """
    users, items, _, theta, a, b = simulate_2pl(n_users, n_items, per_user, seed=seed)
    rng = np.random.default_rng([seed, 1])
    shape = (n_users, n_modules)
    delta = rng.normal(0.0, deviation_sd, size=shape) if deviation_sd > 0 else np.zeros(shape)
    modules = items % n_modules
    ability = theta[users] + delta[users, modules]  # each answer's own ability: answer k is "user" k
    correct = draw_answers(
        rng, ability=ability, discrimination=a, difficulty=b, users=np.arange(users.size), items=items
    ).astype(np.int8)
    return users, items, correct, modules, theta, a, b, delta
