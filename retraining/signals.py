"""Lifecycle events of model versions, as Django signals.

The retraining services send them; other apps (webhooks, metrics) subscribe. Senders send only
after the writes they describe are committed (``transaction.on_commit``), with ``send_robust`` so a
failing receiver never breaks a deploy or a retrain. Receivers must return quickly: anything slow
(an HTTP call) is enqueued as a job, never done inline.

Every signal is sent with ``sender=ModelVersion`` and the keyword arguments listed beside it.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

#: A version became production: ``version``, ``previous`` (or None), ``action``
#: ("auto-deploy", "deploy" or "rollback"), ``actor`` (a name).
version_deployed = Signal()

#: A retrain finished and stored its version: ``version``, ``deployed`` (bool), ``reason`` (str).
retrain_completed = Signal()

#: A retrain failed: ``version`` (or None when it failed before one existed), ``error`` (str).
retrain_failed = Signal()

#: The gate kept back a candidate that needs a person's look: ``version``, ``reason`` (str).
gate_needs_review = Signal()

#: Monitoring found the serving model worse than at deploy time: ``version``, ``reason`` (str),
#: ``log_loss`` (recent) and ``baseline_log_loss``.
production_degraded = Signal()


def send_after_commit(signal: Signal, **kwargs) -> None:
    """Send ``signal`` (sender ModelVersion) once the current transaction commits (at once outside
    one), with ``send_robust``: a receiver's error is logged, never raised into the service."""
    from .models import ModelVersion

    def send():
        for receiver, result in signal.send_robust(sender=ModelVersion, **kwargs):
            if isinstance(result, Exception):
                logger.error("receiver %r of a lifecycle signal failed: %r", receiver, result)

    transaction.on_commit(send)
