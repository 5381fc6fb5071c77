"""What the console's pages share: formatted cells, chart boxes, version links, the live-training
and same-answers panels."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import console, selectors, services
from ..errors import NotComparable
from ..models import ModelVersion
from ..services import comparison as comparisons

STATUS_COLOURS = {
    "training": "#b7791f",
    "completed": "#2b6cb0",
    "failed": "#c53030",
    "deployed": "#2f855a",
    "archived": "#718096",
}


def number(value, pattern="{:.4f}"):
    return pattern.format(value) if isinstance(value, int | float) else "-"


def table(rows, css_class="metrics") -> str:
    if not rows:
        return "-"
    return format_html(
        '<table class="{}">{}</table>', css_class, format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    )


def live_training() -> dict:
    """The training status and any queued retrain, as the pages show and poll it."""
    return console.live_training(selectors.training_status(), services.retrain_pending())


def chart(svg, width: int = 560) -> str:
    """A chart at a readable width that still shrinks on a phone (the SVG fills its box)."""
    return format_html('<div class="chart-box" style="width:{}px;max-width:calc(100vw - 48px)">{}</div>', width, svg)


def same_answers(version: ModelVersion | None, production: ModelVersion | None) -> dict | None:
    """``version`` against the serving version on the same recent answers (the comparison service)."""
    if version is None or production is None or production.pk == version.pk:
        return None
    if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED):
        return None
    try:
        return {"view": console.comparison_view(comparisons.compare_cached(version, production))}
    except NotComparable as error:
        return {"error": str(error)}


def version_link(version: ModelVersion | None) -> str:
    if version is None:
        return "-"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:retraining_modelversion_change", args=[version.pk]), version.version
    )
