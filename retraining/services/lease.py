"""The one-training-at-a-time lease: a ``TrainingLock`` row claimed under a unique name."""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..errors import RetrainingError, TrainingInProgress
from ..models import ModelVersion, TrainingLock
from ..selectors import LOCK_NAME

# How often a fit's progress (EM iteration) reaches the lock row, where the console and the status
# endpoint read it. One small UPDATE every few seconds costs nothing beside an EM iteration.
PROGRESS_SECONDS = 2.0


class TrainingLease:
    """Holds the training lock: a ``TrainingLock`` row claimed under its unique name.

    ``acquire`` inserts the row (the database's unique constraint lets exactly one process win);
    a row whose lease has expired belongs to a dead run and is taken over with a compare-and-swap
    update, failing that run's orphan version. ``heartbeat`` renews the lease while working.
    """

    def __init__(self, *, lease_seconds: int | None = None):
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=lease_seconds or settings.MLOPS_TRAINING_LEASE_SECONDS)
        self._last_beat = 0.0

    def acquire(self) -> TrainingLease:
        for _ in range(3):
            now = timezone.now()
            try:
                with transaction.atomic():
                    TrainingLock.objects.create(
                        name=LOCK_NAME, owner=self.owner, acquired_at=now, heartbeat_at=now, expires_at=now + self.lease
                    )
                self._last_beat = time.monotonic()
                return self
            except IntegrityError:
                pass
            held = TrainingLock.objects.filter(name=LOCK_NAME).select_related("version").first()
            if held is None:
                continue  # released in between: try again
            if held.expires_at > now:
                raise TrainingInProgress(
                    version=held.version.version if held.version else None, started_at=held.acquired_at
                )
            taken = TrainingLock.objects.filter(pk=held.pk, owner=held.owner, expires_at__lte=now).update(
                owner=self.owner,
                version=None,
                acquired_at=now,
                heartbeat_at=now,
                expires_at=now + self.lease,
                progress={},
            )
            if not taken:
                raise TrainingInProgress()
            self._last_beat = time.monotonic()
            if held.version is not None:
                ModelVersion.objects.filter(pk=held.version.pk, status=ModelVersion.Status.TRAINING).update(
                    status=ModelVersion.Status.FAILED,
                    training_completed_at=now,
                    error=(
                        f"Abandoned: its training process stopped renewing the lease (killed or crashed; last "
                        f"heartbeat {held.heartbeat_at.isoformat()}); the next run took over at {now.isoformat()}."
                    ),
                )
            return self
        raise TrainingInProgress()

    def heartbeat(self, *, progress: dict | None = None, force: bool = True) -> None:
        """Renew the lease (and record progress); raise if another run has taken the lock over.

        With ``force=False`` (the fit's per-iteration callback) it writes at most every
        ``PROGRESS_SECONDS`` (or a sixth of the lease if that is shorter).
        """
        interval = min(PROGRESS_SECONDS, self.lease.total_seconds() / 6)
        if not force and time.monotonic() - self._last_beat < interval:
            return
        now = timezone.now()
        changes = {"heartbeat_at": now, "expires_at": now + self.lease}
        if progress is not None:
            changes["progress"] = progress
        if not TrainingLock.objects.filter(name=LOCK_NAME, owner=self.owner).update(**changes):
            raise RetrainingError("Training lease lost: another run took over after this one's lease expired")
        self._last_beat = time.monotonic()

    def attach(self, version: ModelVersion) -> None:
        TrainingLock.objects.filter(name=LOCK_NAME, owner=self.owner).update(version=version)

    def release(self) -> None:
        TrainingLock.objects.filter(name=LOCK_NAME, owner=self.owner).delete()
