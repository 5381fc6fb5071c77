"""The steps of a retrain, each a few lines: :func:`~retraining.services.training.retrain` reads
as their outline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from common.audit import audit

from .. import progress
from ..errors import NotComparable, NoTrainingData, RetrainingError
from ..models import Deployment, ModelVersion
from ..parameter_store import parameters_save
from ..selectors import AnswerArrays, answers_load
from ..serving import StoredModel
from ..signals import gate_needs_review, retrain_completed, retrain_failed, send_after_commit
from .algorithms import Algorithm
from .comparison import TrainingWindow, compare
from .deploy import _actor_name, version_deploy
from .evaluation import holdout_evaluate, holdout_mask, production_entry
from .gate import GateDecision
from .lease import TrainingLease
from .parameters import PackedParameters, _parameters

#: Told each step's name and facts (``retraining.progress`` says them in words).
Progress = Callable[[str, dict], None]


def quiet(step: str, facts: dict) -> None:
    return None


@dataclass(frozen=True)
class RetrainOptions:
    limit: int
    since: date | datetime | None
    auto_deploy: bool
    algorithm: Algorithm
    validation_split: float
    random_seed: int
    split: str

    def as_config(self) -> dict:
        """Stored with the version: how it was trained."""
        return {
            "algorithm": self.algorithm.name,
            "limit": self.limit,
            "since": self.since.isoformat() if self.since else None,
            "validationSplit": self.validation_split,
            "randomSeed": self.random_seed,
            "split": self.split,
            "autoDeploy": self.auto_deploy,
            "settings": self.algorithm.config_settings(),
        }


class RetrainRun:
    """One retrain's state between its steps: the lease, the version, progress and timings."""

    def __init__(self, options: RetrainOptions, *, actor, actor_name: str, report: Progress):
        self.options = options
        self.actor = actor
        self.actor_name = actor_name
        self.report = report
        self.lease = TrainingLease().acquire()
        self.version: ModelVersion | None = None
        self.started_at = timezone.now()
        self.began = self.clock = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.packed: PackedParameters | None = None
        self.started_by = _actor_name(actor, actor_name)

    def step(self, name: str, **facts) -> None:
        """Record the step on the lease (the status API shows it in words) and report it."""
        message = progress.sentence(name, facts)
        self.lease.heartbeat(progress={"step": name, "message": message, "startedBy": self.started_by})
        self.report(name, facts)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.clock, 4)
        self.clock = now

    def load(self) -> AnswerArrays:
        data = answers_load(
            limit=self.options.limit, since=self.options.since, with_labels=self.options.algorithm.with_labels
        )
        self.lap("load")
        if len(data) == 0:
            raise NoTrainingData()
        self.step("loaded", answers=len(data))
        return data

    def version_create(self, data: AnswerArrays) -> ModelVersion:
        self.version = _version_create(
            algorithm=self.options.algorithm.name,
            config=self.options.as_config(),
            actor=self.actor,
            started_at=self.started_at,
            data=data,
        )
        self.lease.attach(self.version)
        self.step("created", version=self.version.version)
        return self.version

    def holdout(self, data: AnswerArrays) -> tuple[np.ndarray, np.ndarray]:
        options = self.options
        held = holdout_mask(
            data, validation_split=options.validation_split, random_seed=options.random_seed, split=options.split
        )
        train = ~held
        if not held.any() or not train.any():
            raise NoTrainingData(
                f"Too few answers ({len(data)}) to hold out a {options.validation_split:.0%} validation share; "
                "collect more"
            )
        self.lap("split")
        return train, held

    def _heartbeat(self, iteration: int) -> None:
        progress = {
            "step": "fitting",
            "message": f"EM iteration {iteration}",
            "iteration": iteration,
            "startedBy": self.started_by,
        }
        self.lease.heartbeat(progress=progress, force=False)

    def fit(self, data: AnswerArrays, train: np.ndarray):
        self.step("fitting")
        algorithm = self.options.algorithm
        model = algorithm.estimator()
        arguments = algorithm.fit_arguments(data, self._heartbeat)
        columns = algorithm.answer_columns(data, train)
        model.fit(data.users[train], data.items[train], data.correct[train], *columns, **arguments)
        self.lap("fit")
        users_seen = np.bincount(data.users[train], minlength=len(data.user_ids)) > 0
        fitted = {"questions": len(data.question_ids), "users": int(users_seen.sum())}
        fitted |= {"difficulty_mean": model.difficulty_.mean(), "ability_mean": model.ability_[users_seen].mean()}
        self.report("fitted", fitted)
        self.step("learned")
        return model

    def evaluate(self, model, data, train, held) -> dict:
        self.step("evaluating")
        scores = holdout_evaluate(model, data, train, held, self.options.algorithm.name)
        scores["trainCount"] = int(train.sum())
        scores["validationCount"] = int(held.sum())
        above_floor = scores["accuracy"] > settings.MLOPS_AUTO_DEPLOY_THRESHOLD
        self.report("scored", {"accuracy": scores["accuracy"], "rmse": scores["rmse"], "above_floor": above_floor})
        self.step("evaluated")
        self.lap("evaluate")
        return scores

    def compare_with_production(self, version, model, data, train, held, production, scores: dict) -> tuple:
        """The candidate against the serving model on the same answers (its data, split and model as
        held in memory); ``(None, why)`` when they cannot be compared. Adds production's figures on
        those answers to ``scores``."""
        packed = self.pack(version, model, data, train)
        if production is None:
            return None, ""
        fit_settings = (version.config or {}).get("settings") or {}
        candidate = StoredModel(
            packed.summaries,
            packed.arrays,
            model_type=version.model_type,
            quadrature_points=fit_settings.get("quadraturePoints"),
        )
        try:
            comparison = compare(
                version,
                production,
                windows={version.pk: TrainingWindow(data=data, held=held)},
                models={version.pk: candidate},
            )
        except NotComparable as error:
            return None, str(error)
        scores["production"] = production_entry(comparison)
        self.report("compared", {"production": production.version, "summary": comparison.summary()})
        self.lap("compare")
        return comparison, ""

    def pack(self, version, model, data, train) -> PackedParameters:
        """The fitted model's parameters, packed once: summaries onto the version, arrays kept for
        :meth:`store`."""
        if self.packed is None:
            self.packed = _parameters(model, data, train, self.options.algorithm.name)
            version.summaries = self.packed.summaries
        return self.packed

    def store(self, version, model, data, train, scores: dict, gate: GateDecision) -> None:
        packed = self.pack(version, model, data, train)
        version.metrics = scores
        version.decision = gate.as_json()
        version.status = ModelVersion.Status.COMPLETED
        version.training_completed_at = timezone.now()
        version.duration = round(time.perf_counter() - self.began, 3)
        with transaction.atomic():  # the row and its parameters together, or neither
            parameters_save(version, packed.arrays)
            version.save()
        self.lap("save")
        self.step("saved", version=version.version)

    def deploy_if_allowed(self, version: ModelVersion, gate: GateDecision) -> None:
        if not gate.deploy:
            self.report("kept", {"reason": gate.reason})
            return
        self.step("deploying")
        version_deploy(
            version=version,
            actor=self.actor,
            actor_name=self.actor_name,
            reason=gate.reason,
            action=Deployment.Action.AUTO_DEPLOY,
        )
        self.report("deployed", {})
        self.lap("deploy")

    def finish(self, version: ModelVersion, data: AnswerArrays, gate: GateDecision) -> None:
        version.metrics["timings"] = self.timings
        ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)
        audit(
            "retrain",
            outcome="completed",
            version=version.version,
            algorithm=self.options.algorithm.name,
            answers=len(data),
            accuracy=round(gate.accuracy, 4),
            log_loss=round(gate.log_loss, 4),
            deployed=gate.deploy,
            needs_review=gate.needs_review,
            reason=gate.reason,
            duration=version.duration,
            actor=_actor_name(self.actor, self.actor_name),
        )
        send_after_commit(retrain_completed, version=version, deployed=gate.deploy, reason=gate.reason)
        if gate.needs_review:
            send_after_commit(gate_needs_review, version=version, reason=gate.reason)

    def fail(self, error: BaseException) -> None:
        if self.version is not None:
            _version_fail(self.version, error)
        audit(
            "retrain",
            outcome="failed",
            version=self.version.version if self.version else None,
            algorithm=self.options.algorithm.name,
            error=str(error) or type(error).__name__,
            actor=_actor_name(self.actor, self.actor_name),
        )
        version = self.version
        send_after_commit(
            retrain_failed, version=version, error=version.error if version else str(error) or type(error).__name__
        )


def _version_create(*, algorithm, config, actor, started_at, data: AnswerArrays) -> ModelVersion:
    # Called under the training lease, so no other process numbers a version meanwhile.
    number = (ModelVersion.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    return ModelVersion.objects.create(
        version=f"v{number}",
        number=number,
        model_type=algorithm,
        status=ModelVersion.Status.TRAINING,
        config=config,
        training_data_count=len(data),
        data_first_answer_at=data.first_answer_at,
        data_last_answer_at=data.last_answer_at,
        data_digest=data.digest,
        data_cutoff_id=data.cutoff.id,
        data_cutoff_at=data.cutoff.at,
        training_started_at=started_at,
        created_by=actor,
    )


def _version_fail(version: ModelVersion, error: BaseException) -> None:
    message = str(error) or type(error).__name__
    if not isinstance(error, RetrainingError):
        message = f"{type(error).__name__}: {message}"
    now = timezone.now()
    duration = (now - version.training_started_at).total_seconds() if version.training_started_at else None
    ModelVersion.objects.filter(pk=version.pk, is_production=False).update(
        status=ModelVersion.Status.FAILED, error=message, training_completed_at=now, duration=duration
    )
    version.refresh_from_db()
