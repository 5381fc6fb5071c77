"""Packing a fitted model into the JSON parameters stored with its version."""

from __future__ import annotations

import numpy as np

from ..selectors import AnswerArrays


def _summary(values: np.ndarray) -> dict:
    return (
        {"mean": float(values.mean()), "variance": float(values.var())}
        if values.size
        else {"mean": 0.0, "variance": 0.0}
    )


def _parameters(model, data: AnswerArrays, train: np.ndarray, algorithm: str) -> dict:
    n_items = len(data.question_ids)
    answered = np.bincount(data.items[train], minlength=n_items)
    rate = np.bincount(data.items[train], weights=data.correct[train], minlength=n_items) / np.maximum(answered, 1)
    users_seen = np.bincount(data.users[train], minlength=len(data.user_ids)) > 0
    ability_sd = model.ability_sd_
    parameters = {
        "difficulty": _summary(model.difficulty_),
        "abilityEstimates": _summary(model.ability_[users_seen]),
        "discrimination": _summary(model.discrimination_),
        "coldStart": {
            "ability": 0.0,
            "difficulty": float(model.difficulty_.mean()),
            "discrimination": float(model.discrimination_.mean()),
        },
        "questions": {
            q: {
                "difficulty": float(model.difficulty_[k]),
                "discrimination": float(model.discrimination_[k]),
                "answers": int(answered[k]),
                "successRate": float(rate[k]),
            }
            for k, q in enumerate(data.question_ids)
        },
        "users": {
            u: {
                "ability": float(model.ability_[k]),
                "abilitySd": None if np.isnan(ability_sd[k]) else float(ability_sd[k]),
            }
            for k, u in enumerate(data.user_ids)
            if users_seen[k]
        },
        "fit": {
            "algorithm": algorithm,
            "logLikelihood": model.log_likelihood_,
            "iterations": model.n_iter_,
            "converged": model.converged_,
        },
    }
    if hasattr(model, "deviation_"):
        parameters["modules"] = _module_parameters(model, data, train)
    return parameters


def _module_parameters(model, data: AnswerArrays, train: np.ndarray) -> dict:
    """Per-module deviations of ability (``irt-2pl-modules``): learner hash -> module -> deviation,
    the module mean difficulties (cold starts for unseen questions) and the fitted spreads."""
    deviations: dict[str, dict[str, float]] = {}
    for u, m, value in zip(
        model.deviation_users_.tolist(), model.deviation_modules_.tolist(), model.deviation_.tolist(), strict=True
    ):
        deviations.setdefault(data.user_ids[u], {})[data.module_ids[m]] = value
    modules_seen = np.unique(data.modules[train])
    return {
        "deviationSpread": model.deviation_spread_,
        "difficultySpread": model.difficulty_spread_,
        "validationLogLoss": {
            f"{tau:g}": None if np.isnan(loss) else loss for tau, loss in model.validation_log_loss_.items()
        },
        "deviationEstimates": _summary(model.deviation_),
        "pairs": int(model.deviation_.size),
        "difficulty": {data.module_ids[m]: float(model.module_difficulty_[m]) for m in modules_seen.tolist()},
        "deviations": deviations,
    }
