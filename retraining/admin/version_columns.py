"""The version list's columns and the version page's read-only fields."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from .. import charts, console
from ..irt.metrics import METRIC, METRICS
from ..models import Deployment
from ..services.algorithms import algorithm_fits_discrimination, algorithm_short_label
from ..serving import stored_model
from .display import STATUS_COLOURS, chart, number, table


class VersionColumns:
    """Columns and fields of ``ModelVersionAdmin`` (a mixin: the admin reads them by name)."""

    # -- list columns
    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = STATUS_COLOURS.get(obj.status, "#333")
        label = "Serving" if obj.is_production else obj.get_status_display()
        return format_html(
            '<span class="status-badge status-{}{}" style="background:{};color:#fff;padding:1px 7px;'
            'border-radius:9px;font-size:11px;white-space:nowrap">{}</span>',
            obj.status,
            " serving" if obj.is_production else "",
            colour,
            label,
        )

    @admin.display(description="decision")
    def decision_column(self, obj):
        badge = console.decision_badge(obj)
        if badge["kind"] in ("failed", "training"):
            return "-"
        strong = badge["kind"] == "review"
        return format_html(
            '<span class="decision decision-{}" title="{}" style="color:{};{}">{}</span>',
            badge["kind"],
            (obj.decision or {}).get("reason", badge["meaning"]),
            "#fff" if strong else badge["colour"],
            f"background:{badge['colour']};padding:1px 7px;border-radius:9px;font-weight:bold" if strong else "",
            badge["label"],
        )

    @admin.display(description="accuracy")
    def accuracy(self, obj):
        return METRIC["accuracy"].format((obj.metrics or {}).get("accuracy"))

    @admin.display(description="AUC")
    def auc(self, obj):
        return METRIC["auc"].format((obj.metrics or {}).get("auc"), digits=3)

    @admin.display(description="log-loss")
    def log_loss(self, obj):
        return METRIC["logLoss"].format((obj.metrics or {}).get("logLoss"), digits=3)

    @admin.display(description="answers", ordering="training_data_count")
    def training_answers(self, obj):
        return f"{obj.training_data_count:,}"

    @admin.display(description="duration", ordering="duration")
    def duration_seconds(self, obj):
        return number(obj.duration, "{:.1f} s")

    @admin.display(description="started by")
    def started_by(self, obj):
        return format_html('<span style="white-space:normal">{}</span>', console.started_by(obj))

    @admin.display(description=f"finished ({console.zone_name()})", ordering="training_completed_at")
    def finished_at(self, obj):
        return console.when(obj.training_completed_at, "Y-m-d H:i")

    @admin.display(description="type", ordering="model_type")
    def algorithm(self, obj):
        return algorithm_short_label(obj.model_type)

    # -- detail fields
    @admin.display(description="error")
    def error_message(self, obj):
        if not obj.error:
            return "-"
        return format_html('<p class="errornote" id="version-error" style="margin:0">{}</p>', obj.error)

    @admin.display(description="deployments")
    def deployments_link(self, obj):
        count = Deployment.objects.filter(Q(version=obj) | Q(previous_version=obj)).count()
        if not count:
            return "never deployed"
        url = reverse("admin:retraining_deployment_changelist") + "?" + urlencode({"version": obj.version})
        return format_html(
            '<a href="{}" id="version-deployments">{} deploy/rollback record{}</a>',
            url,
            count,
            "" if count == 1 else "s",
        )

    @admin.display(description="decision")
    def decision_reason(self, obj):
        decision = obj.decision or {}
        if not decision:
            return "-"
        verdict = "deploy" if decision.get("deploy") else "keep the serving model"
        return f"{verdict}: {decision.get('reason', '')}"

    @admin.display(description="gate details")
    def decision_display(self, obj):
        return table(console.gate_rows(obj.decision or {}))

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        m = obj.metrics or {}
        if not m:
            return "-"
        rows = [(metric.label, metric.format(m.get(metric.key))) for metric in METRICS]
        rows.append(
            (
                "Held-out answers",
                f"{number(m.get('validationCount'), '{:,}')} (trained on {number(m.get('trainCount'), '{:,}')})",
            )
        )
        for key, label in (("production", "Serving model"), ("baseline", "Heuristic baseline")):
            other = m.get(key)
            if other:
                name = f"{label} {other.get('version', '')}".strip()
                rows.append(
                    (
                        f"{name} on the same answers",
                        f"accuracy {METRIC['accuracy'].format(other.get('accuracy'))}, "
                        f"AUC {METRIC['auc'].format(other.get('auc'))}, "
                        f"log-loss {METRIC['logLoss'].format(other.get('logLoss'))}",
                    )
                )
        return table(rows)

    @admin.display(description="calibration")
    def calibration_chart(self, obj):
        table = (obj.metrics or {}).get("calibration")
        return chart(charts.calibration_plot(table), 400) if table else "-"

    @admin.display(description="summaries")
    def parameter_summaries(self, obj):
        params = obj.summaries or {}
        rows = [
            (name, number(params[key]["mean"], "{:.3f}"), number(params[key]["variance"], "{:.3f}"))
            for key, name in (
                ("difficulty", "Difficulty"),
                ("discrimination", "Discrimination"),
                ("abilityEstimates", "Ability"),
            )
            if key in params and (key != "discrimination" or algorithm_fits_discrimination(obj.model_type))
        ]
        if not rows:
            return "-"
        arrays = stored_model(obj).parameters
        counts = f"{len(arrays.question_ids):,} questions, {len(arrays.user_ids):,} learners"
        return format_html(
            '<table class="metrics"><tr><th></th><th>mean</th><th>variance</th></tr>{}</table><p>{}</p>',
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows),
            counts,
        )

    @admin.display(description="module deviations")
    def module_deviations(self, obj):
        modules = (obj.summaries or {}).get("modules") or {}
        summary = modules.get("deviationEstimates") or {}
        rows = [
            (
                "spread tau (chosen on an inner split of the training answers)",
                number(modules.get("deviationSpread"), "{:.2f}"),
            ),
            ("(learner, module) pairs", f"{modules.get('pairs', 0):,}"),
            (
                "deviation mean / variance",
                f"{number(summary.get('mean'), '{:.3f}')} / {number(summary.get('variance'), '{:.3f}')}",
            ),
            ("spread of difficulties around module means", number(modules.get("difficultySpread"), "{:.2f}")),
        ]
        return format_html(
            '<table class="metrics">{}</table>', format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    @admin.display(description="difficulty")
    def difficulty_chart(self, obj):
        return _histogram(obj, "difficulty", "Question difficulty", "difficulty b (logits; higher = harder)")

    @admin.display(description="discrimination")
    def discrimination_chart(self, obj):
        label = "discrimination a (slope; higher = separates learners more sharply)"
        return _histogram(obj, "discrimination", "Question discrimination", label)

    @admin.display(description="ability")
    def ability_chart(self, obj):
        label = "ability \u03b8 (logits; 0 = average learner)"
        return _histogram(obj, "ability", "Learner ability", label, counted="learners")

    @admin.display(description="config")
    def config_display(self, obj):
        return table(console.config_rows(obj.config or {}))


def _histogram(version, field: str, title: str, label: str, counted: str = "questions") -> str:
    """A histogram of one of the version's stored parameter arrays."""
    values = getattr(stored_model(version).parameters, field).tolist()
    return chart(charts.histogram(values, title=title, label=label, counted=counted))
