"""The original system's success-rate rules, kept as the baseline every real model must beat.

Per question: success rate s; its difficulty starts at the app's label (0 where none) and moves by
``(0.5 - s) * 0.4`` only when the question is too easy (s > 0.8) or too hard (s < 0.3).
Per user: ability from the overall success rate r, linear inside the original's bands:
90 %+ -> theta in [2, 3]; 70-89 % -> [1, 2); 50-69 % -> [0, 1); below 50 % -> [-3, 0).
Prediction: P(correct) = 1 / (1 + exp(-(theta - difficulty))); every discrimination is 1.
"""

from __future__ import annotations

import numpy as np

from ._validation import Estimator, check_answers, check_fitted, check_pairs
from .prediction import predict_2pl


def ability_from_success_rate(rate):
    """Map success rates in [0, 1] onto the original's ability bands (piecewise linear)."""
    rate = np.asarray(rate, dtype=np.float64)
    return np.select(
        [rate >= 0.9, rate >= 0.7, rate >= 0.5],
        [2.0 + (rate - 0.9) * 10.0, 1.0 + (rate - 0.7) * 5.0, (rate - 0.5) * 5.0],
        default=(rate - 0.5) * 6.0,
    )


def adjusted_difficulty(success_rate, initial_difficulty):
    """The original difficulty update: adjust by (0.5 - s) * 0.4 only above 80 % or below 30 %."""
    success_rate = np.asarray(success_rate, dtype=np.float64)
    out_of_band = (success_rate > 0.8) | (success_rate < 0.3)
    return initial_difficulty + np.where(out_of_band, (0.5 - success_rate) * 0.4, 0.0)


class Heuristic(Estimator):
    """Success-rate heuristic with the same interface as :class:`~retraining.irt.IRT`."""

    model = "heuristic"

    def fit(self, users, items, correct, n_users=None, n_items=None, initial_difficulty=None):
        """Compute success rates; ``initial_difficulty`` (per item, NaN = unlabelled) defaults to 0."""
        users, items, correct = check_answers(users, items, correct)
        n_users = max(int(users.max()) + 1, n_users or 0)
        n_items = max(int(items.max()) + 1, n_items or 0)
        start = np.zeros(n_items)
        if initial_difficulty is not None:
            labels = np.asarray(initial_difficulty, dtype=np.float64)
            if labels.shape != (n_items,):
                raise ValueError(f"initial_difficulty must have one value per item ({n_items}), got {labels.shape}")
            start = np.where(np.isnan(labels), 0.0, labels)
        item_n = np.bincount(items, minlength=n_items)
        item_rate = np.bincount(items, weights=correct, minlength=n_items) / np.maximum(item_n, 1)
        user_n = np.bincount(users, minlength=n_users)
        user_rate = np.bincount(users, weights=correct, minlength=n_users) / np.maximum(user_n, 1)
        # Unanswered items keep their label; users with no answers sit at theta 0 (rate 0.5).
        self.difficulty_ = np.where(item_n > 0, adjusted_difficulty(item_rate, start), start)
        self.discrimination_ = np.ones(n_items)
        self.ability_ = np.where(user_n > 0, ability_from_success_rate(user_rate), 0.0)
        self.ability_sd_ = np.full(n_users, np.nan)
        self.success_rate_ = item_rate
        self.log_likelihood_ = None
        self.n_iter_ = 1
        self.converged_ = True
        self.n_users_ = n_users
        self.n_items_ = n_items
        return self

    def predict_proba(self, users, items):
        """P(correct) = 1/(1+exp(-(theta - b))); unseen users theta 0, unseen items the mean b."""
        check_fitted(self, "heuristic")
        users, items = check_pairs(users, items)
        return predict_2pl(
            users, items, ability=self.ability_, discrimination=self.discrimination_, difficulty=self.difficulty_
        )
