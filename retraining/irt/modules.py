"""A 2PL with per-module deviations of ability: one learner, different strengths in different modules.

The model (a testlet-style extension of the 2PL, Bradlow, Wainer & Wang 1999; Wang & Wilson 2005)::

    P(correct) = 1 / (1 + exp(-a_i (theta_u + delta_um - b_i)))
    theta_u ~ N(0, 1),   delta_um ~ N(0, tau^2),   b_i ~ N(mu_m(i), sigma_b^2)

``theta_u`` is the learner's overall ability, ``delta_um`` how much better or worse the learner does in
module ``m``, shrunk toward 0 (the overall ability) by its prior: a pair with few answers keeps little
deviation, a pair with many keeps most of what its answers show. Item difficulties are shrunk toward
their module's mean, which also gives unseen items of a known module a better guess than the mean item.
"""

from __future__ import annotations

import numpy as np

from ._validation import Estimator, as_index_array, check_answers, check_fitted, check_pairs
from .model import IRT
from .module_fitting import majority_module, shrink_difficulties, solve_abilities
from .prediction import log1pexp, sigmoid

# Deviation spreads (tau) tried by the inner validation split; 0 is the plain 2PL.
DEFAULT_DEVIATION_SPREADS = (0.0, 0.2, 0.35, 0.5, 0.7, 1.0, 1.4)


def _check_modules(modules, size: int) -> np.ndarray:
    modules = as_index_array(modules, "modules")
    if modules.size != size:
        raise ValueError(f"modules must have one entry per answer: got {modules.size} for {size} answers")
    return modules


