"""Arbitrary ids (question ids, user hashes) <-> dense indices 0..n-1, in first-seen order."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class IdEncoder:
    """A stable mapping from ids to dense indices; unknown ids encode to ``n`` and above.

    Kept with a fitted model (``to_list``/``from_list``) so that predictions for new answers use
    the same indices as the fit; an id never seen encodes past the fitted range (a cold start).
    """

    def __init__(self, ids: Iterable = ()):
        self._index: dict = {}
        self.ids: list = []
        for value in ids:
            self.add(value)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, value) -> int:
        index = self._index.get(value)
        if index is None:
            index = self._index[value] = len(self.ids)
            self.ids.append(value)
        return index

    def fit_encode(self, values: Iterable) -> np.ndarray:
        """Encode, giving new ids the next free indices."""
        add = self.add
        return np.fromiter((add(v) for v in values), dtype=np.int64)

    def encode(self, values: Iterable) -> np.ndarray:
        """Encode without learning: each unknown id gets its own index >= len(self)."""
        extra: dict = {}
        known = self._index
        n = len(self.ids)

        def lookup(value):
            index = known.get(value)
            if index is None:
                index = extra.setdefault(value, n + len(extra))
            return index

        return np.fromiter((lookup(v) for v in values), dtype=np.int64)

    def decode(self, indices) -> list:
        return [self.ids[i] for i in np.asarray(indices, dtype=np.int64)]

    def to_list(self) -> list:
        return list(self.ids)

    @classmethod
    def from_list(cls, ids: Iterable) -> IdEncoder:
        return cls(ids)
