"""The staff console: versions with charts, deploy/roll back and retrain buttons, the deploy history.

Every button and action calls the same services as the API and the commands.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from mlops_site.admin import ReadOnlyModelAdmin

from . import charts, selectors, services
from .errors import RetrainingError
from .models import Deployment, ModelVersion

DEPLOY_PERMISSION = "retraining.deploy_modelversion"
RETRAIN_PERMISSION = "retraining.retrain_model"

STATUS_COLOURS = {
    "training": "#b7791f",
    "completed": "#2b6cb0",
    "failed": "#c53030",
    "deployed": "#2f855a",
    "archived": "#718096",
}


def _pretty(value) -> str:
    return format_html(
        "<pre style='white-space: pre-wrap; margin: 0'>{}</pre>", json.dumps(value, indent=2, default=str)
    )


def _number(value, pattern="{:.4f}"):
    return pattern.format(value) if isinstance(value, int | float) else "-"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "version",
        "model_type",
        "status_badge",
        "production_marker",
        "accuracy",
        "auc",
        "log_loss",
        "training_answers",
        "duration_seconds",
        "deployed_at",
        "progress",
    )
    list_display_links = ("version",)
    list_filter = ("status", "model_type")
    ordering = ("-number",)
    actions = ["deploy_selected"]
    change_list_template = "admin/retraining/modelversion/change_list.html"
    change_form_template = "admin/retraining/modelversion/change_form.html"
    fieldsets = (
        (None, {"fields": ("version", "model_type", "status", "is_production", "created_by", "error_message")}),
        ("Gate decision", {"fields": ("decision_reason", "decision_display")}),
        ("Metrics on held-out answers", {"fields": ("metrics_table", "calibration_chart")}),
        ("Parameters", {"fields": ("parameter_summaries", "difficulty_chart", "ability_chart")}),
        ("Lineage", {"fields": ("training_data_count", "data_first_answer_at", "data_last_answer_at", "data_digest")}),
        (
            "Run",
            {"fields": ("config_display", "training_started_at", "training_completed_at", "duration", "deployed_at")},
        ),
    )
    readonly_fields = (
        "version",
        "model_type",
        "status",
        "is_production",
        "created_by",
        "error_message",
        "decision_reason",
        "decision_display",
        "metrics_table",
        "calibration_chart",
        "parameter_summaries",
        "difficulty_chart",
        "ability_chart",
        "training_data_count",
        "data_first_answer_at",
        "data_last_answer_at",
        "data_digest",
        "config_display",
        "training_started_at",
        "training_completed_at",
        "duration",
        "deployed_at",
    )

    def has_deploy_permission(self, request):
        return request.user.has_perm(DEPLOY_PERMISSION)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("parameters")

    # -- list columns
    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = STATUS_COLOURS.get(obj.status, "#333")
        return format_html(
            '<span class="status-badge status-{}" style="background:{};color:#fff;padding:1px 7px;'
            'border-radius:9px;font-size:11px">{}</span>',
            obj.status,
            colour,
            obj.get_status_display(),
        )

    @admin.display(description="production", boolean=True, ordering="is_production")
    def production_marker(self, obj):
        return obj.is_production

    @admin.display(description="accuracy")
    def accuracy(self, obj):
        return _number((obj.metrics or {}).get("accuracy"), "{:.2%}")

    @admin.display(description="AUC")
    def auc(self, obj):
        return _number((obj.metrics or {}).get("auc"))

    @admin.display(description="log-loss")
    def log_loss(self, obj):
        return _number((obj.metrics or {}).get("logLoss"))

    @admin.display(description="training answers", ordering="training_data_count")
    def training_answers(self, obj):
        return obj.training_data_count

    @admin.display(description="duration", ordering="duration")
    def duration_seconds(self, obj):
        return _number(obj.duration, "{:.2f} s")

    @admin.display(description="progress")
    def progress(self, obj):
        if obj.status != ModelVersion.Status.TRAINING:
            return ""
        status = selectors.training_status()
        if status.get("trainingVersion") != obj.version:
            return "no live run (lease ended)"
        return (status.get("progress") or {}).get("message", "starting")

    # -- detail fields
    @admin.display(description="error")
    def error_message(self, obj):
        return obj.error or "-"

    @admin.display(description="decision")
    def decision_reason(self, obj):
        decision = obj.decision or {}
        if not decision:
            return "-"
        verdict = "deploy" if decision.get("deploy") else "keep the serving model"
        return f"{verdict}: {decision.get('reason', '')}"

    @admin.display(description="gate details")
    def decision_display(self, obj):
        return _pretty(obj.decision or {})

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        m = obj.metrics or {}
        if not m:
            return "-"
        rows = [
            (
                label,
                _number(m.get(key), "{:.2%}" if key in ("accuracy", "precision", "recall", "f1Score") else "{:.4f}"),
            )
            for key, label in (
                ("accuracy", "Accuracy"),
                ("precision", "Precision"),
                ("recall", "Recall"),
                ("f1Score", "F1 score"),
                ("auc", "AUC"),
                ("logLoss", "Log-loss"),
                ("brierScore", "Brier score"),
                ("rmse", "RMSE"),
                ("mae", "MAE"),
                ("ece", "Calibration error (ECE)"),
            )
        ]
        rows.append(("Held-out answers", f"{m.get('validationCount', '-')} (trained on {m.get('trainCount', '-')})"))
        for key, label in (("production", "Serving model"), ("baseline", "Heuristic baseline")):
            other = m.get(key)
            if other:
                name = f"{label} {other.get('version', '')}".strip()
                rows.append(
                    (
                        f"{name} on the same answers",
                        f"accuracy {_number(other.get('accuracy'), '{:.2%}')}, AUC {_number(other.get('auc'))}, "
                        f"log-loss {_number(other.get('logLoss'))}",
                    )
                )
        return format_html(
            '<table class="metrics">{}</table>', format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    @admin.display(description="calibration")
    def calibration_chart(self, obj):
        table = (obj.metrics or {}).get("calibration")
        return charts.calibration_plot(table) if table else "-"

    @admin.display(description="summaries")
    def parameter_summaries(self, obj):
        params = obj.parameters or {}
        rows = [
            (name, _number(params[key]["mean"]), _number(params[key]["variance"]))
            for key, name in (
                ("difficulty", "Difficulty"),
                ("discrimination", "Discrimination"),
                ("abilityEstimates", "Ability"),
            )
            if key in params
        ]
        if not rows:
            return "-"
        counts = f"{len(params.get('questions', {}))} questions, {len(params.get('users', {}))} learners"
        return format_html(
            '<table class="metrics"><tr><th></th><th>mean</th><th>variance</th></tr>{}</table><p>{}</p>',
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows),
            counts,
        )

    @admin.display(description="difficulty histogram")
    def difficulty_chart(self, obj):
        questions = (obj.parameters or {}).get("questions") or {}
        values = [q["difficulty"] for q in questions.values()]
        return charts.histogram(values, title="Question difficulty", label="difficulty (b)") if values else "-"

    @admin.display(description="ability histogram")
    def ability_chart(self, obj):
        users = (obj.parameters or {}).get("users") or {}
        values = [u["ability"] for u in users.values()]
        return charts.histogram(values, title="Learner ability", label="ability (theta)") if values else "-"

    @admin.display(description="config")
    def config_display(self, obj):
        return _pretty(obj.config or {})

    # -- pages and buttons
    def get_urls(self):
        custom = [
            path("retrain/", self.admin_site.admin_view(self.retrain_view), name="retraining_modelversion_retrain"),
            path(
                "<path:object_id>/deploy/",
                self.admin_site.admin_view(self.deploy_view),
                name="retraining_modelversion_deploy",
            ),
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        history = selectors.history_versions()
        production = selectors.production_version()
        labels = [v.version for v in history]
        chart = charts.metric_history(
            labels,
            {
                "accuracy": [(v.metrics or {}).get("accuracy") for v in history],
                "AUC": [(v.metrics or {}).get("auc") for v in history],
                "log-loss": [(v.metrics or {}).get("logLoss") for v in history],
            },
            production=production.version if production else None,
            deployed=sorted(selectors.deployed_version_names() & set(labels)),
        )
        context = {
            "metric_chart": chart,
            "production": production,
            "training": selectors.training_status(),
            "can_retrain": request.user.has_perm(RETRAIN_PERMISSION),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        production = selectors.production_version()
        context = {
            "can_deploy": (
                version is not None
                and request.user.has_perm(DEPLOY_PERMISSION)
                and version.status in (ModelVersion.Status.COMPLETED, ModelVersion.Status.ARCHIVED)
            ),
            "production": production,
            "comparison": selectors.version_comparison(version, production)
            if version and production and production.pk != version.pk
            else None,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.action(description="Deploy selected version", permissions=["deploy"])
    def deploy_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to deploy.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:retraining_modelversion_deploy", args=[queryset.get().pk]))

    def deploy_view(self, request, object_id):
        if not request.user.has_perm(DEPLOY_PERMISSION):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=object_id)
        change_url = reverse("admin:retraining_modelversion_change", args=[version.pk])
        if request.method == "POST":
            try:
                deployment = services.version_deploy(
                    version=version, actor=request.user, reason=request.POST.get("reason", "").strip()
                )
            except RetrainingError as error:
                self.message_user(request, str(error), messages.ERROR)
                return HttpResponseRedirect(change_url)
            if deployment is None:
                self.message_user(request, f"Nothing changed: {version.version} already serves.", messages.INFO)
            else:
                previous = deployment.previous_version.version if deployment.previous_version else "none"
                self.message_user(
                    request,
                    f"Deployed {version.version}: it now serves learners ({deployment.action}; previous: {previous}).",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(reverse("admin:retraining_modelversion_changelist"))
        production = selectors.production_version()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Deploy {version.version}?",
            "version": version,
            "production": production,
            "comparison": selectors.version_comparison(version, production)
            if production and production.pk != version.pk
            else None,
            "deployable": version.status in (ModelVersion.Status.COMPLETED, ModelVersion.Status.ARCHIVED),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/retraining/modelversion/deploy_confirmation.html", context)

    def retrain_view(self, request):
        if not request.user.has_perm(RETRAIN_PERMISSION):
            raise PermissionDenied
        changelist = reverse("admin:retraining_modelversion_changelist")
        if request.method != "POST":
            return HttpResponseRedirect(changelist)
        try:
            version = services.retrain_start(actor=request.user, wait_for_version=10.0)
        except RetrainingError as error:
            self.message_user(request, str(error), messages.WARNING)
        else:
            name = version.version if version else "a new version"
            self.message_user(
                request, f"Retraining started: {name} is training; refresh to follow its progress.", messages.SUCCESS
            )
        return HttpResponseRedirect(changelist)


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "version", "previous_version", "action", "actor_name", "reason")
    list_filter = ("action",)
    list_select_related = ("version", "previous_version")
    ordering = ("-created_at", "-id")
    readonly_fields = ("created_at", "version", "previous_version", "action", "actor", "actor_name", "reason")
