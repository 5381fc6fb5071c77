"""A version's training cutoff: the newest answer it could see.

Answers get integer keys in arrival order, so "answers a version never saw" is a key range
(``id > cutoff``). Where keys are not integers (MongoDB's object ids) the arrival time stands in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q


@dataclass(frozen=True)
class Cutoff:
    id: int | None
    at: datetime | None

    @property
    def known(self) -> bool:
        return self.id is not None or self.at is not None

    def after(self) -> Q:
        """Answers that arrived after the cutoff."""
        return self._answers("gt")

    def through(self) -> Q:
        """Answers that had arrived by the cutoff."""
        return self._answers("lte")

    def _answers(self, lookup: str) -> Q:
        """Answers whose key (else arrival time) compares to the cutoff's by ``lookup``; all without one."""
        if self.id is not None:
            return Q(**{f"id__{lookup}": self.id})
        if self.at is not None:
            return Q(**{f"created_at__{lookup}": self.at})
        return Q()

    def __lt__(self, other: Cutoff) -> bool:
        if self.id is not None and other.id is not None:
            return self.id < other.id
        return (self.at is not None and other.at is not None) and self.at < other.at
