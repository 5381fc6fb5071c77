"""Lifecycle events of model versions, as Django signals.

The retraining services send them; other apps (webhooks, metrics) subscribe. Senders send only
after the writes they describe are committed (``transaction.on_commit``), with ``send_robust`` so a
failing receiver never breaks a deploy or a retrain. Receivers must return quickly: anything slow
(an HTTP call) is enqueued as a job, never done inline.

Every signal is sent with ``sender=ModelVersion`` and the keyword arguments listed beside it.
"""

from django.dispatch import Signal

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
