"""Item response theory in pure numpy/scipy: no Django here.

``IRT`` (1PL/2PL marginal maximum likelihood), ``ModuleIRT`` (2PL with per-module deviations of
ability), ``Heuristic`` (the original success-rate rules),
``metrics`` for held-out evaluation, ``IdEncoder`` for arbitrary ids <-> dense indices, and
``eap_ability``/``information``/``rank_items``/``best_items`` for scoring a learner between calibrations.
"""

from . import metrics
from ._validation import NotFittedError
from .adaptive import (
    NodeTables,
    best_items,
    eap_ability,
    eap_from_log_likelihood,
    information,
    module_ability,
    rank_items,
)
from .encoding import IdEncoder
from .heuristic import Heuristic
from .model import IRT
from .modules import ModuleIRT
from .prediction import predict_2pl
from .simulate import draw_answers, simulate_2pl, simulate_2pl_modules

__all__ = [
    "IRT",
    "Heuristic",
    "IdEncoder",
    "ModuleIRT",
    "NodeTables",
    "NotFittedError",
    "best_items",
    "draw_answers",
    "eap_ability",
    "eap_from_log_likelihood",
    "information",
    "metrics",
    "module_ability",
    "predict_2pl",
    "rank_items",
    "simulate_2pl",
    "simulate_2pl_modules",
]
