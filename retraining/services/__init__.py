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
- ``background``: a run in a background thread (:func:`retrain_start`).
"""

from ..errors import NoTrainingData, RetrainingError, TrainingInProgress, VersionNotDeployable
from .algorithms import ALGORITHMS, Algorithm, algorithm_get, algorithm_register
from .background import background_runs_join, retrain_start
from .deploy import version_deploy
from .evaluation import Backtest, holdout_mask, version_backtest
from .gate import GateDecision, deploy_decision
from .lease import TrainingLease
from .training import SPLITS, Progress, RetrainResult, retrain

__all__ = [
    "ALGORITHMS",
    "SPLITS",
    "Algorithm",
    "Backtest",
    "GateDecision",
    "NoTrainingData",
    "Progress",
    "RetrainResult",
    "RetrainingError",
    "TrainingInProgress",
    "TrainingLease",
    "VersionNotDeployable",
    "algorithm_get",
    "algorithm_register",
    "background_runs_join",
    "deploy_decision",
    "holdout_mask",
    "retrain",
    "retrain_start",
    "version_backtest",
    "version_deploy",
]
