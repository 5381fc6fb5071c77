"""The version pages: the list with its charts, a version's page, the live status and the retrain button."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import path, reverse

from .. import charts, console, permissions, selectors, services
from ..errors import RetrainingError, TrainingInProgress
from ..models import Deployment, ModelVersion
from ..services import monitoring
from .display import live_training, same_answers


class VersionPages:
    """The pages of ``ModelVersionAdmin`` beyond the admin's own (a mixin)."""

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
        shown = (
            ("logLoss", "log_loss", "log-loss", "lower", "log-loss (nats per answer)", {"degraded": health.degraded}),
            ("accuracy", "accuracy", "accuracy", "higher", "accuracy (share answered right)", {"percent": True}),
        )
        charts_ = [
            charts.daily_series(
                [(d.date.isoformat(), getattr(d, field), d.answers) for d in health.days],
                title=f"{production.version} {name} per day: {better} is better",
                axis_label=axis_label,
                metric=name,
                baseline=health.baseline.get(key),
                **options,
            )
            for key, field, name, better, axis_label, options in shown
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
            "training": live_training(),
            "live_url": reverse("admin:retraining_modelversion_live"),
            "can_retrain": permissions.allowed(request.user, permissions.RETRAIN),
            "algorithms": [(algorithm.name, algorithm.label) for algorithm in services.ALGORITHMS.values()],
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
            "against_serving": same_answers(version, production),
            "training": live_training()
            if version is not None and version.status == ModelVersion.Status.TRAINING
            else None,
            "live_url": reverse("admin:retraining_modelversion_live"),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def live_view(self, request):
        """The training status for the pages' polling script (session-authenticated, staff only)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(live_training())

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
