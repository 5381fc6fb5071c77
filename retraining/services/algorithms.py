"""The algorithms a retrain can fit, registered by name (the version's ``model_type``).

Adding one is a single call, e.g. ``algorithm_register("irt-2pl-modules", ModuleIRT)``: the
``retrain`` command, the API and the version's stored config all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from common.camel import camel

from ..errors import RetrainingError
from ..irt import IRT, Heuristic, ModuleIRT
from ..selectors import AnswerArrays

#: The success-rate rules every candidate is also scored against.
BASELINE = "heuristic"

Heartbeat = Callable[[int], None]


def _em_arguments(data: AnswerArrays, heartbeat: Heartbeat) -> dict:
    """An EM estimator reports each iteration (the run renews its lease there)."""
    return {"n_users": len(data.user_ids), "n_items": len(data.question_ids), "callback": heartbeat}


def _label_arguments(data: AnswerArrays, heartbeat: Heartbeat) -> dict:
    """The heuristic starts from the app's difficulty labels; it has no iterations to report."""
    sizes = {"n_users": len(data.user_ids), "n_items": len(data.question_ids)}
    return {**sizes, "initial_difficulty": data.difficulty_labels}


def _module_arguments(data: AnswerArrays, heartbeat: Heartbeat) -> dict:
    """The module model also declares how many modules there are (its deviations are per module)."""
    return {**_em_arguments(data, heartbeat), "n_modules": len(data.module_ids)}


@dataclass(frozen=True)
class Algorithm:
    """How to make and fit one kind of model.

    ``estimator`` builds a fresh unfitted estimator (``fit``/``predict_proba``, fitted state with a
    trailing underscore); ``fit_arguments(data, heartbeat)`` gives the keyword arguments of its
    ``fit`` beside the answers; ``with_labels`` loads the app's difficulty labels with the answers;
    ``settings`` is recorded in the version's config (default: the estimator's ``get_params()``);
    ``columns`` names further per-answer arrays of :class:`AnswerArrays` that the estimator's
    ``fit`` and ``predict_proba`` take after the answers (e.g. ``("modules",)``). ``label`` names
    it for people (the version's ``model_type`` choices), ``short_label`` in the console's list;
    ``discrimination`` says whether it fits a discrimination per question (the console shows it).
    """

    name: str
    estimator: Callable[[], object]
    fit_arguments: Callable[[AnswerArrays, Heartbeat], dict] = _em_arguments
    with_labels: bool = False
    settings: dict | None = None
    columns: tuple[str, ...] = ()
    label: str = ""
    short_label: str = ""
    discrimination: bool = False

    def answer_columns(self, data: AnswerArrays, mask) -> list:
        """The extra per-answer arrays for ``fit``/``predict_proba``, restricted to ``mask``."""
        return [getattr(data, name)[mask] for name in self.columns]

    def config_settings(self) -> dict:
        if self.settings is not None:
            return dict(self.settings)
        return {camel(name): value for name, value in self.estimator().get_params().items()}


#: Every registered algorithm by name, in registration order (the first is the default).
ALGORITHMS: dict[str, Algorithm] = {}


def algorithm_register(name: str, estimator: Callable[[], object], **options) -> Algorithm:
    """Register (or replace) the algorithm ``name``; ``options`` are :class:`Algorithm`'s fields."""
    options.setdefault("label", name)
    options.setdefault("short_label", options["label"])
    algorithm = Algorithm(name, estimator, **options)
    ALGORITHMS[name] = algorithm
    return algorithm


def algorithm_fits_discrimination(name: str) -> bool:
    """Whether versions of ``name`` have a discrimination per question (False for unknown names)."""
    algorithm = ALGORITHMS.get(name)
    return algorithm is not None and algorithm.discrimination


def algorithm_short_label(name: str) -> str:
    """The algorithm's short name for lists (the name itself when it is not registered)."""
    return ALGORITHMS[name].short_label if name in ALGORITHMS else name


def algorithm_get(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise RetrainingError(f"Unknown algorithm {name!r}: choose one of {', '.join(ALGORITHMS)}") from None


algorithm_register("irt-2pl", partial(IRT, model="2pl"), label="IRT 2PL", discrimination=True)
algorithm_register("irt-1pl", partial(IRT, model="1pl"), label="IRT 1PL")
algorithm_register(
    BASELINE,
    Heuristic,
    fit_arguments=_label_arguments,
    with_labels=True,
    settings={"rule": "success-rate adjustment (0.5 - s) * 0.4 outside 30-80 %"},
    label="Success-rate heuristic",
    short_label="heuristic",
)
algorithm_register(
    "irt-2pl-modules",
    ModuleIRT,
    fit_arguments=_module_arguments,
    columns=("modules",),
    label="IRT 2PL + module deviations",
    short_label="2PL + modules",
    discrimination=True,
)
