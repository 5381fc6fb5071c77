"""camelCase at the edge: Python names inside, the original system's camelCase in JSON bodies."""

from __future__ import annotations

from dataclasses import fields


def camel(name: str) -> str:
    """``log_loss_tolerance`` -> ``logLossTolerance``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def camel_fields(instance) -> dict:
    """A dataclass's fields, in their order, under camelCase keys (values as they are)."""
    return {camel(field.name): getattr(instance, field.name) for field in fields(instance)}
