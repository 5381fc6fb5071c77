"""The EM machinery behind :class:`~retraining.irt.model.IRT`: Bock-Aitkin EM with SQUAREM.

Abilities are integrated out over Gauss-Hermite nodes (the E-step gives every user's posterior over
the nodes with two sparse matrix products), items are re-fitted to the expected counts by a damped,
bounded Newton solve (the M-step, all items at once), and the EM map is accelerated with SQUAREM
(Varadhan & Roland, 2008) so that large data sets converge in a few dozen E-steps. The E-step
(:func:`posterior`) also re-scores one learner between calibrations (``adaptive.py``).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .prediction import log1pexp, sigmoid

# Weak priors used when ``priors=True``: b ~ N(0, DIFFICULTY_PRIOR_SD^2),
# log(a) ~ N(0, LOG_DISCRIMINATION_PRIOR_SD^2). They keep items answered all right (or all
# wrong) finite and shrink items with few answers; they are far wider than typical estimates.
DIFFICULTY_PRIOR_SD = 2.0
LOG_DISCRIMINATION_PRIOR_SD = 0.5

_SLOPE_BOUNDS = (1e-2, 20.0)
_INTERCEPT_BOUNDS = (-30.0, 30.0)
_MAX_NEWTON_STEP = 1.0


def quadrature(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for the standard normal (weights sum to 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    return nodes, weights / weights.sum()


def posterior(total, right, slopes, intercepts, nodes, log_weights) -> tuple[np.ndarray, float]:
    """The E-step: each user's posterior over the quadrature nodes, and the marginal log-likelihood.

    ``total`` and ``right`` are (users, items) matrices, sparse or dense, of answers and of right
    answers; ``slopes``/``intercepts`` the items' a and d; ``log_weights`` the log prior mass of
    each node. Training calls it for every user at once, :func:`eap_ability` for one learner.
    """
    eta = np.outer(slopes, nodes) + intercepts[:, None]  # (items, nodes)
    log_wrong = -log1pexp(eta)
    return normalised_posterior(total @ log_wrong + right @ eta, log_weights)  # (users, nodes)


def normalised_posterior(log_lik, log_weights) -> tuple[np.ndarray, float]:
    """Posteriors over the nodes from each user's log-likelihood there (a (users, nodes) array,
    overwritten), and the marginal log-likelihood: the second half of :func:`posterior`."""
    log_lik += log_weights
    peak = log_lik.max(axis=1, keepdims=True)
    np.subtract(log_lik, peak, out=log_lik)
    np.exp(log_lik, out=log_lik)
    norm = log_lik.sum(axis=1, keepdims=True)
    log_likelihood = float(np.sum(np.log(norm)) + np.sum(peak))
    log_lik /= norm
    return log_lik, log_likelihood


def posterior_moments(weights, nodes) -> tuple[np.ndarray, np.ndarray]:
    """Expected a-posteriori ability and its posterior SD from posteriors over the nodes."""
    ability = weights @ nodes
    return ability, np.sqrt(np.maximum(weights @ nodes**2 - ability**2, 0.0))


class AnswerCounts:
    """The answers as sparse count matrices (duplicates of a (user, item) pair are summed)."""

    def __init__(self, users, items, correct, n_users, n_items):
        shape = (n_users, n_items)
        ones = np.ones(users.size)
        self.total = sparse.csr_matrix((ones, (users, items)), shape=shape)
        self.right = sparse.csr_matrix((correct, (users, items)), shape=shape)
        self.right.eliminate_zeros()
        self.total_t = self.total.T.tocsr()
        self.right_t = self.right.T.tocsr()
        self.item_totals = np.asarray(self.total.sum(axis=0)).ravel()
        self.item_rights = np.asarray(self.right.sum(axis=0)).ravel()


class EMFitter:
    """Bock-Aitkin EM for the item parameters, SQUAREM-accelerated (:meth:`run`)."""

    def __init__(self, data: AnswerCounts, nodes, weights, priors: bool, callback=None):
        self.data = data
        self.callback = callback
        self.evaluations = 0
        self.nodes = nodes
        self.log_weights = np.log(weights)
        self.priors = priors

    def start_intercepts(self):
        """Intercepts from the items' smoothed proportions correct (logits)."""
        rate = (self.data.item_rights + 0.5) / (self.data.item_totals + 1.0)
        return np.log(rate / (1.0 - rate))

    # E-step ---------------------------------------------------------------------------------
    def e_step(self, slopes, intercepts):
        """Posterior over the nodes for every user, and the marginal log-likelihood."""
        return posterior(self.data.total, self.data.right, slopes, intercepts, self.nodes, self.log_weights)

    def expected_counts(self, posterior):
        """Expected respondents and expected right answers per item and node."""
        return self.data.total_t @ posterior, self.data.right_t @ posterior

    # M-step ---------------------------------------------------------------------------------
    def log_prior(self, slopes, intercepts, free_slopes):
        if not self.priors:
            return 0.0
        difficulty = -intercepts / slopes
        value = -0.5 * np.sum((difficulty / DIFFICULTY_PRIOR_SD) ** 2)
        if free_slopes:
            log_a = np.log(slopes)
            value += np.sum(-0.5 * (log_a / LOG_DISCRIMINATION_PRIOR_SD) ** 2 - log_a)
        return float(value)

    def _item_objective(self, slopes, intercepts, n, r, free_slopes):
        eta = np.outer(slopes, self.nodes) + intercepts[:, None]
        value = np.sum(r * eta - n * log1pexp(eta), axis=1)
        if self.priors:
            value -= 0.5 * (intercepts / (slopes * DIFFICULTY_PRIOR_SD)) ** 2
            if free_slopes:
                log_a = np.log(slopes)
                value += -0.5 * (log_a / LOG_DISCRIMINATION_PRIOR_SD) ** 2 - log_a
        return value

    def m_step(self, slopes, intercepts, n, r, free_slopes, iterations=25):
        """Maximise each item's expected complete-data log-posterior by damped Newton steps.

        Items are solved together, vectorised; an item leaves the working set once its step is
        below 1e-7, so the cost falls as items converge.
        """
        a, d = slopes.copy(), intercepts.copy()
        active = np.arange(a.size)
        current = self._item_objective(a, d, n, r, free_slopes)
        for _ in range(iterations):
            step_a, step_d = self._newton_step(a[active], d[active], n[active], r[active], free_slopes)
            # Damping: no parameter moves more than _MAX_NEWTON_STEP in one step.
            largest = np.maximum(np.abs(step_a), np.abs(step_d))
            scale = np.minimum(1.0, _MAX_NEWTON_STEP / np.maximum(largest, 1e-300))
            step_a *= scale
            step_d *= scale
            # Step halving until no item's objective decreases (those that still do stay put).
            todo = np.arange(active.size)
            t = 1.0
            for _ in range(8):
                idx = active[todo]
                new_a = np.clip(a[idx] + t * step_a[todo], *_SLOPE_BOUNDS) if free_slopes else a[idx]
                new_d = np.clip(d[idx] + t * step_d[todo], *_INTERCEPT_BOUNDS)
                value = self._item_objective(new_a, new_d, n[idx], r[idx], free_slopes)
                better = value >= current[idx] - 1e-10
                take = idx[better]
                a[take], d[take], current[take] = new_a[better], new_d[better], value[better]
                todo = todo[~better]
                if todo.size == 0:
                    break
                t *= 0.5
            moved = largest * scale
            moved[todo] = 0.0
            active = active[moved > 1e-7]
            if active.size == 0:
                break
        return a, d

    def _newton_step(self, a, d, n, r, free_slopes):
        """Newton direction on (a, d) with a positive-definite curvature approximation."""
        x = self.nodes
        var_b = DIFFICULTY_PRIOR_SD**2
        var_la = LOG_DISCRIMINATION_PRIOR_SD**2
        p = sigmoid(np.outer(a, x) + d[:, None])
        resid = r - n * p
        info = n * p * (1.0 - p)
        g_d = resid.sum(axis=1)
        i_dd = info.sum(axis=1)
        if self.priors:
            g_d -= d / (a * a * var_b)
            i_dd += 1.0 / (a * a * var_b)
        if not free_slopes:
            return np.zeros_like(a), g_d / np.maximum(i_dd, 1e-12)
        g_a = resid @ x
        h_ad = info @ x
        h_aa = info @ (x * x)
        if self.priors:
            log_a = np.log(a)
            g_a += d * d / (a**3 * var_b) - log_a / (a * var_la) - 1.0 / a
            # Exact curvature of the priors (normal on b = -d/a, log-normal on a).
            h_aa += 3.0 * d * d / (a**4 * var_b) + (1.0 - log_a) / (a * a * var_la) - 1.0 / (a * a)
            h_ad -= 2.0 * d / (a**3 * var_b)
        # Where the curvature is not positive definite, shift it (Levenberg-Marquardt style).
        trace = h_aa + i_dd
        smallest = 0.5 * (trace - np.sqrt((h_aa - i_dd) ** 2 + 4.0 * h_ad * h_ad))
        shift = np.maximum(1e-6 * np.abs(trace) + 1e-12 - smallest, 0.0)
        h_aa = h_aa + shift
        h_dd = i_dd + shift
        det = h_aa * h_dd - h_ad * h_ad
        return (h_dd * g_a - h_ad * g_d) / det, (h_aa * g_d - h_ad * g_a) / det

    # EM map and acceleration ----------------------------------------------------------------
    def em_map(self, slopes, intercepts, free_slopes):
        """One EM iteration from (slopes, intercepts); also returns the objective at the input."""
        posterior, log_likelihood = self.e_step(slopes, intercepts)
        n, r = self.expected_counts(posterior)
        objective = log_likelihood + self.log_prior(slopes, intercepts, free_slopes)
        new_a, new_d = self.m_step(slopes, intercepts, n, r, free_slopes)
        self.evaluations += 1
        if self.callback is not None:
            self.callback(self.evaluations)
        return new_a, new_d, objective

    def _project(self, a, d, free_slopes):
        a = np.clip(a, *_SLOPE_BOUNDS) if free_slopes else a
        return a, np.clip(d, *_INTERCEPT_BOUNDS)

    def run(self, slopes, intercepts, free_slopes, tol, max_iter):
        """SQUAREM-accelerated EM (scheme S3) until no parameter moves more than ``tol``."""
        a0, d0 = slopes, intercepts
        n_iter = 0
        step_max = 1.0
        while n_iter < max_iter:
            a1, d1, objective0 = self.em_map(a0, d0, free_slopes)
            n_iter += 1
            if max(np.max(np.abs(a1 - a0)), np.max(np.abs(d1 - d0))) < tol:
                return a1, d1, n_iter, True
            if n_iter >= max_iter:
                return a1, d1, n_iter, False
            a2, d2, _ = self.em_map(a1, d1, free_slopes)
            n_iter += 1
            r = np.concatenate([a1 - a0, d1 - d0])
            v = np.concatenate([a2 - a1, d2 - d1]) - r
            v_norm = np.linalg.norm(v)
            if v_norm == 0.0:
                a0, d0 = a2, d2
                continue
            alpha = -min(step_max, max(1.0, np.linalg.norm(r) / v_norm))
            k = a0.size
            a_new = a0 - 2 * alpha * r[:k] + alpha * alpha * v[:k]
            d_new = d0 - 2 * alpha * r[k:] + alpha * alpha * v[k:]
            a_new, d_new = self._project(a_new, d_new, free_slopes)
            if n_iter >= max_iter:
                return a2, d2, n_iter, False
            # Stabilising EM step from the extrapolated point; fall back if it lost ground.
            a3, d3, objective_new = self.em_map(a_new, d_new, free_slopes)
            n_iter += 1
            if np.isfinite(objective_new) and objective_new >= objective0 - 1e-8 * abs(objective0):
                a0, d0 = a3, d3
                if alpha == -step_max:
                    step_max *= 4.0
            else:
                a0, d0 = a2, d2
                step_max = max(1.0, step_max / 4.0)
        return a0, d0, n_iter, False
