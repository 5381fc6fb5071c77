"""Item response theory in pure numpy/scipy: no Django here.

``IRT`` (1PL/2PL marginal maximum likelihood), ``Heuristic`` (the original success-rate rules),
``metrics`` for held-out evaluation and ``IdEncoder`` for arbitrary ids <-> dense indices.
"""

from . import metrics
from ._validation import NotFittedError
from .encoding import IdEncoder
from .heuristic import Heuristic
from .model import IRT
from .simulate import simulate_2pl

__all__ = ["IRT", "Heuristic", "IdEncoder", "NotFittedError", "metrics", "simulate_2pl"]
