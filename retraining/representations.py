"""The JSON bodies of the original system's contract (camelCase), shared by the API and the commands."""

from __future__ import annotations

from .irt.metrics import METRICS
from .models import ModelVersion
from .selectors import parameter_summaries

# The seed's six metrics, then ours (the catalogue's order).
HEADLINE_METRICS = tuple(metric.key for metric in METRICS)


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
        "decision": {
            "deploy": result.decision["deploy"],
            "reason": result.decision["reason"],
            "needsReview": result.decision.get("needsReview", False),
        },
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


# ---------------------------------------------------------------------- serving between retrains
def _number(value):
    return None if value is None else round(value, 6)


def learner_ability_body(user_id: str, result) -> dict:
    """Body of ``GET /api/mlops/learners/<userId>/ability``."""
    ability = result.ability
    return {
        "userId": user_id,
        "ability": _number(ability.ability),
        "abilitySd": _number(ability.ability_sd),
        "answers": ability.answers,
        "skipped": ability.skipped,
        "version": result.version,
        "source": ability.source,
    }


def prediction_body(prediction) -> dict:
    """One prediction of ``POST /api/mlops/predict``; the learner is a cold start only on the prior."""
    cold_user = prediction.ability.source == "prior"
    return {
        "userId": prediction.user_id,
        "questionId": prediction.question_id,
        "probability": round(prediction.probability, 6),
        "coldStart": cold_user or prediction.cold_question,
        "coldStartUser": cold_user,
        "coldStartQuestion": prediction.cold_question,
        "abilitySource": prediction.ability.source,
    }


def next_questions_body(user_id: str, result, *, strategy: str, target: float | None) -> dict:
    """Body of ``POST /api/mlops/next-question``."""
    ability = result.ability
    body = {
        "userId": user_id,
        "version": result.version,
        "ability": _number(ability.ability),
        "abilitySd": _number(ability.ability_sd),
        "abilitySource": ability.source,
        "strategy": strategy,
    }
    if target is not None:
        body["target"] = target
    return body | {
        "questions": [
            {"questionId": q.question_id, "probability": _number(q.probability), "information": _number(q.information)}
            for q in result.questions
        ],
        "candidates": result.candidates,
        "excluded": result.excluded,
        "unknownCandidates": result.unknown,
    }


def job_body(job) -> dict:
    """A queued retrain (``services.RetrainJob``): the 202 answer and ``GET /api/mlops/jobs/<id>``."""
    return {
        "jobId": job.id,
        "status": job.status,
        "version": job.version,
        "error": job.error,
        "enqueuedAt": _iso(job.enqueued_at),
        "startedAt": _iso(job.started_at),
        "finishedAt": _iso(job.finished_at),
        "statusUrl": f"/api/mlops/jobs/{job.id}",
    }
