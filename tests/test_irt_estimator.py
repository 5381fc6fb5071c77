"""Recovery on simulated data, the estimator's contract, and its errors on bad input."""

import numpy as np
import pytest

from retraining.irt import IRT, NotFittedError, simulate_2pl


@pytest.fixture(scope="module")
def million():
    return simulate_2pl(20_000, 500, 50)


@pytest.fixture(scope="module")
def fitted(million):
    users, items, correct, *_ = million
    return IRT(model="2pl").fit(users, items, correct)


def test_2pl_recovers_a_million_simulated_answers(million, fitted):
    *_, theta, a, b = million
    assert fitted.converged_
    assert np.corrcoef(fitted.difficulty_, b)[0, 1] >= 0.99
    assert np.corrcoef(fitted.discrimination_, a)[0, 1] >= 0.95
    assert np.corrcoef(fitted.ability_, theta)[0, 1] >= 0.94


def test_predict_proba_follows_the_2pl_formula(fitted):
    users = np.array([0, 1, 2])
    items = np.array([5, 6, 7])
    expected = 1 / (1 + np.exp(-fitted.discrimination_[items] * (fitted.ability_[users] - fitted.difficulty_[items])))
    np.testing.assert_allclose(fitted.predict_proba(users, items), expected)


def test_unseen_users_and_items_get_the_prior(fitted):
    unseen_user, unseen_item = fitted.n_users_ + 5, fitted.n_items_
    p_user = fitted.predict_proba([unseen_user], [3])
    a, b = fitted.discrimination_[3], fitted.difficulty_[3]
    np.testing.assert_allclose(p_user, 1 / (1 + np.exp(a * b)))  # theta = 0
    p_item = fitted.predict_proba([0], [unseen_item])
    a, b = fitted.discrimination_.mean(), fitted.difficulty_.mean()
    np.testing.assert_allclose(p_item, 1 / (1 + np.exp(-a * (fitted.ability_[0] - b))))


def test_1pl_fixes_discrimination():
    users, items, correct, *_ = simulate_2pl(500, 40, 20, seed=3)
    model = IRT(model="1pl").fit(users, items, correct)
    np.testing.assert_array_equal(model.discrimination_, 1.0)
    assert model.n_iter_ >= 1 and np.isfinite(model.log_likelihood_)


def test_fit_is_deterministic():
    users, items, correct, *_ = simulate_2pl(300, 30, 15, seed=4)
    first = IRT().fit(users, items, correct)
    second = IRT().fit(users, items, correct)
    np.testing.assert_array_equal(first.difficulty_, second.difficulty_)
    np.testing.assert_array_equal(first.ability_, second.ability_)


def test_priors_keep_perfect_items_finite():
    users, items, correct, *_ = simulate_2pl(300, 20, 10, seed=5)
    correct = correct.copy()
    correct[items == 0] = 1  # everybody gets item 0 right
    correct[items == 1] = 0  # nobody gets item 1 right
    model = IRT(priors=True).fit(users, items, correct)
    assert np.all(np.isfinite(model.difficulty_))
    assert model.difficulty_[0] < model.difficulty_[2:].min()
    assert model.difficulty_[1] > model.difficulty_[2:].max()
    assert abs(model.difficulty_[0]) < 10 and abs(model.difficulty_[1]) < 10


def test_declared_sizes_leave_room_for_unanswered():
    model = IRT(model="1pl").fit([0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 1, 1], n_users=4, n_items=3)
    assert model.ability_.shape == (4,) and model.difficulty_.shape == (3,)
    assert model.ability_[3] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("users", "items", "correct", "message"),
    [
        ([0, 1], [0], [1, 0], "same length"),
        ([], [], [], "no answers"),
        ([0, 1], [0, 1], [1, 2], "only 0 or 1"),
        ([0, -1], [0, 1], [1, 0], "non-negative"),
        ([0, 1.5], [0, 1], [1, 0], "whole numbers"),
        ([0, float("nan")], [0, 1], [1, 0], "NaN"),
        ([0, 1], [0, 1], [1, float("nan")], "NaN"),
        (["a", "b"], [0, 1], [1, 0], "integer indices"),
        ([[0, 1]], [[0, 1]], [[1, 0]], "1-D"),
    ],
)
def test_bad_input_is_a_clear_value_error(users, items, correct, message):
    with pytest.raises(ValueError, match=message):
        IRT().fit(users, items, correct)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="model must be"):
        IRT(model="3pl").fit([0], [0], [1])
    with pytest.raises(ValueError, match="quadrature_points"):
        IRT(quadrature_points=1).fit([0], [0], [1])


def test_predict_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        IRT().predict_proba([0], [0])
