"""The catalogue of webhook events and the receivers that turn lifecycle signals into deliveries.

Each event is one of ``retraining.signals``; its body's ``data`` is built here, once, from the
signal's arguments. The receivers only write delivery rows and queue their jobs (a few inserts):
the HTTP calls happen in the worker, so a slow receiver never delays a deploy or a retrain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.dispatch import Signal

from retraining import signals


def _name(version) -> str | None:
    return getattr(version, "version", version)


def _deployed(*, version, previous=None, action="", actor="", **_) -> dict:
    return {
        "version": _name(version),
        "previousVersion": _name(previous),
        "action": action,
        "actor": actor,
        "deployedAt": version.deployed_at.isoformat() if getattr(version, "deployed_at", None) else None,
    }


def _completed(*, version, deployed=False, reason="", **_) -> dict:
    metrics = getattr(version, "metrics", None) or {}
    return {
        "version": _name(version),
        "deployed": bool(deployed),
        "reason": reason,
        "algorithm": getattr(version, "model_type", None),
        "trainingDataCount": getattr(version, "training_data_count", None),
        "duration": getattr(version, "duration", None),
        "metrics": {k: metrics.get(k) for k in ("accuracy", "auc", "logLoss", "brierScore")},
    }


def _failed(*, version=None, error="", **_) -> dict:
    return {"version": _name(version), "error": str(error)}


def _needs_review(*, version, reason="", **_) -> dict:
    return {"version": _name(version), "reason": reason}


def _degraded(*, version, reason="", log_loss=None, baseline_log_loss=None, **_) -> dict:
    return {"version": _name(version), "reason": reason, "logLoss": log_loss, "baselineLogLoss": baseline_log_loss}


@dataclass(frozen=True)
class Event:
    name: str
    signal: Signal
    data: Callable[..., dict]
    description: str


EVENTS: tuple[Event, ...] = (
    Event("version.deployed", signals.version_deployed, _deployed, "a version became production (incl. rollbacks)"),
    Event("retrain.completed", signals.retrain_completed, _completed, "a retrain stored its version"),
    Event("retrain.failed", signals.retrain_failed, _failed, "a retrain failed"),
    Event("gate.needs_review", signals.gate_needs_review, _needs_review, "the gate held back a candidate"),
    Event("production.degraded", signals.production_degraded, _degraded, "monitoring found the serving model worse"),
)
EVENT_NAMES = tuple(event.name for event in EVENTS)


def _receiver(event: Event):
    def receive(sender, **kwargs):
        from .services import deliveries_create

        kwargs.pop("signal", None)
        deliveries_create(event=event.name, data=event.data(**kwargs))

    return receive


_receivers: list = []  # strong references: signals hold receivers weakly


def connect() -> None:
    for event in EVENTS:
        receiver = _receiver(event)
        _receivers.append(receiver)
        event.signal.connect(receiver, dispatch_uid=f"webhooks:{event.name}")
