"""ModuleIRT: recovery of per-module deviations, no loss without them, fallbacks and bad input."""

import numpy as np
import pytest

from retraining.irt import IRT, ModuleIRT, NotFittedError, metrics, simulate_2pl_modules


@pytest.fixture(scope="module")
def with_effect():
    # 1,000 learners x 10 modules, about 30 answers in every (learner, module) pair.
    return simulate_2pl_modules(1_000, 400, 10, 300, deviation_sd=0.8, seed=11)


@pytest.fixture(scope="module")
def fitted(with_effect):
    users, items, correct, modules, *_ = with_effect
    return ModuleIRT().fit(users, items, correct, modules)


def test_recovers_the_true_deviations(with_effect, fitted):
    users, _, _, modules, theta, _, _, delta = with_effect
    counts = np.bincount(users * 10 + modules, minlength=delta.size)
    key = fitted.deviation_users_ * 10 + fitted.deviation_modules_
    enough = counts[key] >= 20
    assert enough.sum() >= 9_000
    truth = delta[fitted.deviation_users_, fitted.deviation_modules_]
    assert np.corrcoef(fitted.deviation_[enough], truth[enough])[0, 1] >= 0.8
    assert 0.5 <= fitted.deviation_spread_ <= 1.2  # the truth is 0.8
    # Overall ability: theta plus the learner's mean deviation (what the deviations are centred on).
    assert np.corrcoef(fitted.ability_, theta + delta.mean(axis=1))[0, 1] >= 0.9


def against_2pl(users, items, correct, modules, *, seed):
    """The module model and the plain 2PL fitted on the same 80 %, scored on the other 20 %:
    (module model, its held-out metrics, the 2PL's)."""
    held = np.random.default_rng(seed).random(users.size) < 0.2
    fit = ~held
    two_pl = IRT().fit(users[fit], items[fit], correct[fit])
    ours = ModuleIRT().fit(users[fit], items[fit], correct[fit], modules[fit])
    base = metrics.evaluate(correct[held], two_pl.predict_proba(users[held], items[held]))
    mine = metrics.evaluate(correct[held], ours.predict_proba(users[held], items[held], modules[held]))
    return ours, mine, base


def test_predicts_held_out_answers_better_than_2pl_when_modules_matter(with_effect):
    users, items, correct, modules, *_ = with_effect
    _, mine, base = against_2pl(users, items, correct, modules, seed=0)
    assert mine["auc"] >= base["auc"] + 0.01
    assert mine["logLoss"] <= base["logLoss"] - 0.005


def test_no_loss_against_2pl_without_a_module_effect():
    users, items, correct, modules, *_ = simulate_2pl_modules(3_000, 200, 10, 60, deviation_sd=0.0, seed=12)
    ours, mine, base = against_2pl(users, items, correct, modules, seed=1)
    assert ours.deviation_spread_ <= 0.2
    assert mine["auc"] >= base["auc"] - 0.002
    assert mine["logLoss"] <= base["logLoss"] + 0.002


def test_predict_proba_follows_the_model(fitted):
    users, items, modules = np.array([0, 1, 2]), np.array([5, 6, 7]), np.array([0, 1, 2])
    deviation = fitted.deviations(users, modules)
    pair = (fitted.deviation_users_ == 1) & (fitted.deviation_modules_ == 1)
    assert deviation[1] == fitted.deviation_[pair][0]
    theta = fitted.ability_[users] + deviation
    a, b = fitted.discrimination_[items], fitted.difficulty_[items]
    np.testing.assert_allclose(fitted.predict_proba(users, items, modules), 1 / (1 + np.exp(-a * (theta - b))))


