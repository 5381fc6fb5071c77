"""Marginal-maximum-likelihood IRT (1PL/2PL) on sparse answers: Bock-Aitkin EM with SQUAREM.

Each answer is a triple (user, item, correct). With ability theta ~ N(0, 1) the model is

    P(correct | theta) = 1 / (1 + exp(-(a * theta + d))),   b = -d / a,

with slope (discrimination) ``a`` and intercept ``d`` per item. The fitting itself (EM over
Gauss-Hermite nodes, SQUAREM acceleration) is in ``em.py``.
"""

from __future__ import annotations

import numpy as np

from ._validation import Estimator, check_answers, check_fitted, check_pairs
from .em import AnswerCounts, EMFitter, posterior_moments, quadrature
from .prediction import predict_2pl


class IRT(Estimator):
    """Item response theory model fitted by marginal maximum likelihood.

    Parameters
    ----------
    model : {"2pl", "1pl"}
        "2pl" fits a discrimination and a difficulty per item; "1pl" fixes every discrimination at 1.
    priors : bool
        Weak priors on the item parameters (normal on difficulty, log-normal on discrimination).
        On for production data; off to reproduce published pure-MML tables.
    quadrature_points : int
        Gauss-Hermite nodes used to integrate over ability (theta ~ N(0, 1)).
    max_iter : int
        Most EM-map evaluations before giving up (``converged_`` is then False).
    tol : float
        Convergence: no item parameter (a, d) moved more than ``tol`` in one EM iteration.

    Attributes
    ----------
    difficulty_, discrimination_, intercept_ : ndarray of shape (n_items,)
        Item parameters b, a and d = -a b.
    ability_, ability_sd_ : ndarray of shape (n_users,)
        Expected a-posteriori ability of each user and its posterior standard deviation.
    log_likelihood_ : float
        Marginal log-likelihood of the answers at the estimate (priors not included).
    n_iter_ : int
        EM-map evaluations used. ``converged_`` says whether ``tol`` was reached.
    n_users_, n_items_ : int
        Sizes seen in ``fit``; larger indices are unseen in ``predict_proba``.

    Notes
    -----
    ``predict_proba`` gives unseen users (index >= ``n_users_``) the prior mean ability 0 and
    unseen items (index >= ``n_items_``) the mean item: mean discrimination, mean difficulty.
    """

    def __init__(self, *, model="2pl", priors=True, quadrature_points=21, max_iter=2000, tol=1e-4):
        self.model = model
        self.priors = priors
        self.quadrature_points = quadrature_points
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ fitting
    def fit(self, users, items, correct, n_users=None, n_items=None, callback=None):
        """Fit item parameters and abilities to the answers; return ``self``.

        ``users`` and ``items`` are integer-coded (0..n-1), ``correct`` is 0/1, all 1-D and of
        equal length. ``n_users``/``n_items`` may declare more users or items than appear
        (those get the prior). ``callback(iteration)``, if given, is called after every EM
        iteration (for progress reports and heartbeats); an exception it raises aborts the fit.
        """
        self._check_params()
        users, items, correct = check_answers(users, items, correct)
        n_users = max(int(users.max()) + 1, n_users or 0)
        n_items = max(int(items.max()) + 1, n_items or 0)

        data = AnswerCounts(users, items, correct, n_users, n_items)
        nodes, weights = quadrature(self.quadrature_points)
        fitter = EMFitter(data, nodes, weights, self.priors, callback)

        slopes = np.ones(n_items)
        intercepts = fitter.start_intercepts()
        slopes, intercepts, n_iter, converged = fitter.run(
            slopes,
            intercepts,
            free_slopes=False,
            tol=self.tol if self.model == "1pl" else 1e-2,
            max_iter=self.max_iter,
        )
        if self.model == "2pl":
            slopes, intercepts, more, converged = fitter.run(
                slopes, intercepts, free_slopes=True, tol=self.tol, max_iter=self.max_iter - n_iter
            )
            n_iter += more

        weights_post, log_likelihood = fitter.e_step(slopes, intercepts)
        ability, ability_sd = posterior_moments(weights_post, nodes)

        self.discrimination_ = slopes
        self.intercept_ = intercepts
        self.difficulty_ = -intercepts / slopes
        self.ability_ = ability
        self.ability_sd_ = ability_sd
        self.log_likelihood_ = float(log_likelihood)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        self.n_users_ = n_users
        self.n_items_ = n_items
        return self

    def _check_params(self):
        if self.model not in ("1pl", "2pl"):
            raise ValueError(f'model must be "1pl" or "2pl", got {self.model!r}')
        if not isinstance(self.quadrature_points, int) or self.quadrature_points < 3:
            raise ValueError(f"quadrature_points must be an integer >= 3, got {self.quadrature_points!r}")
        if not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not self.tol > 0:
            raise ValueError(f"tol must be positive, got {self.tol!r}")

    # --------------------------------------------------------------- prediction
    def predict_proba(self, users, items):
        """Probability that each (user, item) pair is answered correctly.

        Indices beyond the fitted range are cold starts: ability 0 for an unseen user, the mean
        discrimination and mean difficulty for an unseen item.
        """
        check_fitted(self, "IRT model")
        users, items = check_pairs(users, items)
        return predict_2pl(
            users, items, ability=self.ability_, discrimination=self.discrimination_, difficulty=self.difficulty_
        )
