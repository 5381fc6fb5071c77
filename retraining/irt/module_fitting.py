"""The steps of :class:`~retraining.irt.modules.ModuleIRT`'s fit after the items' 2PL.

Which module each item belongs to, the difficulties' empirical-Bayes shrinkage toward their
module's mean, and the joint posterior mode of abilities and per-module deviations.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from .em import DIFFICULTY_PRIOR_SD
from .prediction import sigmoid

_MAX_NEWTON_STEP = 1.0


def majority_module(items, modules, n_items) -> np.ndarray:
    """The module most of each item's answers carry (ties: the lowest index); -1 without answers."""
    n_modules = int(modules.max()) + 1
    pairs, counts = np.unique(items * n_modules + modules, return_counts=True)
    item_of_pair = pairs // n_modules
    # Sort by item, then by count descending, then module ascending: the first row per item wins.
    order = np.lexsort((pairs % n_modules, -counts, item_of_pair))
    first = np.ones(order.size, dtype=bool)
    first[1:] = item_of_pair[order][1:] != item_of_pair[order][:-1]
    out = np.full(n_items, -1, dtype=np.int64)
    out[item_of_pair[order][first]] = (pairs % n_modules)[order][first]
    return out


def shrink_difficulties(b, a, theta, users, items, item_module, n_modules):
    """Empirical-Bayes shrinkage of difficulties toward module means.

    Each fitted difficulty is read as a noisy measure of the item's true difficulty with variance
    1 / (Fisher information + the 2PL's own prior precision); the module means and the spread
    ``sigma_b`` maximise the marginal likelihood of the difficulties (normal-normal model, module
    means profiled out). Returns the shrunk difficulties, the module means and ``sigma_b``. Items
    without answers get their module's mean (the overall mean without a module).
    """
    p = sigmoid(a[items] * (theta[users] - b[items]))
    information = np.bincount(items, a[items] ** 2 * p * (1.0 - p), minlength=b.size)
    answered = (information > 0) & (item_module >= 0)
    module = item_module[answered]
    # The 2PL's N(0, DIFFICULTY_PRIOR_SD^2) prior already pulled b toward 0: undo it to read the data alone.
    prior_precision = 1.0 / DIFFICULTY_PRIOR_SD**2
    info = information[answered]
    b_seen = b[answered] * (info + prior_precision) / info
    v_seen = 1.0 / info
    overall = float(np.average(b_seen, weights=info)) if b_seen.size else 0.0

    def means_for(spread2):
        weight = 1.0 / (spread2 + v_seen)
        sums = np.bincount(module, weight * b_seen, minlength=n_modules)
        weights = np.bincount(module, weight, minlength=n_modules)
        return np.where(weights > 0, sums / np.maximum(weights, 1e-300), overall), weight

    def negative_log_likelihood(log_spread):
        spread2 = np.exp(2.0 * log_spread)
        means, weight = means_for(spread2)
        return 0.5 * float(np.sum(weight * (b_seen - means[module]) ** 2 - np.log(weight)))

    if b_seen.size > 1:
        result = optimize.minimize_scalar(negative_log_likelihood, bounds=(np.log(0.05), np.log(5.0)), method="bounded")
        spread = float(np.exp(result.x))
    else:
        spread = DIFFICULTY_PRIOR_SD
    means, _ = means_for(spread**2)
    shrunk = np.empty_like(b)
    shrunk[answered] = (b_seen / v_seen + means[module] / spread**2) / (1.0 / v_seen + 1.0 / spread**2)
    unanswered = ~answered
    shrunk[unanswered] = np.where(item_module[unanswered] >= 0, means[np.maximum(item_module[unanswered], 0)], overall)
    return shrunk, means, spread


