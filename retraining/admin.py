"""The staff console: versions with charts, deploy/roll back and retrain buttons, the deploy history.

Every button and action calls the same services as the API and the commands; ``console.py`` turns
what they return into what a person reads.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from mlops_site.admin import ReadOnlyModelAdmin

from . import charts, console, permissions, selectors, services
from .errors import NotComparable, RetrainingError, TrainingInProgress
from .irt.metrics import METRIC, METRICS
from .models import Deployment, ModelVersion
from .services import comparison as comparisons
from .services import monitoring
from .serving import stored_model

TWO_PL_TYPES = (ModelVersion.ModelType.IRT_2PL, ModelVersion.ModelType.IRT_2PL_MODULES)

STATUS_COLOURS = {
    "training": "#b7791f",
    "completed": "#2b6cb0",
    "failed": "#c53030",
    "deployed": "#2f855a",
    "archived": "#718096",
}


def _number(value, pattern="{:.4f}"):
    return pattern.format(value) if isinstance(value, int | float) else "-"


def _table(rows, css_class="metrics") -> str:
    if not rows:
        return "-"
    return format_html(
        '<table class="{}">{}</table>', css_class, format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    )


def _live() -> dict:
    return console.live_training(selectors.training_status(), services.retrain_pending())


def _chart(svg, width: int = 560) -> str:
    """A chart at a readable width that still shrinks on a phone (the SVG fills its box)."""
    return format_html('<div class="chart-box" style="width:{}px;max-width:calc(100vw - 48px)">{}</div>', width, svg)


def _difficulty_scatter(a: ModelVersion, b: ModelVersion):
    """Each question both versions know: its difficulty under ``a`` (x) against under ``b`` (y)."""
    model_a, model_b = stored_model(a), stored_model(b)
    shared = [q for q in model_a.question_ids if q in set(model_b.question_ids)]
    positions_a, positions_b = model_a.question_positions(shared), model_b.question_positions(shared)
    slope_a, intercept_a = model_a.item_parameters(positions_a)
    slope_b, intercept_b = model_b.item_parameters(positions_b)
    difficulty_a, difficulty_b = -intercept_a / slope_a, -intercept_b / slope_b
    points = list(zip(shared, difficulty_a.tolist(), difficulty_b.tolist(), strict=True))
    return charts.scatter(
        points,
        title=f"Question difficulty: {a.version} against {b.version}",
        x_label=f"difficulty under {a.version} (logits)",
        y_label=f"difficulty under {b.version} (logits)",
        subtitle=f"{len(points):,} questions both know; off the dashed line = moved",
    )


def _same_answers(version: ModelVersion | None, production: ModelVersion | None) -> dict | None:
    """``version`` against the serving version on the same recent answers (the comparison service)."""
    if version is None or production is None or production.pk == version.pk:
        return None
    if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED):
        return None
    try:
        return {"view": console.comparison_view(comparisons.compare_cached(version, production))}
    except NotComparable as error:
        return {"error": str(error)}


def _version_link(version: ModelVersion | None) -> str:
    if version is None:
        return "-"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:retraining_modelversion_change", args=[version.pk]), version.version
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
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
        if obj is not None and obj.model_type in TWO_PL_TYPES:
            parameters.insert(2, "discrimination_chart")  # 1PL and the heuristic have no discrimination
        if obj is not None and (obj.parameters or {}).get("modules"):
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
        return super().get_queryset(request).defer("parameters")

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
        return _number(obj.duration, "{:.1f} s")

    @admin.display(description="started by")
    def started_by(self, obj):
        return format_html('<span style="white-space:normal">{}</span>', console.started_by(obj))

    @admin.display(description=f"finished ({console.zone_name()})", ordering="training_completed_at")
    def finished_at(self, obj):
        return console.when(obj.training_completed_at, "Y-m-d H:i")

    @admin.display(description="type", ordering="model_type")
    def algorithm(self, obj):
        return console.ALGORITHM_SHORT.get(obj.model_type, obj.model_type)

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
        return _table(console.gate_rows(obj.decision or {}))

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        m = obj.metrics or {}
        if not m:
            return "-"
        rows = [(metric.label, metric.format(m.get(metric.key))) for metric in METRICS]
        rows.append(
            (
                "Held-out answers",
                f"{_number(m.get('validationCount'), '{:,}')} (trained on {_number(m.get('trainCount'), '{:,}')})",
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
        return _table(rows)

    @admin.display(description="calibration")
    def calibration_chart(self, obj):
        table = (obj.metrics or {}).get("calibration")
        return _chart(charts.calibration_plot(table), 400) if table else "-"

    @admin.display(description="summaries")
    def parameter_summaries(self, obj):
        params = obj.parameters or {}
        rows = [
            (name, _number(params[key]["mean"], "{:.3f}"), _number(params[key]["variance"], "{:.3f}"))
            for key, name in (
                ("difficulty", "Difficulty"),
                ("discrimination", "Discrimination"),
                ("abilityEstimates", "Ability"),
            )
            if key in params and (key != "discrimination" or obj.model_type in TWO_PL_TYPES)
        ]
        if not rows:
            return "-"
        counts = f"{len(params.get('questions', {})):,} questions, {len(params.get('users', {})):,} learners"
        return format_html(
            '<table class="metrics"><tr><th></th><th>mean</th><th>variance</th></tr>{}</table><p>{}</p>',
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows),
            counts,
        )

    @admin.display(description="module deviations")
    def module_deviations(self, obj):
        modules = (obj.parameters or {}).get("modules") or {}
        summary = modules.get("deviationEstimates") or {}
        rows = [
            (
                "spread tau (chosen on an inner split of the training answers)",
                _number(modules.get("deviationSpread"), "{:.2f}"),
            ),
            ("(learner, module) pairs", f"{modules.get('pairs', 0):,}"),
            (
                "deviation mean / variance",
                f"{_number(summary.get('mean'), '{:.3f}')} / {_number(summary.get('variance'), '{:.3f}')}",
            ),
            ("spread of difficulties around module means", _number(modules.get("difficultySpread"), "{:.2f}")),
        ]
        return format_html(
            '<table class="metrics">{}</table>', format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    def _question_values(self, obj, key):
        questions = (obj.parameters or {}).get("questions") or {}
        return [q[key] for q in questions.values() if key in q]

    @admin.display(description="difficulty")
    def difficulty_chart(self, obj):
        values = self._question_values(obj, "difficulty")
        label = "difficulty b (logits; higher = harder)"
        return _chart(charts.histogram(values, title="Question difficulty", label=label, counted="questions"))

    @admin.display(description="discrimination")
    def discrimination_chart(self, obj):
        values = self._question_values(obj, "discrimination")
        label = "discrimination a (slope; higher = separates learners more sharply)"
        return _chart(charts.histogram(values, title="Question discrimination", label=label, counted="questions"))

    @admin.display(description="ability")
    def ability_chart(self, obj):
        users = (obj.parameters or {}).get("users") or {}
        values = [u["ability"] for u in users.values()]
        label = "ability \u03b8 (logits; 0 = average learner)"
        return _chart(charts.histogram(values, title="Learner ability", label=label, counted="learners"))

    @admin.display(description="config")
    def config_display(self, obj):
        return _table(console.config_rows(obj.config or {}))

    # -- pages and buttons
    def get_urls(self):
        custom = [
            path("retrain/", self.admin_site.admin_view(self.retrain_view), name="retraining_modelversion_retrain"),
            path("live/", self.admin_site.admin_view(self.live_view), name="retraining_modelversion_live"),
            path("compare/", self.admin_site.admin_view(self.compare_view), name="retraining_modelversion_compare"),
            path(
                "<path:object_id>/deploy/",
                self.admin_site.admin_view(self.deploy_view),
                name="retraining_modelversion_deploy",
            ),
        ]
        return custom + super().get_urls()

    def _metric_charts(self):
        history = selectors.history_versions()
        production = selectors.production_version()
        labels = [v.version for v in history]
        options = {
            "production": production.version if production else None,
            "deployed": sorted(selectors.deployed_version_names() & set(labels)),
        }
        return [
            charts.metric_panel(
                labels,
                {
                    "accuracy": [(v.metrics or {}).get("accuracy") for v in history],
                    "AUC": [(v.metrics or {}).get("auc") for v in history],
                },
                title="Accuracy and AUC: higher is better",
                axis_label="score (0 to 1)",
                **options,
            ),
            charts.metric_panel(
                labels,
                {"log-loss": [(v.metrics or {}).get("logLoss") for v in history]},
                title="Log-loss: lower is better",
                axis_label="log-loss (nats per answer)",
                **options,
            ),
        ]

    def _monitoring(self, production):
        """The serving version's daily scores on answers after its cutoff, against its baseline."""
        if production is None:
            return None
        health = monitoring.health(production, days=30)
        baseline = health.baseline
        charts_ = [
            charts.daily_series(
                [(d.date.isoformat(), d.log_loss, d.answers) for d in health.days],
                title=f"{production.version} log-loss per day: lower is better",
                axis_label="log-loss (nats per answer)",
                metric="log-loss",
                baseline=baseline.get("logLoss"),
                degraded=health.degraded,
            ),
            charts.daily_series(
                [(d.date.isoformat(), d.accuracy, d.answers) for d in health.days],
                title=f"{production.version} accuracy per day: higher is better",
                axis_label="accuracy (share answered right)",
                metric="accuracy",
                baseline=baseline.get("accuracy"),
                percent=True,
            ),
        ]
        return {"health": health, "charts": charts_}

    def changelist_view(self, request, extra_context=None):
        production = selectors.production_version()
        context = {
            "metric_charts": self._metric_charts(),
            "monitoring": self._monitoring(production),
            "review": console.versions_needing_review(),
            "serving_since": Deployment.objects.filter(version=production).order_by("-created_at", "-id").first()
            if production
            else None,
            "production": production,
            "training": _live(),
            "live_url": reverse("admin:retraining_modelversion_live"),
            "can_retrain": permissions.allowed(request.user, permissions.RETRAIN),
            "algorithms": [(name, ModelVersion.ModelType(name).label) for name in services.ALGORITHMS],
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        production = selectors.production_version()
        context = {
            "can_deploy": (
                version is not None and permissions.allowed(request.user, permissions.DEPLOY) and version.is_deployable
            ),
            "production": production,
            "card": console.decision_badge(version) if version is not None else None,
            "against_serving": _same_answers(version, production),
            "training": _live() if version is not None and version.status == ModelVersion.Status.TRAINING else None,
            "live_url": reverse("admin:retraining_modelversion_live"),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def live_view(self, request):
        """The training status for the pages' polling script (session-authenticated, staff only)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(_live())

    @admin.action(description="Compare selected versions (2 to 4) on the same answers")
    def compare_selected(self, request, queryset):
        chosen = list(queryset.order_by("number").values_list("pk", flat=True))
        if not 2 <= len(chosen) <= 4:
            self.message_user(request, "Select 2 to 4 versions to compare.", messages.WARNING)
            return None
        url = reverse("admin:retraining_modelversion_compare") + "?" + urlencode([("v", pk) for pk in chosen])
        return HttpResponseRedirect(url)

    def compare_view(self, request):
        """2 to 4 versions on the same answers: metrics, paired differences against the first,
        and how question difficulty moved between the first and each other version."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        keys = [key for key in request.GET.getlist("v") if key.isdigit()][:4]
        found = {v.pk: v for v in ModelVersion.objects.filter(pk__in=keys)}
        versions = [found[int(key)] for key in dict.fromkeys(keys) if int(key) in found]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Compare " + ", ".join(v.version for v in versions) if versions else "Compare versions",
            "versions": versions,
        }
        try:
            if len(versions) < 2:
                raise NotComparable("Choose 2 to 4 versions to compare: tick them in the list, then 'Compare selected'")
            results = comparisons.compare_many(versions)
        except NotComparable as error:
            context["error"] = str(error)
            return TemplateResponse(request, "admin/retraining/modelversion/compare.html", context)
        first = versions[0]
        table = [
            {
                "version": v,
                "cells": console.metric_cells(result.metrics[v.version]),
                "in_sample": result.in_sample_share.get(v.version),
                "cold_start": result.cold_start_share.get(v.version),
            }
            for v, result in [(first, results[0]), *zip(versions[1:], results, strict=True)]
        ]
        context.update(
            {
                "first": first,
                "results": results,
                "answers": f"{results[0].answers:,}",
                "selection": console.SELECTIONS.get(results[0].selection, results[0].selection),
                "metric_names": [
                    (metric.label, "\u2191" if metric.higher_is_better else "\u2193")
                    for metric in console.SHOWN_METRICS
                ],
                "table": table,
                "pairs": [console.comparison_view(result) for result in results],
                "scatters": [_difficulty_scatter(first, other) for other in versions[1:]],
            }
        )
        return TemplateResponse(request, "admin/retraining/modelversion/compare.html", context)

    @admin.action(description="Deploy selected version", permissions=["deploy"])
    def deploy_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to deploy.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:retraining_modelversion_deploy", args=[queryset.get().pk]))

    def deploy_view(self, request, object_id):
        if not permissions.allowed(request.user, permissions.DEPLOY):
            raise PermissionDenied
        version = self.get_object(request, unquote(object_id))  # None for an id that is not a key
        if version is None:
            raise Http404(f"No model version with the key {object_id!r}")
        change_url = reverse("admin:retraining_modelversion_change", args=[version.pk])
        production = selectors.production_version()
        rollback = production is not None and version.number < production.number
        reason = (
            request.POST.get("reason", "").strip()
            if request.method == "POST"
            else (f"Roll back from {production.version} to {version.version}" if rollback else "")
        )
        error = None
        if request.method == "POST":
            if not reason:
                error = "Say why (it is kept in the deployment history)."
            else:
                return self._deploy(request, version, reason, change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{'Roll back to' if rollback else 'Deploy'} {version.version}?",
            "version": version,
            "production": production,
            "rollback": rollback,
            "reason": reason,
            "reason_error": error,
            "made_by": console.started_by(version),
            "answers_count": f"{version.training_data_count:,}",
            "against_serving": _same_answers(version, production),
            "deployable": version.is_deployable,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/retraining/modelversion/deploy_confirmation.html", context)

    def _deploy(self, request, version, reason, change_url):
        try:
            deployment = services.version_deploy(version=version, actor=request.user, reason=reason)
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

    def retrain_view(self, request):
        if not permissions.allowed(request.user, permissions.RETRAIN):
            raise PermissionDenied
        changelist = reverse("admin:retraining_modelversion_changelist")
        if request.method != "POST":
            return HttpResponseRedirect(changelist)
        try:
            algorithm = request.POST.get("algorithm") or "irt-2pl"
            job = services.retrain_enqueue(actor=request.user, algorithm=algorithm)
        except TrainingInProgress as error:
            self.message_user(request, console.in_progress_message(error), messages.WARNING)
        except RetrainingError as error:
            self.message_user(request, str(error), messages.WARNING)
        else:
            self.message_user(
                request,
                f"Retrain queued (job {job.id}): the worker starts it; this page follows its progress.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(changelist)


class VersionFilter(admin.SimpleListFilter):
    """Deployments in which a version was deployed or replaced (the version page links here)."""

    title = "version"
    parameter_name = "version"

    def lookups(self, request, model_admin):
        names = Deployment.objects.order_by("-version__number").values_list("version__version", flat=True)
        return [(name, name) for name in dict.fromkeys(names)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(Q(version__version=self.value()) | Q(previous_version__version=self.value()))


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyModelAdmin):
    list_display = ("when", "deployed_version", "replaced_version", "action", "actor_label", "reason")
    list_filter = ("action", VersionFilter)
    list_select_related = ("version", "previous_version")
    ordering = ("-created_at", "-id")
    fields = ("when", "deployed_version", "replaced_version", "action", "actor_label", "reason")
    readonly_fields = fields

    @admin.display(description="when", ordering="created_at")
    def when(self, obj):
        return format_html('<span style="white-space:nowrap">{}</span>', console.when(obj.created_at))

    @admin.display(description="version deployed", ordering="version__number")
    def deployed_version(self, obj):
        return _version_link(obj.version)

    @admin.display(description="replaced")
    def replaced_version(self, obj):
        return _version_link(obj.previous_version)

    @admin.display(description="who", ordering="actor_name")
    def actor_label(self, obj):
        return console.actor_label(obj.actor_name)
