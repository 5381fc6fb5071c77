"""Input checks shared by the estimators: clear ``ValueError`` messages, never silent coercion."""

from __future__ import annotations

import inspect

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """Raised when a prediction is asked of an estimator that has not been fitted."""


class Estimator:
    """scikit-learn's convention: ``__init__`` stores its keyword arguments under their own names,
    so :meth:`get_params` can read them back (to record, compare or clone a configuration)."""

    def get_params(self) -> dict:
        """The constructor's parameters and their values, by name."""
        signature = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, parameter in signature.parameters.items()
            if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        }


def check_fitted(estimator, what: str, call: str = "fit(users, items, correct)") -> None:
    """Raise :class:`NotFittedError` unless ``fit`` has run (fitted state ends in ``_``)."""
    if not hasattr(estimator, "difficulty_"):
        raise NotFittedError(f"this {what} is not fitted yet: call {call} first")


def as_index_array(values, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D ``int64`` array of non-negative indices, or raise ``ValueError``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got an array of shape {array.shape}")
    if array.dtype == bool:
        raise ValueError(f"{name} must hold integer indices, not booleans")
    if array.dtype.kind == "f":
        if np.isnan(array).any():
            raise ValueError(f"{name} contains NaN; every answer needs a {name[:-1]} index")
        if not np.all(np.isfinite(array)) or not np.all(array == np.floor(array)):
            raise ValueError(f"{name} must hold whole numbers (integer-coded indices)")
    elif array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must hold integer indices, got dtype {array.dtype}; encode ids with retraining.irt.IdEncoder first"
        )
    array = array.astype(np.int64, copy=False)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative indices, found {int(array.min())}")
    return array


def as_binary_array(values, name: str = "correct") -> np.ndarray:
    """Return ``values`` as a 1-D ``float64`` array of 0/1 outcomes, or raise ``ValueError``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got an array of shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold 0/1 values, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN; every answer must be 0 (wrong) or 1 (right)")
    bad = (array != 0) & (array != 1)
    if bad.any():
        raise ValueError(f"{name} must hold only 0 or 1, found {array[bad][0]!r}")
    return array


def check_answers(users, items, correct):
    """Validate the three parallel arrays of answers; return them converted."""
    users = as_index_array(users, "users")
    items = as_index_array(items, "items")
    correct = as_binary_array(correct)
    if not (users.size == items.size == correct.size):
        raise ValueError(
            f"users, items and correct must have the same length, got {users.size}, {items.size} and {correct.size}"
        )
    if users.size == 0:
        raise ValueError("no answers given: users, items and correct are empty")
    return users, items, correct


def check_pairs(users, items):
    """Validate the two parallel index arrays given to ``predict_proba``."""
    users = as_index_array(users, "users")
    items = as_index_array(items, "items")
    if users.size != items.size:
        raise ValueError(f"users and items must have the same length, got {users.size} and {items.size}")
    return users, items
