"""Scoring a learner with the items held fixed (live EAP) and ranking the next question."""

import numpy as np
import pytest

from retraining.irt import (
    IRT,
    ModuleIRT,
    NodeTables,
    best_items,
    eap_ability,
    eap_from_log_likelihood,
    information,
    module_ability,
    rank_items,
    simulate_2pl,
    simulate_2pl_modules,
)


@pytest.fixture(scope="module")
def fitted():
    users, items, correct, *_ = simulate_2pl(400, 40, 15, seed=3)
    return users, items, correct, IRT(model="2pl").fit(users, items, correct)


@pytest.mark.parametrize("model", ["2pl", "1pl"])
def test_live_eap_on_the_training_answers_is_the_trained_ability(model):
    users, items, correct, *_ = simulate_2pl(300, 30, 12, seed=5)
    irt = IRT(model=model).fit(users, items, correct)
    for user in (0, 17, 123, 299):
        mine = users == user
        a = irt.discrimination_[items[mine]]
        d = -a * irt.difficulty_[items[mine]]  # as a stored version gives them back: a and b
        ability, sd = eap_ability(a, d, correct[mine])
        assert ability == pytest.approx(irt.ability_[user], abs=1e-6)
        assert sd == pytest.approx(irt.ability_sd_[user], abs=1e-6)


def test_a_repeated_answer_counts_again_as_in_training():
    users = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3])
    items = np.array([0, 0, 1, 0, 1, 1, 2, 2, 0, 2])
    correct = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1, 0])
    irt = IRT(model="2pl").fit(users, items, correct)
    mine = users == 0
    ability, _ = eap_ability(irt.discrimination_[items[mine]], irt.intercept_[items[mine]], correct[mine])
    assert ability == pytest.approx(irt.ability_[0], abs=1e-6)


def test_counts_per_item_give_the_same_ability_as_one_entry_per_answer(fitted):
    *_, irt = fitted
    items = np.array([3, 3, 3, 7, 7, 12])
    correct = np.array([1, 0, 1, 1, 1, 0])
    a, d = irt.discrimination_, irt.intercept_
    per_answer = eap_ability(a[items], d[items], correct)
    per_item = eap_ability(a[[3, 7, 12]], d[[3, 7, 12]], [2, 2, 0], counts=[3, 2, 1])
    assert per_item == pytest.approx(per_answer, abs=1e-12)


def test_a_log_likelihood_kept_and_added_to_gives_the_same_ability(fitted):
    """Live abilities keep the log-likelihood at the nodes and add new answers to it."""
    users, items, correct, irt = fitted
    tables = NodeTables(irt.discrimination_, irt.intercept_)
    mine = np.flatnonzero(users == 5)
    first, later = mine[:6], mine[6:]
    kept = tables.log_likelihood(items[first], np.ones(first.size), correct[first])
    added = kept + tables.log_likelihood(items[later], np.ones(later.size), correct[later])
    whole = eap_ability(irt.discrimination_[items[mine]], irt.intercept_[items[mine]], correct[mine])
    assert eap_from_log_likelihood(added) == pytest.approx(whole, abs=1e-12)
    assert eap_from_log_likelihood(added) == pytest.approx((irt.ability_[5], irt.ability_sd_[5]), abs=1e-6)


def test_module_ability_on_the_training_answers_is_the_trained_one():
    users, items, correct, modules, *_ = simulate_2pl_modules(200, 30, 4, 25, 0.8, seed=2)
    model = ModuleIRT(deviation_spreads=(0.7,)).fit(users, items, correct, modules)
    for user in (0, 42, 199):
        mine = users == user
        names, codes = np.unique(modules[mine], return_inverse=True)
        a, d = model.discrimination_[items[mine]], model.intercept_[items[mine]]
        ability, sd, deviations = module_ability(a, d, correct[mine], codes, deviation_spread=0.7)
        assert (ability, sd) == pytest.approx((model.ability_[user], model.ability_sd_[user]), abs=1e-6)
        trained = model.deviations(np.full(names.size, user), names)
        assert deviations == pytest.approx(trained, abs=1e-6)


def test_no_answers_give_the_prior():
    assert eap_ability([], [], []) == pytest.approx((0.0, 1.0), abs=1e-9)


