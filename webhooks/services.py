"""Webhook deliveries: create them for an event, sign the body, attempt one POST, back off.

Signature (what receivers check, README "Webhooks"): ``X-Signature: t=<unix seconds>,v1=<hex>``
where ``<hex>`` is HMAC-SHA256, keyed with the endpoint's secret, of ``"<t>." + raw body bytes``.
The timestamp is signed too, so a receiver refuses replays older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import WebhookDelivery, WebhookEndpoint

USER_AGENT = "irt-retraining-webhooks/1"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def endpoints_for(event: str) -> list[WebhookEndpoint]:
    # Filtered in Python: JSON containment lookups differ between SQLite, PostgreSQL and MongoDB,
    # and there are a handful of endpoints.
    return [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True) if event in endpoint.events]


@transaction.atomic
def deliveries_create(*, event: str, data: dict) -> list[WebhookDelivery]:
    """One delivery per active endpoint subscribed to ``event``, each with its job queued.

    The rows and the jobs commit together (the queue lives in the same database), so an event is
    never recorded without its job nor the other way round.
    """
    from .tasks import webhook_deliver

    payload = {"id": str(uuid.uuid4()), "event": event, "createdAt": timezone.now().isoformat(), "data": data}
    deliveries = [
        WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=payload)
        for endpoint in endpoints_for(event)
    ]
    for delivery in deliveries:
        webhook_deliver.enqueue(delivery_id=str(delivery.pk))
    return deliveries


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer like any other non-2xx: recorded, retried


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def backoff(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: the base setting doubled after every failure."""
    return timedelta(seconds=settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))


def delivery_attempt(*, delivery_id: str) -> WebhookDelivery | None:
    """POST the delivery once; record the outcome; queue the next attempt after a failure.

    Returns the delivery (None if it was deleted meanwhile). A 2xx answer delivers it; anything
    else (other status, timeout, refused connection) is recorded as its ``last_error`` and retried
    after :func:`backoff` until ``WEBHOOK_MAX_ATTEMPTS`` attempts, then it is marked failed.
    """
    from .tasks import webhook_deliver

    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    body = body_of(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": str(delivery.pk),
        "X-Signature": signature(secret=delivery.endpoint.secret, timestamp=timestamp, body=body),
    }
    status, error = None, ""
    try:
        status = _post(delivery.endpoint.url, body, headers)
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, malformed URL
        reason = getattr(exc, "reason", None) or exc
        error = f"{type(exc).__name__}: {reason}"[:500]
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = status
    delivery.last_error = error
    if not error:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    with transaction.atomic():
        delivery.save()
        if delivery.next_attempt_at is not None:
            webhook_deliver.using(run_after=delivery.next_attempt_at).enqueue(delivery_id=str(delivery.pk))
    return delivery
