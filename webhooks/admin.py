"""Staff register webhook endpoints here and follow every delivery (status, attempts, last error)."""

from django import forms
from django.contrib import admin

from common.admin import ReadOnlyModelAdmin

from .events import EVENTS
from .models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="http:// or https:// address to POST to.")
    events = forms.MultipleChoiceField(
        choices=[(event.name, f"{event.name}: {event.description}") for event in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Events POSTed to this URL.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "secret", "active", "description")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "events_list", "active", "description", "created_at")
    list_filter = ("active",)

    @admin.display(description="events")
    def events_list(self, obj):
        return ", ".join(obj.events)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)
    readonly_fields = (
        "endpoint",
        "event",
        "payload",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
    )
