"""The heuristic baseline, the metrics and the id encoder, on hand-computed cases."""

import math

import numpy as np
import pytest

from retraining.irt import Heuristic, IdEncoder, NotFittedError, metrics
from retraining.irt.heuristic import ability_from_success_rate, adjusted_difficulty


def test_difficulty_moves_only_outside_30_to_80_percent():
    rates = np.array([0.9, 0.8, 0.5, 0.3, 0.2])
    np.testing.assert_allclose(adjusted_difficulty(rates, 0.0), [-0.16, 0.0, 0.0, 0.0, 0.12])
    np.testing.assert_allclose(adjusted_difficulty(np.array([0.9]), 1.0), [0.84])


def test_ability_bands():
    theta = ability_from_success_rate(np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.25, 0.0]))
    np.testing.assert_allclose(theta, [3.0, 2.0, 1.5, 1.0, 0.5, 0.0, -1.5, -3.0])


def test_heuristic_fit_and_predict_by_hand():
    # Item 0: 9 of 10 right (too easy); item 1: 1 of 2 right. User 0: 10/10; user 1: 0/2.
    users = [0] * 9 + [0, 1, 1]
    items = [0] * 9 + [1, 0, 1]
    correct = [1] * 9 + [1, 0, 0]
    model = Heuristic().fit(users, items, correct)
    np.testing.assert_allclose(model.difficulty_, [(0.5 - 0.9) * 0.4, 0.0])
    np.testing.assert_allclose(model.ability_, [3.0, -3.0])
    p = model.predict_proba([0, 1], [1, 0])
    np.testing.assert_allclose(p, [1 / (1 + math.exp(-3.0)), 1 / (1 + math.exp(-(-3.0 + 0.16)))])
    # Cold start: unknown user theta 0, unknown item the mean difficulty.
    np.testing.assert_allclose(model.predict_proba([7], [9]), [1 / (1 + math.exp(model.difficulty_.mean()))])


def test_heuristic_starts_from_app_labels():
    model = Heuristic().fit([0, 1, 0], [0, 0, 1], [1, 1, 0], initial_difficulty=[1.0, np.nan])
    np.testing.assert_allclose(model.difficulty_, [1.0 - 0.2, 0.0 + 0.2])


def test_heuristic_not_fitted():
    with pytest.raises(NotFittedError):
        Heuristic().predict_proba([0], [0])


def test_metrics_by_hand():
    y = np.array([1, 1, 1, 0, 0])
    p = np.array([0.9, 0.6, 0.4, 0.7, 0.2])
    m = metrics.evaluate(y, p)
    # Predicted positive: 0.9, 0.6, 0.7 -> tp 2, fp 1; fn 1 (0.4), tn 1 (0.2).
    assert m["confusion"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 1}
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1Score"] == pytest.approx(2 / 3)
    errors = p - y
    assert m["rmse"] == pytest.approx(math.sqrt(np.mean(errors**2)))
    assert m["mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert m["brierScore"] == pytest.approx(np.mean(errors**2))
    assert m["logLoss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    # Pairs (pos, neg): 0.9>0.7, 0.9>0.2, 0.6<0.7, 0.6>0.2, 0.4<0.7, 0.4>0.2 -> 4/6.
    assert m["auc"] == pytest.approx(4 / 6)


def test_precision_recall_differ_from_accuracy():
    m = metrics.evaluate([1, 1, 1, 1, 0], [0.9, 0.9, 0.1, 0.1, 0.9])
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1Score"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_auc_with_ties_counts_half():
    assert metrics.roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.roc_auc([1, 0, 1, 0], [0.8, 0.8, 0.3, 0.1]) == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert metrics.roc_auc([1, 1], [0.2, 0.3]) is None


def test_f1_is_zero_without_positive_predictions():
    m = metrics.evaluate([1, 0, 1], [0.1, 0.2, 0.3])
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1Score"] == 0.0


def test_calibration_table_and_ece():
    y = [0, 1, 1, 1]
    p = [0.05, 0.15, 0.95, 0.95]
    table = metrics.calibration_table(y, p, bins=10)
    assert [row["count"] for row in table] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table[9]["observedRate"] == 1.0 and table[9]["meanPredicted"] == pytest.approx(0.95)
    assert table[2]["observedRate"] is None
    expected = (1 * 0.05 + 1 * 0.85 + 2 * 0.05) / 4
    assert metrics.expected_calibration_error(table) == pytest.approx(expected)


def test_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        metrics.evaluate([1, 0], [1.5, 0.2])
    with pytest.raises(ValueError, match="no answers"):
        metrics.evaluate([], [])


def test_id_encoder_round_trip_and_cold_start():
    encoder = IdEncoder()
    np.testing.assert_array_equal(encoder.fit_encode(["q7", "q3", "q7"]), [0, 1, 0])
    assert encoder.decode([1, 0]) == ["q3", "q7"]
    # Unknown ids land past the fitted range, each with its own index.
    np.testing.assert_array_equal(encoder.encode(["q3", "new", "other", "new"]), [1, 2, 3, 2])
    assert len(encoder) == 2
    assert IdEncoder.from_list(encoder.to_list()).encode(["q7"])[0] == 0
