"""Predictions from a stored model version's parameters (production scoring, predict, backtests).

Every stored model, IRT or heuristic, predicts P(correct) = 1 / (1 + exp(-a (theta - b))).
A user the model has never seen gets the prior mean ability (0); a question it has never seen
gets the model's mean discrimination and mean difficulty (its ``coldStart`` entry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NoProductionModel
from .models import ModelVersion

_CACHE_SIZE = 4
_cache: dict[tuple, StoredModel] = {}


@dataclass
class Prediction:
    probability: np.ndarray
    cold_user: np.ndarray
    cold_question: np.ndarray


class StoredModel:
    def __init__(self, parameters: dict):
        questions = parameters.get("questions") or {}
        users = parameters.get("users") or {}
        cold = parameters.get("coldStart") or {}
        self._question_index = {q: k for k, q in enumerate(questions)}
        self._user_index = {u: k for k, u in enumerate(users)}
        self._difficulty = np.array([q["difficulty"] for q in questions.values()], dtype=np.float64)
        self._discrimination = np.array([q["discrimination"] for q in questions.values()], dtype=np.float64)
        self._ability = np.array([u["ability"] for u in users.values()], dtype=np.float64)
        self._cold_ability = float(cold.get("ability", 0.0))
        self._cold_difficulty = float(cold.get("difficulty", self._difficulty.mean() if questions else 0.0))
        self._cold_discrimination = float(cold.get("discrimination", self._discrimination.mean() if questions else 1.0))

    @classmethod
    def from_version(cls, version: ModelVersion) -> StoredModel:
        return cls(version.parameters or {})

    def predict(self, user_hashes, question_ids) -> Prediction:
        user_index = np.fromiter((self._user_index.get(u, -1) for u in user_hashes), np.int64)
        question_index = np.fromiter((self._question_index.get(q, -1) for q in question_ids), np.int64)
        cold_user = user_index < 0
        cold_question = question_index < 0
        theta = np.where(
            cold_user, self._cold_ability, self._ability[np.maximum(user_index, 0)] if self._ability.size else 0.0
        )
        if self._difficulty.size:
            b = np.where(cold_question, self._cold_difficulty, self._difficulty[np.maximum(question_index, 0)])
            a = np.where(cold_question, self._cold_discrimination, self._discrimination[np.maximum(question_index, 0)])
        else:
            b = np.full(question_index.size, self._cold_difficulty)
            a = np.full(question_index.size, self._cold_discrimination)
        probability = 1.0 / (1.0 + np.exp(-a * (theta - b)))
        return Prediction(probability, cold_user, cold_question)


def production_model() -> tuple[str, StoredModel]:
    """The serving version's name and its predictor.

    A trained version's parameters never change, so predictors are kept per version in this
    process; each call only asks the database which version serves now.
    """
    key = ModelVersion.objects.filter(is_production=True).values_list("pk", "version", "training_completed_at").first()
    if key is None:
        raise NoProductionModel()
    model = _cache.get(key)
    if model is None:
        model = StoredModel.from_version(ModelVersion.objects.only("parameters").get(pk=key[0]))
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = model
    return key[1], model