def test_right_answers_to_hard_items_raise_the_ability_wrong_ones_lower_it():
    a, d = np.full(10, 1.5), np.full(10, -1.5 * 1.5)  # difficulty 1.5
    high, high_sd = eap_ability(a, d, np.ones(10))
    low, _ = eap_ability(a, d, np.zeros(10))
    assert high > 1.5 and low < 0 and high_sd < 1.0


def test_more_quadrature_points_change_little():
    a, d = np.array([1.2, 0.8, 2.0]), np.array([0.5, -1.0, 0.2])
    coarse, _ = eap_ability(a, d, [1, 0, 1], quadrature_points=21)
    fine, _ = eap_ability(a, d, [1, 0, 1], quadrature_points=61)
    assert coarse == pytest.approx(fine, abs=1e-3)


@pytest.mark.parametrize(
    ("a", "d", "correct", "message"),
    [
        ([1.0, 1.0], [0.0], [1, 0], "same length"),
        ([1.0], [np.nan], [1], "finite"),
        ([1.0], [0.0], [2], "only 0 and 1"),
    ],
)
def test_bad_input_is_a_clear_value_error(a, d, correct, message):
    with pytest.raises(ValueError, match=message):
        eap_ability(a, d, correct)


def test_counts_must_bound_the_right_answers():
    with pytest.raises(ValueError, match="between 0 and counts"):
        eap_ability([1.0], [0.0], [3], counts=[2])
    with pytest.raises(ValueError, match="same length"):
        eap_ability([1.0], [0.0], [1], counts=[2, 1])


def test_information_is_a_squared_p_times_one_minus_p():
    a, d = np.array([0.5, 1.0, 2.0]), np.array([0.0, 1.0, -3.0])
    p, info = information(a, d, 0.7)
    expected_p = 1 / (1 + np.exp(-(a * 0.7 + d)))
    np.testing.assert_allclose(p, expected_p, rtol=1e-12)
    np.testing.assert_allclose(info, a**2 * expected_p * (1 - expected_p), rtol=1e-12)


def test_max_information_ranks_by_fisher_information_at_the_ability(fitted):
    *_, irt = fitted
    a, d = irt.discrimination_, irt.intercept_
    for theta in (-1.5, 0.0, 1.2):
        order = rank_items(a, d, theta)
        _, info = information(a, d, theta)
        assert order[0] == int(np.argmax(info))
        assert np.all(np.diff(info[order]) <= 0)


def test_target_ranks_by_closeness_to_the_wanted_probability(fitted):
    *_, irt = fitted
    a, d = irt.discrimination_, irt.intercept_
    order = rank_items(a, d, 0.3, strategy="target", target=0.7)
    p, _ = information(a, d, 0.3)
    assert np.all(np.diff(np.abs(p[order] - 0.7)) >= 0)


@pytest.mark.parametrize("strategy", ["max-information", "target"])
def test_best_items_are_the_ranking_head_with_each_ones_probability_and_information(fitted, strategy):
    """What next-question answers with: the first ``count`` of the ranking, and for each the p and
    information at the ability it was ranked at (one ability, or one per item)."""
    *_, irt = fitted
    a, d = irt.discrimination_, irt.intercept_
    per_item = np.linspace(-1.0, 1.5, a.size)
    for theta in (0.4, per_item):
        order, p, info = best_items(a, d, theta, strategy=strategy, target=0.6, count=7)
        np.testing.assert_array_equal(order, rank_items(a, d, theta, strategy=strategy, target=0.6)[:7])
        expected_p, expected_info = information(a[order], d[order], theta[order] if np.ndim(theta) else theta)
        np.testing.assert_allclose(p, expected_p, rtol=1e-12)
        np.testing.assert_allclose(info, expected_info, rtol=1e-12)
    assert best_items(a, d, 0.0, count=None)[0].size == a.size


def test_rank_items_refuses_unknown_strategies_and_targets():
    with pytest.raises(ValueError, match="strategy"):
        rank_items([1.0], [0.0], 0.0, strategy="random")
    with pytest.raises(ValueError, match="target"):
        rank_items([1.0], [0.0], 0.0, strategy="target", target=1.5)
