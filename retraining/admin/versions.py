"""The model versions in the console: what it lists and shows (its parts are the mixins beside it)."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyModelAdmin

from .. import permissions
from ..models import ModelVersion
from ..services.algorithms import algorithm_fits_discrimination
from .version_actions import VersionActions
from .version_columns import VersionColumns
from .version_pages import VersionPages


@admin.register(ModelVersion)
class ModelVersionAdmin(VersionActions, VersionPages, VersionColumns, ReadOnlyModelAdmin):
    list_display = (
        "version",
        "algorithm",
        "status_badge",
        "decision_column",
        "accuracy",
        "auc",
        "log_loss",
        "training_answers",
        "started_by",
        "finished_at",
    )
    list_display_links = ("version",)
    list_filter = ("status", "model_type")
    ordering = ("-number",)
    actions = ["compare_selected", "deploy_selected"]
    list_select_related = ("created_by",)
    change_list_template = "admin/retraining/modelversion/change_list.html"
    change_form_template = "admin/retraining/modelversion/change_form.html"
    readonly_fields = (
        "version",
        "model_type",
        "status_badge",
        "started_by",
        "error_message",
        "decision_reason",
        "decision_display",
        "metrics_table",
        "calibration_chart",
        "parameter_summaries",
        "difficulty_chart",
        "discrimination_chart",
        "module_deviations",
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
        "deployments_link",
    )

    def get_fieldsets(self, request, obj=None):
        head = ("version", "model_type", "status_badge", "started_by", "deployments_link")
        run = ("training_started_at", "training_completed_at", "duration", "deployed_at")
        lineage = ("training_data_count", "data_first_answer_at", "data_last_answer_at", "data_digest")
        if obj is not None and obj.status == ModelVersion.Status.FAILED:
            # A failed run has no metrics or parameters: its error, and what it was asked to do.
            return (
                (None, {"fields": ("error_message", *head)}),
                ("Run", {"fields": (*run, "config_display")}),
                ("Lineage", {"fields": lineage}),
            )
        if obj is not None and obj.status == ModelVersion.Status.TRAINING:
            return ((None, {"fields": head}), ("Run", {"fields": (*run, "config_display")}))
        parameters = ["parameter_summaries", "difficulty_chart", "ability_chart"]
        if obj is not None and algorithm_fits_discrimination(obj.model_type):
            parameters.insert(2, "discrimination_chart")  # 1PL and the heuristic have no discrimination
        if obj is not None and (obj.summaries or {}).get("modules"):
            parameters.append("module_deviations")
        return (
            (None, {"fields": head}),
            ("Gate decision", {"fields": ("decision_reason", "decision_display")}),
            ("Metrics on its own held-out answers", {"fields": ("metrics_table", "calibration_chart")}),
            ("Parameters", {"fields": parameters}),
            ("Lineage", {"fields": lineage}),
            ("Run", {"fields": (*run, "config_display")}),
        )

    def has_deploy_permission(self, request):
        return permissions.allowed(request.user, permissions.DEPLOY)

    def get_queryset(self, request):
        return super().get_queryset(request)
