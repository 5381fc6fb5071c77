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
    return {
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
