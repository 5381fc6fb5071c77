"""The retraining run: load answers, create the version, fit, evaluate, store, and deploy when the gate allows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from ..audit import audit
from ..errors import NoTrainingData, RetrainingError
from ..irt import IRT, Heuristic
from ..models import Deployment, ModelVersion
from ..selectors import AnswerArrays, answers_load, production_version
from ..signals import retrain_completed, retrain_failed, send_after_commit
from .deploy import _actor_name, version_deploy
from .evaluation import _evaluate, holdout_mask
from .gate import deploy_decision
from .lease import TrainingLease
from .parameters import _parameters

ALGORITHMS = ("irt-2pl", "irt-1pl", "heuristic")
SPLITS = ("random", "time")

Progress = Callable[[str, str], None]


def _quiet(tag: str, message: str) -> None:
    return None


@dataclass
class RetrainResult:
    version: ModelVersion
    deployed: bool
    decision: dict
    production_before: ModelVersion | None
    timings: dict = field(default_factory=dict)


def _estimator(algorithm: str):
    if algorithm == "irt-2pl":
        return IRT(model="2pl")
    if algorithm == "irt-1pl":
        return IRT(model="1pl")
    return Heuristic()


def _check_options(*, limit, algorithm, split, validation_split):
    if algorithm not in ALGORITHMS:
        raise RetrainingError(f"Unknown algorithm {algorithm!r}: choose one of {', '.join(ALGORITHMS)}")
    if split not in SPLITS:
        raise RetrainingError(f"Unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if not 0 < validation_split < 1:
        raise RetrainingError(f"validation split must be between 0 and 1, got {validation_split}")
    if limit is not None and limit < 1:
        raise RetrainingError(f"limit must be at least 1, got {limit}")


def retrain(
    *,
    limit: int | None = None,
    since: date | datetime | None = None,
    auto_deploy: bool = True,
    algorithm: str = "irt-2pl",
    validation_split: float | None = None,
    random_seed: int | None = None,
    split: str = "random",
    actor=None,
    actor_name: str = "",
    progress: Progress | None = None,
    started: Callable[[ModelVersion], None] | None = None,
) -> RetrainResult:
    """Train a new version on the selected answers, evaluate it on held-out answers, and deploy
    it when the gate allows. One run at a time (:class:`TrainingInProgress` otherwise).

    On any error the version is marked failed with the error, the lock is released, production
    is untouched, and the error propagates. ``started(version)`` is called once the version exists.
    """
    limit = settings.MLOPS_DEFAULT_LIMIT if limit is None else limit
    validation_split = settings.MLOPS_VALIDATION_SPLIT if validation_split is None else validation_split
    random_seed = settings.MLOPS_RANDOM_SEED if random_seed is None else random_seed
    _check_options(limit=limit, algorithm=algorithm, split=split, validation_split=validation_split)
    report = progress or _quiet
    lease = TrainingLease().acquire()
    version = None
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    started_by = _actor_name(actor, actor_name)

    def step(name: str, tag: str, message: str) -> None:
        lease.heartbeat(progress={"step": name, "message": message, "startedBy": started_by})
        report(tag, message)

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    try:
        started_at = timezone.now()
        began = time.perf_counter()
        step("starting", "Retraining", "Starting automated model retraining...")
        production = production_version()
        data = answers_load(limit=limit, since=since, with_labels=algorithm == "heuristic")
        lap("load")
        if len(data) == 0:
            raise NoTrainingData()
        step("loaded", "Retraining", f"Loaded {len(data)} training samples")
        config = {
            "algorithm": algorithm,
            "limit": limit,
            "since": since.isoformat() if since else None,
            "validationSplit": validation_split,
            "randomSeed": random_seed,
            "split": split,
            "autoDeploy": auto_deploy,
            "settings": _algorithm_settings(algorithm),
        }
        version = _version_create(algorithm=algorithm, config=config, actor=actor, started_at=started_at, data=data)
        lease.attach(version)
        step("created", "Retraining", f"Created model version: {version.version}")
        if started is not None:
            started(version)

        held = holdout_mask(data, validation_split=validation_split, random_seed=random_seed, split=split)
        train = ~held
        if not held.any() or not train.any():
            raise NoTrainingData(
                f"Too few answers ({len(data)}) to hold out a {validation_split:.0%} validation share; collect more"
            )
        lap("split")

        step("fitting", "Learning", " Running IRT-based learning algorithm...")
        model = _estimator(algorithm)
        fit_args = {"n_users": len(data.user_ids), "n_items": len(data.question_ids)}
        if algorithm == "heuristic":
            fit_args["initial_difficulty"] = data.difficulty_labels
        else:
            fit_args["callback"] = lambda iteration: lease.heartbeat(
                progress={
                    "step": "fitting",
                    "message": f"EM iteration {iteration}",
                    "iteration": iteration,
                    "startedBy": started_by,
                },
                force=False,
            )
        model.fit(data.users[train], data.items[train], data.correct[train], **fit_args)
        lap("fit")
        users_seen = np.bincount(data.users[train], minlength=len(data.user_ids)) > 0
        report("Learning", f"Processed {len(data.question_ids)} questions and {int(users_seen.sum())} users")
        report("Learning", f"Difficulty mean: {model.difficulty_.mean():.2f}")
        report("Learning", f"Ability mean: {model.ability_[users_seen].mean():.2f}")
        step("learned", "Retraining", "Learning algorithm completed")

        step("evaluating", "Evaluation", "Evaluating model performance...")
        scores, production_scores = _evaluate(model, data, train, held, production, algorithm)
        scores["trainCount"] = int(train.sum())
        scores["validationCount"] = int(held.sum())
        mark = "✅" if scores["accuracy"] > settings.MLOPS_AUTO_DEPLOY_THRESHOLD else "⚠️"
        report("Evaluation", f"{mark} Accuracy: {scores['accuracy']:.2%}")
        report("Evaluation", f"RMSE: {scores['rmse']:.4f}")
        step("evaluated", "Retraining", "Model evaluation completed")
        lap("evaluate")

        decision = deploy_decision(
            candidate=scores, production=production, production_metrics=production_scores, auto_deploy=auto_deploy
        )
        serving_now = production_version()
        if decision["deploy"] and getattr(serving_now, "pk", None) != getattr(production, "pk", None):
            # Someone deployed by hand while this run trained: it was not compared with that model.
            decision = {
                **decision,
                "deploy": False,
                "reason": f"production changed to {serving_now.version if serving_now else 'none'} during "
                "training, so this candidate was not compared with it; retrain or deploy by hand",
            }
        version.parameters = _parameters(model, data, train, algorithm)
        version.metrics = scores
        version.decision = decision
        version.status = ModelVersion.Status.COMPLETED
        version.training_completed_at = timezone.now()
        version.duration = round(time.perf_counter() - began, 3)
        version.save()
        lap("save")
        step("saved", "Retraining", f"✅ Model version {version.version} saved successfully")

        if decision["deploy"]:
            step("deploying", "Deploy", "Deploying model to production...")
            version_deploy(
                version=version,
                actor=actor,
                actor_name=actor_name,
                reason=decision["reason"],
                action=Deployment.Action.AUTO_DEPLOY,
            )
            report("Deploy", "Model parameters ready for application")
            report("Retraining", "Model deployed to production")
            lap("deploy")
        else:
            report("Deploy", f"Not deployed: {decision['reason']}")
        version.metrics["timings"] = timings
        ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)
        audit(
            "retrain",
            outcome="completed",
            version=version.version,
            algorithm=algorithm,
            answers=len(data),
            accuracy=round(scores["accuracy"], 4),
            log_loss=round(scores["logLoss"], 4),
            deployed=decision["deploy"],
            reason=decision["reason"],
            duration=version.duration,
            actor=_actor_name(actor, actor_name),
        )
        send_after_commit(retrain_completed, version=version, deployed=decision["deploy"], reason=decision["reason"])
        return RetrainResult(
            version=version,
            deployed=decision["deploy"],
            decision=decision,
            production_before=production,
            timings=timings,
        )
    except BaseException as error:
        if version is not None:
            _version_fail(version, error)
        audit(
            "retrain",
            outcome="failed",
            version=version.version if version else None,
            algorithm=algorithm,
            error=str(error) or type(error).__name__,
            actor=_actor_name(actor, actor_name),
        )
        send_after_commit(
            retrain_failed, version=version, error=version.error if version else str(error) or type(error).__name__
        )
        raise
    finally:
        lease.release()


def _algorithm_settings(algorithm: str) -> dict:
    if algorithm == "heuristic":
        return {"rule": "success-rate adjustment (0.5 - s) * 0.4 outside 30-80 %"}
    estimator = _estimator(algorithm)
    return {
        "model": estimator.model,
        "priors": estimator.priors,
        "quadraturePoints": estimator.quadrature_points,
        "maxIter": estimator.max_iter,
        "tol": estimator.tol,
    }


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
