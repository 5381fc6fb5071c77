"""Comparing versions and deploying one: the list actions and their pages."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from .. import charts, console, permissions, selectors, services
from ..errors import NotComparable, RetrainingError
from ..models import ModelVersion
from ..services import comparison as comparisons
from ..serving import stored_model
from .display import same_answers


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


class VersionActions:
    """Compare and deploy for ``ModelVersionAdmin`` (a mixin)."""

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
            "against_serving": same_answers(version, production),
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
