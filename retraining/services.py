"""Writes: the retraining run, the deploy rule, and the one-training-at-a-time lease.

The command, the API and the admin all call these functions; none of them holds a rule of its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from .audit import audit
from .errors import NoTrainingData, RetrainingError, TrainingInProgress, VersionNotDeployable
from .irt import IRT, Heuristic, metrics
from .models import Deployment, ModelVersion, TrainingLock
from .selectors import LOCK_NAME, AnswerArrays, answers_load, production_version
from .serving import StoredModel

logger = logging.getLogger(__name__)

ALGORITHMS = ("irt-2pl", "irt-1pl", "heuristic")
SPLITS = ("random", "time")

Progress = Callable[[str, str], None]


def _quiet(tag: str, message: str) -> None:
    return None


# ------------------------------------------------------------------------------ the lease
class TrainingLease:
    """Holds the training lock: a ``TrainingLock`` row claimed under its unique name.

    ``acquire`` inserts the row (the database's unique constraint lets exactly one process win);
    a row whose lease has expired belongs to a dead run and is taken over with a compare-and-swap
    update, failing that run's orphan version. ``heartbeat`` renews the lease while working.
    """

    def __init__(self, *, lease_seconds: int | None = None):
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=lease_seconds or settings.MLOPS_TRAINING_LEASE_SECONDS)
        self._last_beat = 0.0

    def acquire(self) -> TrainingLease:
        for _ in range(3):
            now = timezone.now()
            try:
                with transaction.atomic():
                    TrainingLock.objects.create(
                        name=LOCK_NAME, owner=self.owner, acquired_at=now, heartbeat_at=now, expires_at=now + self.lease
                    )
                self._last_beat = time.monotonic()
                return self
            except IntegrityError:
                pass
            held = TrainingLock.objects.filter(name=LOCK_NAME).select_related("version").first()
            if held is None:
                continue  # released in between: try again
            if held.expires_at > now:
                raise TrainingInProgress(
                    version=held.version.version if held.version else None, started_at=held.acquired_at
                )
            taken = TrainingLock.objects.filter(pk=held.pk, owner=held.owner, expires_at__lte=now).update(
                owner=self.owner,
                version=None,
                acquired_at=now,
                heartbeat_at=now,
                expires_at=now + self.lease,
                progress={},
            )
            if not taken:
                raise TrainingInProgress()
            self._last_beat = time.monotonic()
            if held.version is not None:
                ModelVersion.objects.filter(pk=held.version.pk, status=ModelVersion.Status.TRAINING).update(
                    status=ModelVersion.Status.FAILED,
                    training_completed_at=now,
                    error=(
                        f"Abandoned: its training process stopped renewing the lease (killed or crashed; last "
                        f"heartbeat {held.heartbeat_at.isoformat()}); the next run took over at {now.isoformat()}."
                    ),
                )
            return self
        raise TrainingInProgress()

    def heartbeat(self, *, progress: dict | None = None, force: bool = True) -> None:
        """Renew the lease (and record progress); raise if another run has taken the lock over."""
        if not force and time.monotonic() - self._last_beat < self.lease.total_seconds() / 6:
            return
        now = timezone.now()
        changes = {"heartbeat_at": now, "expires_at": now + self.lease}
        if progress is not None:
            changes["progress"] = progress
        if not TrainingLock.objects.filter(name=LOCK_NAME, owner=self.owner).update(**changes):
            raise RetrainingError("Training lease lost: another run took over after this one's lease expired")
        self._last_beat = time.monotonic()

    def attach(self, version: ModelVersion) -> None:
        TrainingLock.objects.filter(name=LOCK_NAME, owner=self.owner).update(version=version)

    def release(self) -> None:
        TrainingLock.objects.filter(name=LOCK_NAME, owner=self.owner).delete()


# ------------------------------------------------------------------------------ deploying
# Any constant: the key of the PostgreSQL advisory lock that serialises deploys.
_DEPLOY_LOCK_KEY = 0x4952_5444  # "IRTD"


@transaction.atomic
def _deploy_once(*, version, actor, actor_name, reason, action):
    if connection.vendor == "postgresql":
        # Row locks cannot serialise "find the production row, then replace it": a waiting
        # transaction re-reads a row that is no longer production and sees none. A transaction-scoped
        # advisory lock makes deploys take turns. (SQLite's IMMEDIATE transactions already do.)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DEPLOY_LOCK_KEY])
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED):
        raise VersionNotDeployable(
            f"Version {version.version} cannot be deployed: its training "
            + ("is still running" if version.status == ModelVersion.Status.TRAINING else "failed")
        )
    current = ModelVersion.objects.select_for_update().filter(is_production=True).first()
    if current is not None and current.pk == version.pk:
        return None
    now = timezone.now()
    if current is not None:
        current.is_production = False
        current.status = ModelVersion.Status.ARCHIVED
        current.save(update_fields=["is_production", "status"])
    version.is_production = True
    version.status = ModelVersion.Status.DEPLOYED
    version.deployed_at = now
    version.save(update_fields=["is_production", "status", "deployed_at"])
    if action is None:
        older = current is not None and version.number < current.number
        action = Deployment.Action.ROLLBACK if older else Deployment.Action.DEPLOY
    return Deployment.objects.create(
        version=version,
        previous_version=current,
        action=action,
        actor=actor,
        actor_name=_actor_name(actor, actor_name),
        reason=reason,
    )


def _actor_name(actor, actor_name: str) -> str:
    return actor.get_username() if actor is not None else (actor_name or "system")


def version_deploy(
    *, version: ModelVersion, actor=None, actor_name: str = "", reason: str = "", action: str | None = None
) -> Deployment | None:
    """Make ``version`` the one production model; archive the previous one; record the history row.

    One transaction; returns the history row, or None when ``version`` already serves (a no-op).
    A training or failed version is refused with :class:`VersionNotDeployable`. Concurrent
    deploys take turns (an advisory lock on PostgreSQL, IMMEDIATE transactions on SQLite); where
    neither exists, the one-production constraint refuses the loser, which retries on fresh state.
    """
    for attempt in range(5):
        try:
            deployment = _deploy_once(version=version, actor=actor, actor_name=actor_name, reason=reason, action=action)
            if deployment is not None:
                audit(
                    "deploy",
                    version=deployment.version.version,
                    previous=deployment.previous_version.version if deployment.previous_version else None,
                    action=deployment.action,
                    actor=deployment.actor_name,
                )
            break
        except IntegrityError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    version.refresh_from_db()
    return deployment


# ------------------------------------------------------------------------------ retraining
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


def holdout_mask(data: AnswerArrays, *, validation_split: float, random_seed: int, split: str) -> np.ndarray:
    """True for the held-out answers: a random share, or each user's latest share ("time")."""
    n = len(data)
    if split == "random":
        return np.random.default_rng(random_seed).random(n) < validation_split
    # Rows are newest first: within each user (stable sort keeps that order) rank 0 is the latest.
    order = np.argsort(data.users, kind="stable")
    counts = np.bincount(data.users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    return rank < np.floor(validation_split * counts[data.users] + 0.5)


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


def deploy_decision(
    *, candidate: dict, production: ModelVersion | None, production_metrics: dict | None, auto_deploy: bool
) -> dict:
    """The auto-deploy gate: accuracy above the threshold and log-loss no worse than production's
    on the same held-out answers (plus a tolerance); or no production model at all."""
    threshold = settings.MLOPS_AUTO_DEPLOY_THRESHOLD
    tolerance = settings.MLOPS_LOGLOSS_TOLERANCE
    decision = {
        "autoDeploy": auto_deploy,
        "threshold": threshold,
        "logLossTolerance": tolerance,
        "accuracy": candidate["accuracy"],
        "logLoss": candidate["logLoss"],
        "productionVersion": production.version if production else None,
        "productionLogLoss": production_metrics["logLoss"] if production_metrics else None,
    }
    if not auto_deploy:
        return {**decision, "deploy": False, "reason": "auto-deploy is off; deploy it by hand if wanted"}
    if not candidate["accuracy"] > threshold:
        reason = f"accuracy {candidate['accuracy']:.2%} is not above the {threshold:.2%} threshold"
        return {**decision, "deploy": False, "reason": reason}
    if production is None:
        reason = f"accuracy {candidate['accuracy']:.2%} is above the {threshold:.2%} threshold and no model serves yet"
        return {**decision, "deploy": True, "reason": reason}
    limit = production_metrics["logLoss"] + tolerance
    if candidate["logLoss"] > limit:
        reason = (
            f"log-loss {candidate['logLoss']:.4f} is worse than production {production.version}'s "
            f"{production_metrics['logLoss']:.4f} on the same held-out answers"
        )
        return {**decision, "deploy": False, "reason": reason}
    reason = (
        f"accuracy {candidate['accuracy']:.2%} is above the {threshold:.2%} threshold and log-loss "
        f"{candidate['logLoss']:.4f} is no worse than production {production.version}'s "
        f"{production_metrics['logLoss']:.4f}"
    )
    return {**decision, "deploy": True, "reason": reason}


def _headline(m: dict) -> dict:
    keys = ("accuracy", "auc", "logLoss", "brierScore", "f1Score")
    return {k: m[k] for k in keys}


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

    def step(name: str, tag: str, message: str) -> None:
        lease.heartbeat(progress={"step": name, "message": message})
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
                progress={"step": "fitting", "message": f"EM iteration {iteration}", "iteration": iteration},
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
        raise
    finally:
        lease.release()


def retrain_start(*, wait_for_version: float = 60.0, **options) -> ModelVersion | None:
    """Run :func:`retrain` in a background thread of this process; return its version once created.

    Errors raised before the version exists (training in progress, no data, bad options) are
    raised here, so callers can answer at once; later errors mark the version failed as usual.
    Returns None if loading takes longer than ``wait_for_version`` seconds (it goes on running).
    """
    created = threading.Event()
    outcome: dict = {}

    def on_started(version):
        outcome["version"] = version
        created.set()

    def run():
        try:
            retrain(**options, started=on_started)
        except BaseException as error:
            outcome.setdefault("error", error)
            if "version" not in outcome:
                logger.warning("background retrain failed before creating a version: %s", error)
            else:
                logger.exception("background retrain of %s failed", outcome["version"].version)
        finally:
            created.set()
            connection.close()
            _background_runs.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="retrain", daemon=True)
    _background_runs.add(thread)
    thread.start()
    created.wait(wait_for_version)
    if "version" not in outcome and "error" in outcome:
        raise outcome["error"]
    return outcome.get("version")


_background_runs: set[threading.Thread] = set()


def background_runs_join(timeout: float = 60.0) -> None:
    """Wait for the retrains started by :func:`retrain_start` in this process (shutdown, tests)."""
    for thread in list(_background_runs):
        thread.join(timeout)


def _evaluate(model, data: AnswerArrays, train, held, production, algorithm) -> tuple[dict, dict | None]:
    """The candidate's held-out metrics, with the heuristic baseline's and the serving model's on
    the same answers; also the serving model's full metrics (None when nothing serves)."""
    y_held = data.correct[held]
    scores = metrics.evaluate(y_held, model.predict_proba(data.users[held], data.items[held]))
    if algorithm != "heuristic":
        baseline = Heuristic().fit(data.users[train], data.items[train], data.correct[train], **_sizes(data))
        scores["baseline"] = {
            "algorithm": "heuristic",
            **_headline(metrics.evaluate(y_held, baseline.predict_proba(data.users[held], data.items[held]))),
        }
    if production is None:
        return scores, None
    served = StoredModel.from_version(production).predict(
        [data.user_ids[u] for u in data.users[held]], [data.question_ids[q] for q in data.items[held]]
    )
    production_scores = metrics.evaluate(y_held, served.probability)
    scores["production"] = {
        "version": production.version,
        **_headline(production_scores),
        "coldStartShare": float(np.mean(served.cold_user | served.cold_question)),
    }
    return scores, production_scores


def _sizes(data: AnswerArrays) -> dict:
    return {"n_users": len(data.user_ids), "n_items": len(data.question_ids)}


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
