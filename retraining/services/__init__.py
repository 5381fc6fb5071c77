"""Writes: the retraining run, the deploy rule, and the one-training-at-a-time lease.

The command, the API and the admin all call these functions; none of them holds a rule of its own.
One module per concern:

- ``algorithms``: the registry of algorithms a retrain can fit (:func:`algorithm_register`);
- ``lease``: the one-training-at-a-time lease (:class:`TrainingLease`);
- ``deploy``: the deploy transaction (:func:`version_deploy`);
- ``gate``: the auto-deploy decision (:func:`deploy_decision`);
- ``evaluation``: the held-out split, the scores beside the serving model's, backtests;
- ``parameters``: packing a fitted model into the stored parameters;
- ``training``: the run itself (:func:`retrain`), an outline of the steps in ``steps``;
- ``jobs``: a run queued for the worker (:func:`retrain_enqueue`) and its state.
"""

from ..errors import JobNotFound, NoTrainingData, RetrainingError, TrainingInProgress, VersionNotDeployable
from .algorithms import ALGORITHMS, Algorithm, algorithm_get, algorithm_register
from .deploy import version_deploy
from .evaluation import Backtest, holdout_mask, version_backtest
from .gate import GateDecision, deploy_decision
from .jobs import RetrainJob, retrain_enqueue, retrain_job_get, retrain_pending, retrain_queued
from .lease import TrainingLease
from .training import SPLITS, Progress, RetrainResult, retrain

__all__ = [
    "ALGORITHMS",
    "SPLITS",
    "Algorithm",
    "Backtest",
    "GateDecision",
    "JobNotFound",
    "NoTrainingData",
    "Progress",
    "RetrainJob",
    "RetrainResult",
    "RetrainingError",
    "TrainingInProgress",
    "TrainingLease",
    "VersionNotDeployable",
    "algorithm_get",
    "algorithm_register",
    "deploy_decision",
    "holdout_mask",
    "retrain",
    "retrain_enqueue",
    "retrain_job_get",
    "retrain_pending",
    "retrain_queued",
    "version_backtest",
    "version_deploy",
]
