"""Writes: the retraining run, the deploy rule, and the one-training-at-a-time lease.

The command, the API and the admin all call these functions; none of them holds a rule of its own.
One module per concern:

- ``lease``: the one-training-at-a-time lease (:class:`TrainingLease`);
- ``deploy``: the deploy transaction (:func:`version_deploy`);
- ``gate``: the auto-deploy decision (:func:`deploy_decision`);
- ``evaluation``: the held-out split and the scores beside the serving model's;
- ``parameters``: packing a fitted model into the stored parameters;
- ``training``: the run itself (:func:`retrain`);
- ``background``: a run in a background thread (:func:`retrain_start`).
"""

from ..errors import NoTrainingData, RetrainingError, TrainingInProgress, VersionNotDeployable
from .background import background_runs_join, retrain_start
from .deploy import version_deploy
from .evaluation import holdout_mask
from .gate import deploy_decision
from .lease import TrainingLease
from .training import ALGORITHMS, SPLITS, Progress, RetrainResult, retrain

__all__ = [
    "ALGORITHMS",
    "SPLITS",
    "NoTrainingData",
    "Progress",
    "RetrainResult",
    "RetrainingError",
    "TrainingInProgress",
    "TrainingLease",
    "VersionNotDeployable",
    "background_runs_join",
    "deploy_decision",
    "holdout_mask",
    "retrain",
    "retrain_start",
    "version_deploy",
]
