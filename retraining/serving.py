"""Predictions from a stored model version's parameters (production scoring, predict, backtests).

Every stored model, IRT or heuristic, predicts P(correct) = 1 / (1 + exp(-a (theta - b)))
(:func:`retraining.irt.predict_2pl`).
A user the model has never seen gets the prior mean ability (0); a question it has never seen
gets the model's mean discrimination and mean difficulty (its ``coldStart`` entry).

A version with module deviations (``irt-2pl-modules``) adds to theta the learner's deviation in
the answer's module (0 for a module the learner never answered in: the overall ability), and gives
an unseen question of a known module that module's mean difficulty. Every caller may pass the
answers' modules; versions without deviations ignore them.

Between retrains a learner is re-scored from their stored answers with the version's items held
fixed (:mod:`retraining.live`), with the tables :class:`StoredModel` keeps for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat

import numpy as np

from common import sql
from common.memory import gc_paused

from .errors import NoProductionModel
from .irt import NodeTables, predict_2pl
from .models import ModelVersion
from .parameter_set import ParameterSet
from .parameter_store import parameter_set
from .selectors import AnswerArrays

_CACHE_SIZE = 4
_cache: dict[tuple, StoredModel] = {}
DEFAULT_QUADRATURE_POINTS = 21


@dataclass
class Prediction:
    probability: np.ndarray
    cold_user: np.ndarray
    cold_question: np.ndarray


@dataclass(frozen=True)
class Ability:
    """A learner's ability under one version, and where it came from.

    ``source`` is "live" (re-scored from their stored answers), "model" (as the version's training
    left it) or "prior" (nothing known: the prior mean). ``answers`` counts the answers used,
    ``skipped`` those to questions the version does not know. A live ability under a version with
    module deviations carries the learner's live deviation in each module they answered in.
    """

    ability: float
    ability_sd: float | None
    source: str
    answers: int = 0
    skipped: int = 0
    deviations: Mapping[str, float] = field(default_factory=dict)


class StoredModel:
    """A version's predictor: its summaries (cold start) and its per-question/per-learner arrays."""

    def __init__(
        self,
        summaries: dict,
        arrays: ParameterSet | None,
        *,
        model_type: str = "irt-2pl",
        quadrature_points: int | None = None,
    ):
        arrays = arrays if arrays is not None else ParameterSet()
        cold = summaries.get("coldStart") or {}
        self.parameters = arrays
        self.key = None  # (pk, version, training completed at) once kept per process
        self.model_type = model_type
        self.quadrature_points = quadrature_points or DEFAULT_QUADRATURE_POINTS
        self.question_ids = arrays.question_ids
        self._question_index = dict(zip(arrays.question_ids, range(len(arrays.question_ids)), strict=True))
        self._user_index = dict(zip(arrays.user_ids, range(len(arrays.user_ids)), strict=True))
        self._difficulty = arrays.difficulty
        self._discrimination = arrays.discrimination
        self._intercept = -self._discrimination * self._difficulty
        self._ability = arrays.ability
        self._ability_sd = arrays.ability_sd
        has_questions = self._difficulty.size > 0
        self._cold_ability = float(cold.get("ability", 0.0))
        self._cold_difficulty = float(cold.get("difficulty", self._difficulty.mean() if has_questions else 0.0))
        self._cold_discrimination = float(
            cold.get("discrimination", self._discrimination.mean() if has_questions else 1.0)
        )
        self._modules_setup(arrays)
        self._module_spread = (summaries.get("modules") or {}).get("deviationSpread") if arrays.has_modules else None

    def _modules_setup(self, arrays: ParameterSet) -> None:
        """Module deviations as sorted (learner, module) keys, and the modules' mean difficulties."""
        self._has_modules = arrays.has_modules
        self._module_position = dict(zip(arrays.module_ids, range(len(arrays.module_ids)), strict=True))
        self._n_modules = max(len(arrays.module_ids), 1)
        keys = arrays.deviation_user * self._n_modules + arrays.deviation_module
        order = np.argsort(keys, kind="stable")
        self._deviation_keys, self._deviation_values = keys[order], arrays.deviation[order]
        known = ~np.isnan(arrays.module_difficulty)
        self._cold_modules = [m for m, k in zip(arrays.module_ids, known.tolist(), strict=True) if k]
        self._cold_module_difficulty = arrays.module_difficulty[known]

    @classmethod
    def from_version(cls, version: ModelVersion) -> StoredModel:
        settings = (version.config or {}).get("settings") or {}
        # Decoding makes a string and an index entry per learner, none of them garbage: with the
        # collector paused it does not rescan them again and again (about half the load time).
        with gc_paused():
            return cls(
                version.summaries or {},
                parameter_set(version),
                model_type=version.model_type,
                quadrature_points=settings.get("quadraturePoints"),
            )

    # ----------------------------------------------------------------------------- questions
    def question_positions(self, question_ids) -> np.ndarray:
        """Each question's position in this version's arrays; -1 for a question it does not know."""
        return np.fromiter(map(self._question_index.get, question_ids, repeat(-1)), np.int64)

    def item_parameters(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slopes a and intercepts d (d = -a b) of known questions, by position."""
        return self._discrimination[positions], self._intercept[positions]

    # ----------------------------------------------------------------------------- abilities
    def model_ability(self, user_hash: str) -> Ability:
        """The ability training left for this learner, or the prior for one it never saw."""
        k = self._user_index.get(user_hash)
        if k is None:
            return Ability(self._cold_ability, None if self.model_type == "heuristic" else 1.0, "prior")
        sd = float(self._ability_sd[k])
        return Ability(float(self._ability[k]), None if np.isnan(sd) else sd, "model")

    # ----------------------------------------------------------------------------- live scores
    @cached_property
    def node_tables(self) -> NodeTables:
        """The items' logits and log P(wrong) at the quadrature nodes (live EAP abilities)."""
        return NodeTables(self._discrimination, self._intercept, quadrature_points=self.quadrature_points)

    @property
    def module_spread(self) -> float | None:
        """The spread of module deviations a module version was trained with (None for other versions)."""
        return self._module_spread

    # ---------------------------------------------------------------------------- prediction
    def deviations(self, user_hashes, modules) -> np.ndarray:
        """Each learner's deviation from their overall ability in the given module (0 where unknown)."""
        user_hashes, modules = list(user_hashes), list(modules)
        if len(user_hashes) != len(modules):
            raise ValueError(f"{len(user_hashes)} learners but {len(modules)} modules: give one module per learner")
        table = self._deviation_keys
        if table.size == 0:
            return np.zeros(len(user_hashes))
        users = np.fromiter((self._user_index.get(u, -1) for u in user_hashes), np.int64, len(user_hashes))
        where = np.fromiter((self._module_position.get(m, -1) for m in modules), np.int64, len(modules))
        keys = users * self._n_modules + where
        found = np.minimum(np.searchsorted(table, keys), table.size - 1)
        known = (users >= 0) & (where >= 0) & (table[found] == keys)
        return np.where(known, self._deviation_values[found], 0.0)

    def predict(self, user_hashes, question_ids, abilities=None, modules=None, deviations=None) -> Prediction:
        """P(correct) per pair; ``abilities`` (one per pair) replaces the stored overall ones when
        given; ``modules`` (one per pair) adds the learners' module deviations, if the version has any:
        the stored ones, or ``deviations`` (one per pair) when given."""
        question_index = self.question_positions(question_ids)
        if modules is not None:
            user_hashes, modules = list(user_hashes), list(modules)
        if abilities is None:
            user_index = np.fromiter((self._user_index.get(u, -1) for u in user_hashes), np.int64)
            return self._predict(
                user_index, question_index, user_hashes=user_hashes, modules=modules, deviations=deviations
            )
        # One ability per pair: pair k is "user" k.
        ability = np.asarray(abilities, dtype=np.float64)
        return self._predict(
            np.arange(ability.size),
            question_index,
            ability=ability,
            user_hashes=user_hashes,
            modules=modules,
            deviations=deviations,
        )

    def predict_answers(self, data: AnswerArrays) -> Prediction:
        """Predictions for loaded answers: ids are looked up once per distinct learner and question
        (a version with module deviations also reads each answer's module)."""
        users = np.fromiter((self._user_index.get(u, -1) for u in data.user_ids), np.int64, len(data.user_ids))
        questions = self.question_positions(data.question_ids)
        if not self._has_modules:
            return self._predict(users[data.users], questions[data.items])
        user_hashes = [data.user_ids[u] for u in data.users.tolist()]
        modules = [data.module_ids[m] for m in data.modules.tolist()]
        return self._predict(users[data.users], questions[data.items], user_hashes=user_hashes, modules=modules)

    def _predict(
        self,
        user_index: np.ndarray,
        question_index: np.ndarray,
        ability=None,
        user_hashes=None,
        modules=None,
        deviations=None,
    ) -> Prediction:
        ability = self._ability if ability is None else ability
        cold_user = user_index < 0
        cold_question = question_index < 0
        discrimination, difficulty = self._discrimination, self._difficulty
        if modules is not None and self._has_modules:
            # Pair k becomes "user" k with its overall ability plus its deviation in the module.
            overall = np.where(
                cold_user, self._cold_ability, ability[np.maximum(user_index, 0)] if ability.size else 0.0
            )
            if deviations is None:
                deviations = self.deviations(user_hashes, modules)
            ability = overall + np.asarray(deviations, dtype=np.float64)
            user_index = np.arange(ability.size)
            # An unseen question of a known module is that module's mean item.
            module_names = self._cold_modules
            position = {m: k for k, m in enumerate(module_names)}
            known = np.fromiter((position.get(m, -1) for m in modules), np.int64, len(modules))
            use_module = cold_question & (known >= 0)
            question_index = np.where(use_module, difficulty.size + known, question_index)
            difficulty = np.concatenate([difficulty, self._cold_module_difficulty])
            discrimination = np.concatenate([discrimination, np.full(len(module_names), self._cold_discrimination)])
        probability = predict_2pl(
            user_index,
            question_index,
            ability=ability,
            discrimination=discrimination,
            difficulty=difficulty,
            cold_ability=self._cold_ability,
            cold_discrimination=self._cold_discrimination,
            cold_difficulty=self._cold_difficulty,
        )
        return Prediction(probability, cold_user, cold_question)


def stored_model(version: ModelVersion) -> StoredModel:
    """A finished version's predictor, kept in this process (its parameters never change)."""
    if version.training_completed_at is None:
        return StoredModel.from_version(version)
    return _cached((version.pk, version.version, version.training_completed_at))


def _cached(key: tuple) -> StoredModel:
    model = _cache.get(key)
    if model is None:
        model = StoredModel.from_version(ModelVersion.objects.only("summaries", "model_type", "config").get(pk=key[0]))
        model.key = key
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = model
    return model


def production_model() -> tuple[str, StoredModel]:
    """The serving version's name and its predictor.

    A trained version's parameters never change, so predictors are kept per version in this
    process; each call only asks the database which version serves now.
    """
    return serving_model(_serving_key())


def serving_model(key: tuple | None) -> tuple[str, StoredModel]:
    """The name and predictor of the version whose key (:func:`serving_query`'s row) is ``key``;
    ``NoProductionModel`` for None (no version serves)."""
    if key is None:
        raise NoProductionModel()
    return key[1], _cached(key)


_SERVING = ModelVersion.objects.filter(is_production=True).values_list("pk", "version", "training_completed_at")


def serving_query() -> tuple[str, list, int]:
    """The SQL that finds the serving version's key (pk, version, training completed at), its
    parameters and its number of columns, for a statement that reads it beside something else."""

    def build():
        text, params = _SERVING.query.sql_with_params()
        return text, list(params), 3

    return sql.statement("serving version query", build)


def _serving_key() -> tuple | None:
    """(pk, version, training completed at) of the serving version: asked on every serving request."""
    if not sql.compiled():
        return _SERVING.first()
    text, params, _ = serving_query()
    return sql.fetch_one(text, params)