class ModuleIRT(Estimator):
    """2PL item response model with an overall ability and a deviation per (learner, module) pair.

    Fitting, in three empirical-Bayes steps:

    1. The items' discrimination and difficulty are fitted by marginal maximum likelihood (:class:`IRT`).
    2. Each difficulty is shrunk toward its module's mean (normal-normal posterior with the item's
       sampling variance, 1 / Fisher information); the module means and their spread ``sigma_b`` are
       estimated from the items by the method of moments (Morris, 1983, JASA 78:47-55).
    3. With the items fixed, abilities and deviations are the joint posterior mode (Newton's method;
       each learner's Hessian is an arrow matrix, solved in closed form). The deviations' spread ``tau``
       is chosen among ``deviation_spreads`` by the log-loss on an inner validation split of the
       training answers (``validation_fraction`` of them, drawn with ``random_state``); the held-out
       answers of an evaluation are never seen. With ``tau = 0`` the model is the 2PL.

    Memory is linear in the answers and the (learner, module) pairs seen.

    Parameters
    ----------
    deviation_spreads : sequence of float
        Candidate values of ``tau`` (>= 0), compared on the inner validation split.
    validation_fraction : float
        Share of the training answers held out to choose ``tau`` (0 < f < 0.5).
    max_validation_answers : int
        The choice of ``tau`` uses the answers of a random subset of learners holding about this
        many answers, so that its cost stays bounded on large data.
    random_state : int
        Seed of the inner validation split.
    quadrature_points, max_iter, tol
        Passed to :class:`IRT` for the items' marginal maximum likelihood.

    Attributes
    ----------
    difficulty_, discrimination_, intercept_ : ndarray of shape (n_items,)
        Item parameters b (after shrinkage toward the module means), a and d = -a b.
    item_module_ : ndarray of shape (n_items,)
        The module most of each item's answers belong to (-1 for an item without answers).
    module_difficulty_ : ndarray of shape (n_modules,)
        Mean difficulty of each module's items; ``difficulty_spread_`` is ``sigma_b``.
    ability_, ability_sd_ : ndarray of shape (n_users,)
        Overall ability (posterior mode) and its approximate posterior SD.
    deviation_users_, deviation_modules_ : ndarray of shape (n_pairs,)
        The (learner, module) pairs seen in training, sorted by learner then module.
    deviation_, deviation_sd_ : ndarray of shape (n_pairs,)
        Each pair's deviation from the overall ability (posterior mode) and its posterior SD.
    deviation_spread_ : float
        The chosen ``tau``; ``validation_log_loss_`` maps every candidate to its validation log-loss.
    n_users_, n_items_, n_modules_ : int
        Sizes seen in ``fit``; larger indices are unseen in ``predict_proba``.
    log_likelihood_ : float
        Log-likelihood of the training answers at the fitted abilities, deviations and items
        (conditional on them, unlike the 2PL's marginal one).
    n_iter_, converged_ :
        Of the items' EM (see :class:`IRT`).

    Notes
    -----
    ``predict_proba`` gives an unseen learner ability 0, an unseen (learner, module) pair deviation 0
    (the overall ability), and an unseen item its module's mean difficulty (the mean item when the
    module is unseen too) with the mean discrimination.
    """

    def __init__(
        self,
        *,
        deviation_spreads=DEFAULT_DEVIATION_SPREADS,
        validation_fraction=0.1,
        max_validation_answers=200_000,
        random_state=0,
        quadrature_points=21,
        max_iter=2000,
        tol=1e-4,
    ):
        self.deviation_spreads = deviation_spreads
        self.validation_fraction = validation_fraction
        self.max_validation_answers = max_validation_answers
        self.random_state = random_state
        self.quadrature_points = quadrature_points
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ fitting
    def fit(self, users, items, correct, modules, n_users=None, n_items=None, n_modules=None, callback=None):
        """Fit items, abilities and per-module deviations to the answers; return ``self``.

        ``users``, ``items`` and ``modules`` are integer-coded (0..n-1), ``correct`` is 0/1, all 1-D
        and of equal length. ``n_users``/``n_items``/``n_modules`` may declare more than appear.
        ``callback(iteration)`` is passed to the items' EM (progress reports and heartbeats).
        """
        spreads = self._check_params()
        users, items, correct = check_answers(users, items, correct)
        modules = _check_modules(modules, users.size)
        n_users = max(int(users.max()) + 1, n_users or 0)
        n_items = max(int(items.max()) + 1, n_items or 0)
        n_modules = max(int(modules.max()) + 1, n_modules or 0)
        self._fit_items(users, items, correct, modules, (n_users, n_items, n_modules), callback)
        a, d = self.discrimination_, self.intercept_
        pair_key, pair_of_answer = np.unique(users * n_modules + modules, return_inverse=True)
        scores = self._validation_scores(users, items, correct, modules, a, d, n_users, n_modules, spreads)
        tau = min(spreads, key=lambda s: (scores[s], s))
        ability, ability_sd, deviation, deviation_sd = solve_abilities(
            users, pair_of_answer, pair_key // n_modules, a[items], d[items], correct, tau, n_users, pair_key.size
        )
        self.ability_ = ability
        self.ability_sd_ = ability_sd
        self.deviation_users_ = pair_key // n_modules
        self.deviation_modules_ = pair_key % n_modules
        self.deviation_ = deviation
        self.deviation_sd_ = deviation_sd
        self.deviation_spread_ = float(tau)
        self.validation_log_loss_ = scores
        eta = a[items] * (ability[users] + deviation[pair_of_answer]) + d[items]
        self.log_likelihood_ = float(-np.sum(log1pexp(np.where(correct == 1, -eta, eta))))
        self.n_users_ = n_users
        self.n_modules_ = n_modules
        return self

    def _fit_items(self, users, items, correct, modules, sizes, callback):
        """Steps 1 and 2: the items' 2PL, then difficulties shrunk toward their module's mean."""
        n_users, n_items, n_modules = sizes
        irt = IRT(model="2pl", quadrature_points=self.quadrature_points, max_iter=self.max_iter, tol=self.tol)
        irt.fit(users, items, correct, n_users=n_users, n_items=n_items, callback=callback)
        a = irt.discrimination_
        item_module = majority_module(items, modules, n_items)
        b, module_b, spread_b = shrink_difficulties(
            irt.difficulty_, a, irt.ability_, users, items, item_module, n_modules
        )
        self.discrimination_ = a
        self.difficulty_ = b
        self.intercept_ = -a * b
        self.item_module_ = item_module
        self.module_difficulty_ = module_b
        self.difficulty_spread_ = float(spread_b)
        self.n_items_ = n_items
        self.n_iter_ = irt.n_iter_
        self.converged_ = irt.converged_

    def _check_params(self):
        try:
            spreads = tuple(float(s) for s in self.deviation_spreads)
        except (TypeError, ValueError):
            message = f"deviation_spreads must be a sequence of numbers, got {self.deviation_spreads!r}"
            raise ValueError(message) from None
        if not spreads or not all(np.isfinite(s) and s >= 0 for s in spreads):
            raise ValueError(f"deviation_spreads must be non-empty, finite and >= 0, got {self.deviation_spreads!r}")
        if not 0 < self.validation_fraction < 0.5:
            raise ValueError(f"validation_fraction must be between 0 and 0.5, got {self.validation_fraction!r}")
        if not isinstance(self.max_validation_answers, int) or self.max_validation_answers < 1:
            raise ValueError(f"max_validation_answers must be a positive integer, got {self.max_validation_answers!r}")
        return spreads

    def _validation_scores(self, users, items, correct, modules, a, d, n_users, n_modules, spreads):
        """Log-loss on an inner split of the training answers for every candidate spread."""
        if len(spreads) == 1:
            return {spreads[0]: float("nan")}
        rng = np.random.default_rng(self.random_state)
        # A random subset of learners holding about max_validation_answers answers.
        share = min(1.0, self.max_validation_answers / users.size)
        keep = (rng.random(n_users) < share)[users] if share < 1.0 else np.ones(users.size, dtype=bool)
        if keep.sum() < 2:
            keep[:] = True
        held = keep & (rng.random(users.size) < self.validation_fraction)
        fit = keep & ~held
        if held.sum() == 0 or fit.sum() == 0:
            return {s: float("nan") for s in spreads}
        pair_key, pair_of_answer = np.unique(users[fit] * n_modules + modules[fit], return_inverse=True)
        args = (users[fit], pair_of_answer, pair_key // n_modules, a[items[fit]], d[items[fit]], correct[fit])
        held_key = users[held] * n_modules + modules[held]
        position = np.minimum(np.searchsorted(pair_key, held_key), pair_key.size - 1)
        found = pair_key[position] == held_key
        scores = {}
        for tau in spreads:
            theta, _, deviation, _ = solve_abilities(*args, tau, n_users, pair_key.size)
            eta = a[items[held]] * (theta[users[held]] + np.where(found, deviation[position], 0.0)) + d[items[held]]
            # log-loss from logits: log(1 + exp(-eta)) if right, log(1 + exp(eta)) if wrong.
            scores[tau] = float(np.mean(log1pexp(np.where(correct[held] == 1, -eta, eta))))
        return scores

    # --------------------------------------------------------------- prediction
    def predict_proba(self, users, items, modules):
        """Probability that each (user, item) answer in its module is right.

        Unseen learners get ability 0, unseen (learner, module) pairs deviation 0, unseen items
        their module's mean difficulty (or the mean item's) and the mean discrimination.
        """
        check_fitted(self, "ModuleIRT model", call="fit(users, items, correct, modules)")
        users, items = check_pairs(users, items)
        modules = _check_modules(modules, users.size)
        theta = np.zeros(users.size)
        seen_user = users < self.n_users_
        theta[seen_user] = self.ability_[users[seen_user]]
        theta += self.deviations(users, modules)
        a = np.full(items.size, self.discrimination_.mean())
        b = np.full(items.size, self.difficulty_.mean())
        seen_module = modules < self.n_modules_
        b[seen_module] = self.module_difficulty_[modules[seen_module]]
        seen_item = items < self.n_items_
        a[seen_item] = self.discrimination_[items[seen_item]]
        b[seen_item] = self.difficulty_[items[seen_item]]
        return sigmoid(a * (theta - b))

    def deviations(self, users, modules):
        """Each (learner, module) pair's deviation from the overall ability; 0 for pairs not seen."""
        key = self.deviation_users_ * max(self.n_modules_, 1) + self.deviation_modules_
        wanted = np.asarray(users, dtype=np.int64) * max(self.n_modules_, 1) + np.asarray(modules, dtype=np.int64)
        wanted = np.where(np.asarray(modules) < self.n_modules_, wanted, -1)
        out = np.zeros(wanted.size)
        if key.size:
            position = np.minimum(np.searchsorted(key, wanted), key.size - 1)
            found = key[position] == wanted
            out[found] = self.deviation_[position[found]]
        return out