def solve_abilities(users, pair_of_answer, pair_user, a, d, correct, tau, n_users, n_pairs):
    """Joint posterior mode of abilities theta ~ N(0, 1) and deviations delta ~ N(0, tau^2).

    ``a``/``d`` are each answer's item slope and intercept. Every learner's Hessian over
    (theta, its deltas) is an arrow matrix; eliminating the deltas (Schur complement) gives each
    Newton step in closed form, vectorised over all learners with ``bincount``. The log-posterior
    is concave, so a few damped Newton steps converge. Returns theta, its SD, delta, its SD
    (the inverse Hessian's diagonal: a Laplace approximation).
    """
    arrow = _ArrowHessian(users, pair_of_answer, pair_user, a, d, correct, tau, n_users, n_pairs)
    theta, deviation = np.zeros(n_users), np.zeros(n_pairs)
    for _ in range(50):
        step_theta, step_pair = arrow.newton_step(theta, deviation)
        if arrow.precision is None:
            # Without deviations learners are independent: each one's step is bounded on its own.
            step_theta = np.clip(step_theta, -_MAX_NEWTON_STEP, _MAX_NEWTON_STEP)
        largest = max(np.max(np.abs(step_theta), initial=0.0), np.max(np.abs(step_pair), initial=0.0))
        scale = min(1.0, _MAX_NEWTON_STEP / max(largest, 1e-300))
        theta += scale * step_theta
        deviation += scale * step_pair
        if largest < 1e-6:
            break
    sd_theta, sd_pair = arrow.posterior_sds(theta, deviation)
    return theta, sd_theta, deviation, sd_pair


class _ArrowHessian:
    """Gradient and arrow-shaped Hessian of the abilities' log-posterior (tau = 0: no deviations)."""

    def __init__(self, users, pair_of_answer, pair_user, a, d, correct, tau, n_users, n_pairs):
        self.users, self.pair_of_answer, self.pair_user = users, pair_of_answer, pair_user
        self.a, self.d, self.correct = a, d, correct
        self.precision = 1.0 / tau**2 if tau > 0 else None
        self.n_users, self.n_pairs = n_users, n_pairs

    def _curvature(self, theta, deviation):
        """Each answer's p and Fisher weight a^2 p (1 - p), the learners' ability curvature."""
        eta = self.a * theta[self.users] + self.d
        if self.precision is not None:
            eta += self.a * deviation[self.pair_of_answer]
        p = sigmoid(eta)
        weight = self.a * self.a * p * (1.0 - p)
        return p, weight, np.bincount(self.users, weight, minlength=self.n_users) + 1.0

    def _pairs(self, weight, h_theta):
        """The pairs' information and curvature, and the abilities' Schur complement."""
        info_pair = np.bincount(self.pair_of_answer, weight, minlength=self.n_pairs)
        h_pair = info_pair + self.precision
        schur = h_theta - np.bincount(self.pair_user, info_pair * info_pair / h_pair, minlength=self.n_users)
        return info_pair, h_pair, schur

    def newton_step(self, theta, deviation):
        """The Newton step on (theta, delta), solved through the Schur complement."""
        p, weight, h_theta = self._curvature(theta, deviation)
        residual = self.a * (self.correct - p)
        g_theta = np.bincount(self.users, residual, minlength=self.n_users) - theta
        if self.precision is None:
            return g_theta / h_theta, np.zeros(self.n_pairs)
        g_pair = np.bincount(self.pair_of_answer, residual, minlength=self.n_pairs) - deviation * self.precision
        info_pair, h_pair, schur = self._pairs(weight, h_theta)
        step_theta = (
            g_theta - np.bincount(self.pair_user, info_pair * g_pair / h_pair, minlength=self.n_users)
        ) / schur
        return step_theta, (g_pair - info_pair * step_theta[self.pair_user]) / h_pair

    def posterior_sds(self, theta, deviation):
        """Posterior SDs at the mode (the inverse Hessian's diagonal)."""
        _, weight, h_theta = self._curvature(theta, deviation)
        if self.precision is None:
            return 1.0 / np.sqrt(h_theta), np.zeros(self.n_pairs)
        info_pair, h_pair, schur = self._pairs(weight, h_theta)
        var_theta = 1.0 / schur
        return np.sqrt(var_theta), np.sqrt(1.0 / h_pair + (info_pair / h_pair) ** 2 * var_theta[self.pair_user])
