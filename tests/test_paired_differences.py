"""The paired differences behind every comparison, checked where the truth is known."""

import numpy as np
import pytest

from retraining.irt import metrics


def _noisy(p_true, rng, scale):
    logit = np.log(p_true / (1 - p_true)) + rng.normal(0, scale, p_true.size)
    return 1 / (1 + np.exp(-logit))


def test_the_true_model_is_better_than_a_noisy_one_and_the_interval_says_so():
    rng = np.random.default_rng(1)
    p_true = rng.uniform(0.05, 0.95, 3000)
    y = (rng.random(3000) < p_true).astype(np.int8)
    d = metrics.paired_differences(y, p_true, _noisy(p_true, rng, 1.0))
    assert d["logLoss"]["high"] < 0  # truth minus noisy: lower log-loss, beyond doubt
    assert d["brierScore"]["high"] < 0
    assert d["logLoss"]["low"] < d["logLoss"]["mean"] < d["logLoss"]["high"]
    assert d["auc"] > 0


def test_the_differences_are_the_differences_of_the_metrics():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    p_a, p_b = rng.uniform(0.01, 0.99, 500), rng.uniform(0.01, 0.99, 500)
    d = metrics.paired_differences(y, p_a, p_b)
    m_a, m_b = metrics.evaluate(y, p_a), metrics.evaluate(y, p_b)
    for key in ("logLoss", "accuracy", "brierScore"):
        assert d[key]["mean"] == pytest.approx(m_a[key] - m_b[key])
    assert d["auc"] == pytest.approx(m_a["auc"] - m_b["auc"])


def test_a_model_against_itself_differs_by_exactly_zero():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 100)
    p = rng.uniform(0, 1, 100)
    d = metrics.paired_differences(y, p, p)
    assert d["logLoss"] == {"mean": 0.0, "low": 0.0, "high": 0.0}


def test_the_95_percent_interval_covers_a_true_difference_of_zero_about_95_percent_of_the_time():
    """Two equally good models (the truth, each with independent noise of the same size): their
    expected difference is zero, so the interval must contain zero in about 95 % of samples."""
    rng = np.random.default_rng(4)
    covered = 0
    runs = 400
    for _ in range(runs):
        p_true = rng.uniform(0.1, 0.9, 800)
        y = (rng.random(800) < p_true).astype(np.int8)
        d = metrics.paired_differences(y, _noisy(p_true, rng, 0.5), _noisy(p_true, rng, 0.5))
        covered += d["logLoss"]["low"] <= 0 <= d["logLoss"]["high"]
    assert 0.92 <= covered / runs <= 0.98
