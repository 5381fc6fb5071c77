"""The retraining run: load answers, create the version, fit, evaluate, store, and deploy when the gate allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings

from ..errors import RetrainingError
from ..models import ModelVersion
from ..selectors import production_version
from .algorithms import algorithm_get
from .gate import GateDecision, decision_recheck, deploy_decision
from .monitoring import monitor_quietly
from .steps import Progress, RetrainOptions, RetrainRun, quiet

SPLITS = ("random", "time")


@dataclass
class RetrainResult:
    version: ModelVersion
    deployed: bool
    gate: GateDecision
    production_before: ModelVersion | None
    timings: dict = field(default_factory=dict)

    @property
    def decision(self) -> dict:
        """The gate's decision as stored with the version and reported by the API."""
        return self.gate.as_json()


def _options(*, limit, since, auto_deploy, algorithm, split, validation_split=None, random_seed=None) -> RetrainOptions:
    """The run's options with the settings' defaults filled in; bad ones raise :class:`RetrainingError`."""
    limit = settings.MLOPS_DEFAULT_LIMIT if limit is None else limit
    validation_split = settings.MLOPS_VALIDATION_SPLIT if validation_split is None else validation_split
    random_seed = settings.MLOPS_RANDOM_SEED if random_seed is None else random_seed
    chosen = algorithm_get(algorithm)
    if split not in SPLITS:
        raise RetrainingError(f"Unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if not 0 < validation_split < 1:
        raise RetrainingError(f"validation split must be between 0 and 1, got {validation_split}")
    if limit is not None and limit < 1:
        raise RetrainingError(f"limit must be at least 1, got {limit}")
    return RetrainOptions(limit, since, auto_deploy, chosen, validation_split, random_seed, split)


def _gate(scores: dict, production, comparison, why_not: str, *, auto_deploy: bool) -> GateDecision:
    """The gate on the comparison with the model that served when the run started, re-checked
    against the one serving now (a deploy by hand meanwhile wins)."""
    decision = deploy_decision(
        candidate=scores,
        production=production,
        comparison=comparison,
        auto_deploy=auto_deploy,
        comparison_error=why_not,
    )
    return decision_recheck(decision, compared_with=production, serving_now=production_version())


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
    request = {"limit": limit, "since": since, "auto_deploy": auto_deploy, "algorithm": algorithm, "split": split}
    options = _options(**request, validation_split=validation_split, random_seed=random_seed)
    run = RetrainRun(options, actor=actor, actor_name=actor_name, report=progress or quiet)
    try:
        run.step("starting")
        production = production_version()
        data = run.load()
        version = run.version_create(data)
        if started is not None:
            started(version)
        train, held = run.holdout(data)
        model = run.fit(data, train)
        scores = run.evaluate(model, data, train, held)
        comparison, why_not = run.compare_with_production(version, model, data, train, held, production, scores)
        gate = _gate(scores, production, comparison, why_not, auto_deploy=options.auto_deploy)
        run.store(version, model, data, train, scores, gate)
        run.deploy_if_allowed(version, gate)
        run.finish(version, data, gate)
        monitor_quietly()  # the serving model (new or kept) scored on the answers after its cutoff
        return RetrainResult(
            version=version, deployed=gate.deploy, gate=gate, production_before=production, timings=run.timings
        )
    except BaseException as error:
        run.fail(error)
        raise
    finally:
        run.lease.release()
