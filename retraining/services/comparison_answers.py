"""Which answers two versions are compared on, and which of them each version trained on.

By default the most recent answers neither version trained on (after the newer one's cutoff, plus
its held-out answers that arrived after the older one's); below ``MLOPS_MIN_COMPARISON_ANSWERS``,
the newer version's whole held-out set, with the share each version trained on. A version's
training answers are reproduced from its recorded config (:func:`training_window`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from django.conf import settings

from training_data.models import TrainingData

from ..models import ModelVersion
from ..selectors import AnswerArrays, answers_concat, answers_load
from .evaluation import holdout_mask

FRESH = "fresh"  # answers neither version trained on
HELD_OUT = "held-out"  # too few fresh answers: the newer version's whole held-out set
GIVEN = "given"  # answers chosen by the caller (e.g. a file)


@dataclass(frozen=True)
class TrainingWindow:
    """The answers a version was given, reproduced: its training part and its held-out part."""

    data: AnswerArrays
    held: np.ndarray  # True for the held-out answers

    def held_out(self) -> AnswerArrays:
        return self.data.subset(self.held)

    def trained_on(self, ids: np.ndarray) -> np.ndarray:
        return np.isin(ids, self.data.ids[~self.held])


def training_window(version: ModelVersion) -> TrainingWindow | None:
    """The answers ``version`` was given and its held-out split, reloaded from its recorded config.

    Answer keys grow in arrival order, so "its limit newest answers among those that had arrived
    by its cutoff" is the same set as when it trained; the digest proves it. None when that cannot
    be reproduced (no cutoff recorded, or answers deleted since).
    """
    config = version.config or {}
    if not version.cutoff.known or "validationSplit" not in config:
        return None
    data = answers_load(
        limit=config.get("limit"), since=_since(config.get("since")), keys=version.cutoff.through(), with_labels=False
    )
    if data.digest != version.data_digest:
        return None
    held = holdout_mask(
        data,
        validation_split=config["validationSplit"],
        random_seed=config.get("randomSeed", settings.MLOPS_RANDOM_SEED),
        split=config.get("split", "random"),
    )
    return TrainingWindow(data=data, held=held)


def select_answers(a: ModelVersion, b: ModelVersion, windows: dict) -> tuple[AnswerArrays, str, dict]:
    """The default answers for ``a`` against ``b``, how they were chosen (FRESH or HELD_OUT), and
    for each version which of them it trained on. ``windows`` caches the training windows loaded."""
    newer, older = (b, a) if a.cutoff < b.cutoff else (a, b)
    after_both = answers_load(keys=newer.cutoff.after(), with_labels=False)
    window = windows.get(newer.pk) or training_window(newer)
    held = window.held_out() if window is not None else after_both.subset(np.zeros(0, dtype=np.int64))
    fresh = answers_concat([after_both, held.subset(arrived_after(older, held))])
    if len(fresh) >= settings.MLOPS_MIN_COMPARISON_ANSWERS or window is None:
        return fresh, FRESH, {a.pk: np.zeros(len(fresh), bool), b.pk: np.zeros(len(fresh), bool)}
    widened = answers_concat([after_both, held])
    trained = {newer.pk: np.zeros(len(widened), bool), older.pk: trained_on(older, widened.ids, windows)}
    return widened, HELD_OUT, trained


def arrived_after(version: ModelVersion, data: AnswerArrays) -> np.ndarray:
    """Which of these answers arrived after the version's cutoff."""
    if version.cutoff.id is not None and data.ids.dtype == np.int64:
        return data.ids > version.cutoff.id
    later = TrainingData.objects.filter(version.cutoff.after(), pk__in=list(data.ids)).values_list("pk", flat=True)
    return np.isin(data.ids, np.array(list(later), dtype=data.ids.dtype))


def trained_on(version: ModelVersion, ids: np.ndarray, windows: dict) -> np.ndarray:
    """Which of these answers ``version`` trained on (an unknown split counts as trained: the
    honest side of the doubt)."""
    if version.cutoff.id is not None and ids.dtype == np.int64 and not (ids <= version.cutoff.id).any():
        return np.zeros(ids.size, bool)
    window = windows.get(version.pk) or training_window(version)
    if window is not None:
        windows[version.pk] = window
        return window.trained_on(ids)
    if version.cutoff.id is not None and ids.dtype == np.int64:
        return ids <= version.cutoff.id
    return np.ones(ids.size, bool)


def _since(value: str | None) -> date | datetime | None:
    if not value:
        return None
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
