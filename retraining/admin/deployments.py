"""The deploy history: every deploy and rollback, filterable by version."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html

from common.admin import ReadOnlyModelAdmin

from .. import console
from ..models import Deployment
from .display import version_link


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
        return version_link(obj.version)

    @admin.display(description="replaced")
    def replaced_version(self, obj):
        return version_link(obj.previous_version)

    @admin.display(description="who", ordering="actor_name")
    def actor_label(self, obj):
        return console.actor_label(obj.actor_name)
