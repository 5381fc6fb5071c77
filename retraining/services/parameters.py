"""Packing a fitted model into what its version stores: summaries in the row, arrays in chunks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..parameter_set import ParameterSet
from ..selectors import AnswerArrays


@dataclass
class PackedParameters:
    """A fitted model's parameters as its version stores them: the summaries kept in the version row
    and the per-question/per-learner arrays (:func:`retraining.parameter_store.parameters_save`)."""

    summaries: dict
    arrays: ParameterSet


def _summary(values: np.ndarray) -> dict:
    return (
        {"mean": float(values.mean()), "variance": float(values.var())}
        if values.size
        else {"mean": 0.0, "variance": 0.0}
    )


def _parameters(model, data: AnswerArrays, train: np.ndarray, algorithm: str) -> PackedParameters:
    n_items = len(data.question_ids)
    answered = np.bincount(data.items[train], minlength=n_items)
    rate = np.bincount(data.items[train], weights=data.correct[train], minlength=n_items) / np.maximum(answered, 1)
    users_seen = np.bincount(data.users[train], minlength=len(data.user_ids)) > 0
    seen = np.flatnonzero(users_seen)
    user_ids = np.asarray(data.user_ids, dtype=object)
    summaries = {
        "difficulty": _summary(model.difficulty_),
        "abilityEstimates": _summary(model.ability_[users_seen]),
        "discrimination": _summary(model.discrimination_),
        "coldStart": {
            "ability": 0.0,
            "difficulty": float(model.difficulty_.mean()),
            "discrimination": float(model.discrimination_.mean()),
        },
        "fit": {
            "algorithm": algorithm,
            "logLikelihood": model.log_likelihood_,
            "iterations": model.n_iter_,
            "converged": model.converged_,
        },
    }
    arrays = ParameterSet(
        question_ids=list(data.question_ids),
        difficulty=np.asarray(model.difficulty_, dtype=np.float64),
        discrimination=np.asarray(model.discrimination_, dtype=np.float64),
        answers=answered.astype(np.int64),
        success_rate=rate.astype(np.float64),
        user_ids=user_ids[seen].tolist(),
        ability=np.asarray(model.ability_, dtype=np.float64)[seen],
        ability_sd=np.asarray(model.ability_sd_, dtype=np.float64)[seen],
    )
    if hasattr(model, "deviation_"):
        summaries["modules"] = _module_parameters(model, data, train, seen, arrays)
    return PackedParameters(summaries, arrays)


def _module_parameters(model, data: AnswerArrays, train: np.ndarray, seen: np.ndarray, arrays: ParameterSet) -> dict:
    """Per-module deviations of ability (``irt-2pl-modules``) into ``arrays`` (each (learner, module)
    pair's deviation, the modules' mean difficulties: cold starts for unseen questions); returns the
    fitted spreads and summaries kept in the version row."""
    modules_seen = np.unique(data.modules[train])
    # Deviation pairs come from training answers, so their learners are among those seen.
    position = np.full(len(data.user_ids), -1, dtype=np.int64)
    position[seen] = np.arange(seen.size)
    module_position = np.full(len(data.module_ids), -1, dtype=np.int64)
    module_position[modules_seen] = np.arange(modules_seen.size)
    arrays.module_ids = [data.module_ids[m] for m in modules_seen.tolist()]
    arrays.module_difficulty = np.asarray(model.module_difficulty_, dtype=np.float64)[modules_seen]
    arrays.deviation_user = position[model.deviation_users_]
    arrays.deviation_module = module_position[model.deviation_modules_]
    arrays.deviation = np.asarray(model.deviation_, dtype=np.float64)
    if (arrays.deviation_user < 0).any() or (arrays.deviation_module < 0).any():
        raise ValueError("A module deviation belongs to a learner or module without training answers")
    return {
        "deviationSpread": model.deviation_spread_,
        "difficultySpread": model.difficulty_spread_,
        "validationLogLoss": {
            f"{tau:g}": None if np.isnan(loss) else loss for tau, loss in model.validation_log_loss_.items()
        },
        "deviationEstimates": _summary(model.deviation_),
        "pairs": int(model.deviation_.size),
    }
