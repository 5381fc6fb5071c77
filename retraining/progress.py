"""A retrain's steps as people read them: the one place for the words (and marks) of its progress.

The retrain reports each step by name with its facts (``progress(step, facts)``); the ``retrain``
command prints :func:`lines` as ``[tag] text``, and the status endpoint shows the current step's
first line (:func:`sentence`), which the training lease keeps.
"""

from __future__ import annotations

from .irt.metrics import METRIC


def _scored(facts: dict) -> list[tuple[str, str]]:
    mark = "✅" if facts["above_floor"] else "⚠️"
    return [
        ("Evaluation", f"{mark} Accuracy: {METRIC['accuracy'].format(facts['accuracy'])}"),
        ("Evaluation", f"RMSE: {METRIC['rmse'].format(facts['rmse'])}"),
    ]


def _fitted(facts: dict) -> list[tuple[str, str]]:
    return [
        ("Learning", f"Processed {facts['questions']} questions and {facts['users']} users"),
        ("Learning", f"Difficulty mean: {facts['difficulty_mean']:.2f}"),
        ("Learning", f"Ability mean: {facts['ability_mean']:.2f}"),
    ]


#: Each step's lines: ``(tag, text)`` pairs whose text may name the step's facts, or a function of them.
STEPS = {
    "starting": [("Retraining", "Starting automated model retraining...")],
    "loaded": [("Retraining", "Loaded {answers} training samples")],
    "created": [("Retraining", "Created model version: {version}")],
    "fitting": [("Learning", " Running IRT-based learning algorithm...")],
    "fitted": _fitted,
    "learned": [("Retraining", "Learning algorithm completed")],
    "evaluating": [("Evaluation", "Evaluating model performance...")],
    "scored": _scored,
    "evaluated": [("Retraining", "Model evaluation completed")],
    "compared": [("Evaluation", "Against production {production}: {summary}")],
    "saved": [("Retraining", "✅ Model version {version} saved successfully")],
    "kept": [("Deploy", "Not deployed: {reason}")],
    "deploying": [("Deploy", "Deploying model to production...")],
    "deployed": [("Deploy", "Model parameters ready for application"), ("Retraining", "Model deployed to production")],
}


def lines(step: str, facts: dict) -> list[tuple[str, str]]:
    """The ``(tag, text)`` lines of one reported step."""
    shown = STEPS[step]
    if callable(shown):
        return shown(facts)
    return [(tag, text.format(**facts)) for tag, text in shown]


def sentence(step: str, facts: dict) -> str:
    """The step's first line, without its tag (what the status endpoint shows)."""
    return lines(step, facts)[0][1]
