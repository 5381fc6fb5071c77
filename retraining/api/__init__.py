"""The /api/mlops endpoints: thin doors into the services and selectors, in the seed's JSON shapes.

One module per resource: ``training`` (retrain, jobs, status), ``versions`` (list, detail, compare,
deploy), ``production`` (the serving model, its monitoring and parameters) and ``serving`` (predict,
live ability, next questions; ``serving_view`` their shared view); ``common`` holds what they share.
"""

from .production import ProductionMonitoringView, ProductionParametersView, ProductionView, spreadsheet_safe
from .serving import LearnerAbilityView, NextQuestionView, PredictView
from .training import JobView, RetrainView, StatusView
from .versions import CompareView, DeployView, VersionDetailView, VersionListView

__all__ = [
    "CompareView",
    "DeployView",
    "JobView",
    "LearnerAbilityView",
    "NextQuestionView",
    "PredictView",
    "ProductionMonitoringView",
    "ProductionParametersView",
    "ProductionView",
    "RetrainView",
    "StatusView",
    "VersionDetailView",
    "VersionListView",
    "spreadsheet_safe",
]
