"""Held-out evaluation: which answers are held out, and the candidate's scores beside the serving
model's and the heuristic baseline's on those same answers; and backtests of a stored version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.camel import camel_fields
from training_data.services import answer_file_rows

from ..errors import RetrainingError
from ..irt import Heuristic, metrics
from ..models import ModelVersion
from ..selectors import AnswerArrays
from ..serving import StoredModel
from .algorithms import BASELINE, algorithm_get


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


def holdout_evaluate(model, data: AnswerArrays, train, held, algorithm) -> dict:
    """The candidate's held-out metrics, with the heuristic baseline's on the same answers.

    The serving model is not scored here: it may have trained on many of these answers. The gate
    compares it with the candidate through :func:`~retraining.services.comparison.compare`."""
    y_held = data.correct[held]
    columns = algorithm_get(algorithm).answer_columns(data, held)
    scores = metrics.evaluate(y_held, model.predict_proba(data.users[held], data.items[held], *columns))
    if algorithm != BASELINE:
        baseline = Heuristic().fit(data.users[train], data.items[train], data.correct[train], **_sizes(data))
        scores["baseline"] = {
            "algorithm": BASELINE,
            **metrics.headline(metrics.evaluate(y_held, baseline.predict_proba(data.users[held], data.items[held]))),
        }
    return scores


def production_entry(comparison) -> dict:
    """The serving model's figures for a candidate's metrics: scored on the comparison's answers."""
    name = comparison.b
    return {
        "version": name,
        **metrics.headline(comparison.metrics[name]),
        "coldStartShare": comparison.cold_start_share[name],
        "answers": comparison.answers,
        "selection": comparison.selection,
        "inSampleShare": comparison.in_sample_share[name],
        "candidate": metrics.headline(comparison.metrics[comparison.a]),
    }


def _sizes(data: AnswerArrays) -> dict:
    return {"n_users": len(data.user_ids), "n_items": len(data.question_ids)}


@dataclass
class Backtest:
    """A stored version scored on answers it was not trained on; nothing is stored."""

    version: ModelVersion
    answers: int
    cold_start_share: float
    metrics: dict

    def as_json(self) -> dict:
        return {**camel_fields(self), "version": self.version.version}


def version_backtest(*, version: ModelVersion, path: str | Path, file_format: str | None = None) -> Backtest:
    """Score ``version`` on an answers file (the import layouts).

    Raises ``ImportFailed`` for a file that cannot be read, :class:`RetrainingError` for an empty
    file or a version without a model (still training, or failed).
    """
    rows = list(answer_file_rows(path, file_format=file_format))
    if not rows:
        raise RetrainingError(f"{path} holds no answers to evaluate")
    if not version.is_finished:
        raise RetrainingError(f"Version {version.version} has no usable model (status {version.status})")
    prediction = StoredModel.from_version(version).predict(
        [r[0] for r in rows], [r[1] for r in rows], modules=[r[2] for r in rows]
    )
    return Backtest(
        version=version,
        answers=len(rows),
        cold_start_share=float((prediction.cold_user | prediction.cold_question).mean()),
        metrics=metrics.evaluate([r[4] for r in rows], prediction.probability),
    )