def test_unseen_learner_module_and_item_fall_back(fitted):
    a, b = fitted.discrimination_[3], fitted.difficulty_[3]
    # Unseen learner: ability 0, no deviation.
    np.testing.assert_allclose(fitted.predict_proba([fitted.n_users_], [3], [3]), 1 / (1 + np.exp(a * b)))
    # Unseen module: the overall ability.
    theta = fitted.ability_[0]
    np.testing.assert_allclose(
        fitted.predict_proba([0], [3], [fitted.n_modules_ + 2]), 1 / (1 + np.exp(-a * (theta - b)))
    )
    # Unseen item of a known module: that module's mean difficulty, the mean discrimination.
    theta = fitted.ability_[0] + fitted.deviations([0], [2])[0]
    a_mean, b_module = fitted.discrimination_.mean(), fitted.module_difficulty_[2]
    np.testing.assert_allclose(
        fitted.predict_proba([0], [fitted.n_items_], [2]), 1 / (1 + np.exp(-a_mean * (theta - b_module)))
    )


def test_items_know_their_module_and_memory_follows_the_pairs(fitted):
    np.testing.assert_array_equal(fitted.item_module_, np.arange(400) % 10)
    assert fitted.deviation_.shape == fitted.deviation_sd_.shape == (1_000 * 10,)
    assert np.all(fitted.deviation_sd_ > 0) and np.all(fitted.deviation_sd_ < fitted.deviation_spread_)


def test_fit_is_deterministic():
    users, items, correct, modules, *_ = simulate_2pl_modules(300, 30, 3, 15, deviation_sd=0.5, seed=4)
    first = ModuleIRT().fit(users, items, correct, modules)
    second = ModuleIRT().fit(users, items, correct, modules)
    np.testing.assert_array_equal(first.deviation_, second.deviation_)
    np.testing.assert_array_equal(first.ability_, second.ability_)


def test_one_spread_skips_the_validation_split():
    users, items, correct, modules, *_ = simulate_2pl_modules(300, 30, 3, 15, deviation_sd=0.5, seed=4)
    model = ModuleIRT(deviation_spreads=[0.0]).fit(users, items, correct, modules)
    assert model.deviation_spread_ == 0.0
    np.testing.assert_array_equal(model.deviation_, 0.0)


@pytest.mark.parametrize(
    ("users", "items", "correct", "modules", "message"),
    [
        ([0, 1], [0], [1, 0], [0, 0], "same length"),
        ([0, 1], [0, 1], [1, 0], [0], "one entry per answer"),
        ([], [], [], [], "no answers"),
        ([0, 1], [0, 1], [1, 2], [0, 0], "only 0 or 1"),
        ([0, 1], [0, 1], [1, 0], [0, -1], "non-negative"),
        ([0, 1], [0, 1], [1, 0], [0, 0.5], "whole numbers"),
        ([0, 1], [0, 1], [1, 0], [0, float("nan")], "NaN"),
        ([0, 1], [0, 1], [1, 0], ["x", "y"], "integer indices"),
        ([[0, 1]], [[0, 1]], [[1, 0]], [[0, 0]], "1-D"),
    ],
)
def test_bad_input_is_a_clear_value_error(users, items, correct, modules, message):
    with pytest.raises(ValueError, match=message):
        ModuleIRT().fit(users, items, correct, modules)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"deviation_spreads": []}, "deviation_spreads"),
        ({"deviation_spreads": [0.5, -1]}, "deviation_spreads"),
        ({"deviation_spreads": "abc"}, "deviation_spreads"),
        ({"validation_fraction": 0.7}, "validation_fraction"),
        ({"max_validation_answers": 0}, "max_validation_answers"),
        ({"quadrature_points": 1}, "quadrature_points"),
    ],
)
def test_bad_settings_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        ModuleIRT(**params).fit([0, 1], [0, 1], [1, 0], [0, 0])


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        ModuleIRT((0.0, 0.5))


def test_predict_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        ModuleIRT().predict_proba([0], [0], [0])


def test_predict_refuses_mismatched_modules(fitted):
    with pytest.raises(ValueError, match="one entry per answer"):
        fitted.predict_proba([0, 1], [0, 1], [0])
