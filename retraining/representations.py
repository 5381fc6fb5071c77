"""The JSON bodies of the original system's contract (camelCase), shared by the API and the commands."""

from __future__ import annotations

from .models import ModelVersion
from .selectors import parameter_summaries

# The seed's six metrics, then ours.
HEADLINE_METRICS = ("accuracy", "precision", "recall", "f1Score", "rmse", "mae", "auc", "logLoss", "brierScore", "ece")


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


def metrics_body(metrics: dict) -> dict:
    return {key: _round(metrics[key]) for key in HEADLINE_METRICS if key in metrics}


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def retrain_body(result) -> dict:
    """Body of ``POST /api/mlops/retrain`` and of ``manage.py retrain --json``."""
    version = result.version
    return {
        "success": True,
        "version": version.version,
        "metrics": metrics_body(version.metrics),
        "trainingDataCount": version.training_data_count,
        "duration": version.duration,
        "deployed": result.deployed,
        "decision": {"deploy": result.decision["deploy"], "reason": result.decision["reason"]},
    }


def version_summary(version: ModelVersion) -> dict:
    """An entry of ``GET /api/mlops/versions``."""
    return {
        "_id": str(version.pk),
        "version": version.version,
        "modelType": version.model_type,
        "status": version.status,
        "isProduction": version.is_production,
        "metrics": metrics_body(version.metrics or {}),
        "trainingDataCount": version.training_data_count,
        "deployedAt": _iso(version.deployed_at),
        "createdAt": _iso(version.created_at),
    }


def version_detail(version: ModelVersion) -> dict:
    """``GET /api/mlops/versions/<id>``: everything but the per-user/per-question tables."""
    return {
        **version_summary(version),
        "parameters": parameter_summaries(version),
        "metrics": {k: v for k, v in (version.metrics or {}).items()},
        "config": version.config,
        "decision": version.decision,
        "lineage": {
            "trainingDataCount": version.training_data_count,
            "firstAnswerAt": _iso(version.data_first_answer_at),
            "lastAnswerAt": _iso(version.data_last_answer_at),
            "digest": version.data_digest,
        },
        "error": version.error or None,
        "trainingStartedAt": _iso(version.training_started_at),
        "trainingCompletedAt": _iso(version.training_completed_at),
        "duration": version.duration,
    }


def production_body(version: ModelVersion) -> dict:
    """``GET /api/mlops/production``."""
    return {
        "model": {
            "version": version.version,
            "modelType": version.model_type,
            "status": version.status,
            "isProduction": version.is_production,
            "metrics": metrics_body(version.metrics or {}),
            "parameters": parameter_summaries(version),
            "deployedAt": _iso(version.deployed_at),
        }
    }
