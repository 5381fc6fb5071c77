"""Held-out evaluation: which answers are held out, and the candidate's scores beside the serving
model's and the heuristic baseline's on those same answers."""

from __future__ import annotations

import numpy as np

from ..irt import Heuristic, metrics
from ..selectors import AnswerArrays
from ..serving import StoredModel


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


def _headline(m: dict) -> dict:
    keys = ("accuracy", "auc", "logLoss", "brierScore", "f1Score")
    return {k: m[k] for k in keys}


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
