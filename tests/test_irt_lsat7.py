"""The estimator reproduces published marginal-ML estimates for LSAT section 7 (Bock & Lieberman)."""

import numpy as np
import pytest

from retraining.irt import IRT

# 32 response patterns (item 1 leftmost) and their frequencies; 1,000 examinees.
LSAT7 = {
    "00000": 12, "00001": 19, "00010": 1, "00011": 7, "00100": 3, "00101": 19, "00110": 3, "00111": 17,
    "01000": 10, "01001": 5, "01010": 3, "01011": 7, "01100": 7, "01101": 23, "01110": 8, "01111": 28,
    "10000": 7, "10001": 39, "10010": 11, "10011": 34, "10100": 14, "10101": 51, "10110": 15, "10111": 90,
    "11000": 6, "11001": 25, "11010": 7, "11011": 35, "11100": 18, "11101": 136, "11110": 32, "11111": 308,
}  # fmt: skip


def lsat7_answers():
    users, items, correct = [], [], []
    user = 0
    for pattern, frequency in LSAT7.items():
        for _ in range(frequency):
            for item, digit in enumerate(pattern):
                users.append(user)
                items.append(item)
                correct.append(int(digit))
            user += 1
    return np.array(users), np.array(items), np.array(correct)


def test_table_is_the_published_one():
    users, items, correct = lsat7_answers()
    assert users.max() + 1 == 1000
    rates = np.bincount(items, weights=correct) / 1000
    np.testing.assert_allclose(rates, [0.828, 0.658, 0.772, 0.606, 0.843])


@pytest.mark.parametrize("points", [21, 61])
def test_2pl_matches_mirt(points):
    model = IRT(model="2pl", priors=False, quadrature_points=points).fit(*lsat7_answers())
    assert model.converged_
    np.testing.assert_allclose(model.discrimination_, [0.988, 1.081, 1.706, 0.765, 0.736], atol=0.01)
    np.testing.assert_allclose(model.intercept_, [1.856, 0.808, 1.804, 0.486, 1.855], atol=0.01)
    np.testing.assert_allclose(model.difficulty_, [-1.879, -0.748, -1.058, -0.635, -2.520], atol=0.01)
    assert model.log_likelihood_ == pytest.approx(-2658.805, abs=0.01)


def test_1pl_matches_reference():
    model = IRT(model="1pl", priors=False).fit(*lsat7_answers())
    np.testing.assert_allclose(model.discrimination_, 1.0)
    np.testing.assert_allclose(model.difficulty_, [-1.8631, -0.7886, -1.4568, -0.5199, -1.9875], atol=0.01)
    assert model.log_likelihood_ == pytest.approx(-2664.916, abs=0.01)


def test_priors_pull_estimates_but_only_slightly():
    free = IRT(model="2pl", priors=False).fit(*lsat7_answers())
    shrunk = IRT(model="2pl", priors=True).fit(*lsat7_answers())
    assert not np.allclose(free.difficulty_, shrunk.difficulty_, atol=1e-4)
    np.testing.assert_allclose(free.difficulty_, shrunk.difficulty_, atol=0.5)
    # The likelihood itself can only be lower away from its maximum.
    assert shrunk.log_likelihood_ < free.log_likelihood_


def test_abilities_are_eap_and_ordered_by_score():
    users, items, correct = lsat7_answers()
    model = IRT(model="1pl", priors=False).fit(users, items, correct)
    scores = np.bincount(users, weights=correct)
    # Under the 1PL the sum score is sufficient: the same score gives the same ability.
    for score in range(6):
        same = model.ability_[scores == score]
        assert np.ptp(same) < 1e-9
    by_score = [model.ability_[scores == s][0] for s in range(6)]
    assert np.all(np.diff(by_score) > 0)
    assert np.all((model.ability_sd_ > 0) & (model.ability_sd_ < 1))
