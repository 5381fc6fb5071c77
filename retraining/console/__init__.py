"""What the staff console shows, as plain data: labels, rounded table rows, the live-training line.

The admin (``retraining/admin/``) is the door; this package only turns stored versions and the
training status into things a person reads. No rule of the service lives here. ``status``: who,
when, the live-training line; ``decisions``: the gate's decision and config rows, badges;
``comparisons``: comparisons as tables and sentences.
"""

from .comparisons import SELECTIONS, SHOWN_METRICS, comparison_view, metric_cells
from .decisions import (
    config_rows,
    decision_badge,
    decision_kind,
    gate_rows,
    needs_review,
    versions_needing_review,
)
from .status import (
    COMMAND_ACTOR,
    CRON,
    actor_label,
    in_progress_message,
    live_training,
    started_by,
    when,
    zone_name,
)

__all__ = [
    "COMMAND_ACTOR",
    "CRON",
    "SELECTIONS",
    "SHOWN_METRICS",
    "actor_label",
    "comparison_view",
    "config_rows",
    "decision_badge",
    "decision_kind",
    "gate_rows",
    "in_progress_message",
    "live_training",
    "metric_cells",
    "needs_review",
    "started_by",
    "versions_needing_review",
    "when",
    "zone_name",
]
