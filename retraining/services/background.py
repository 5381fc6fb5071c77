"""Running a retrain in a background thread of this process (the API and the admin start runs this way)."""

from __future__ import annotations

import logging
import threading

from django.db import connection

from ..models import ModelVersion
from .training import retrain

logger = logging.getLogger(__name__)


def retrain_start(*, wait_for_version: float = 60.0, **options) -> ModelVersion | None:
    """Run :func:`retrain` in a background thread of this process; return its version once created.

    Errors raised before the version exists (training in progress, no data, bad options) are
    raised here, so callers can answer at once; later errors mark the version failed as usual.
    Returns None if loading takes longer than ``wait_for_version`` seconds (it goes on running).
    """
    created = threading.Event()
    outcome: dict = {}

    def on_started(version):
        outcome["version"] = version
        created.set()

    def run():
        try:
            retrain(**options, started=on_started)
        except BaseException as error:
            outcome.setdefault("error", error)
            if "version" not in outcome:
                logger.warning("background retrain failed before creating a version: %s", error)
            else:
                logger.exception("background retrain of %s failed", outcome["version"].version)
        finally:
            created.set()
            connection.close()
            _background_runs.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="retrain", daemon=True)
    _background_runs.add(thread)
    thread.start()
    created.wait(wait_for_version)
    if "version" not in outcome and "error" in outcome:
        raise outcome["error"]
    return outcome.get("version")


_background_runs: set[threading.Thread] = set()


def background_runs_join(timeout: float = 60.0) -> None:
    """Wait for the retrains started by :func:`retrain_start` in this process (shutdown, tests)."""
    for thread in list(_background_runs):
        thread.join(timeout)
