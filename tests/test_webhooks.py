"""Lifecycle events reach registered receivers as signed JSON POSTs, sent by jobs, retried, recorded."""

import hashlib
import hmac
import json
import time

import pytest
from django.test import override_settings

from retraining import services
from tests.conftest import jobs_run
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (the README's snippet): recompute the HMAC over "<t>." + body."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, fields["v1"])


def test_auto_deploy_delivers_signed_webhooks(simulated, receiver_factory):
    receiver = receiver_factory()
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["version.deployed", "retrain.completed"])
    other = receiver_factory()
    WebhookEndpoint.objects.create(url=other.url, events=["retrain.failed"])
    WebhookEndpoint.objects.create(url=other.url, events=["version.deployed"], active=False)

    result = services.retrain()
    assert result.deployed
    assert receiver.requests == []  # nothing is sent inside the retrain: jobs are queued
    assert WebhookDelivery.objects.filter(status="pending").count() == 2

    jobs_run()
    assert other.requests == []
    events = {request["headers"]["X-Webhook-Event"]: request for request in receiver.requests}
    assert set(events) == {"version.deployed", "retrain.completed"}
    for request in receiver.requests:
        assert request["headers"]["Content-Type"] == "application/json"
        assert verify(endpoint.secret, request["headers"]["X-Signature"], request["body"])
        assert not verify("another secret", request["headers"]["X-Signature"], request["body"])
        assert not verify(endpoint.secret, request["headers"]["X-Signature"], request["body"] + b" ")
    deployed = json.loads(events["version.deployed"]["body"])
    assert deployed["event"] == "version.deployed"
    assert deployed["data"]["version"] == "v1" and deployed["data"]["action"] == "auto-deploy"
    assert deployed["data"]["previousVersion"] is None
    completed = json.loads(events["retrain.completed"]["body"])["data"]
    assert completed["version"] == "v1" and completed["deployed"] is True
    assert completed["metrics"]["accuracy"] == result.version.metrics["accuracy"]
    for delivery in WebhookDelivery.objects.all():
        assert (delivery.status, delivery.attempts, delivery.response_status, delivery.last_error) == (
            "delivered",
            1,
            200,
            "",
        )


def test_rollback_event_names_the_previous_version(simulated, receiver_factory):
    receiver = receiver_factory()
    first = services.retrain().version
    services.retrain(auto_deploy=False)
    second = services.retrain(auto_deploy=False).version
    services.version_deploy(version=second, actor_name="ops")
    WebhookEndpoint.objects.create(url=receiver.url, events=["version.deployed"])
    services.version_deploy(version=first, actor_name="ops", reason="bad night")
    jobs_run()
    (request,) = receiver.requests
    data = json.loads(request["body"])["data"]
    assert data == {**data, "version": "v1", "previousVersion": "v3", "action": "rollback", "actor": "ops"}


@override_settings(WEBHOOK_BACKOFF_SECONDS=0.2, WEBHOOK_MAX_ATTEMPTS=4, WEBHOOK_TIMEOUT_SECONDS=0.5)
def test_failing_receiver_is_retried_with_backoff_and_recorded(simulated, receiver_factory):
    # 500, then slower than the timeout, then 503, then fine.
    receiver = receiver_factory([500, ("sleep", 2), 503, 200])
    WebhookEndpoint.objects.create(url=receiver.url, events=["version.deployed"])
    candidate = services.retrain(auto_deploy=False).version
    services.version_deploy(version=candidate, actor_name="ops")
    assert receiver.requests == []  # the deploy returned without calling the receiver

    delivery = WebhookDelivery.objects.get()
    jobs_run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    assert delivery.next_attempt_at is not None

    jobs_run(until=lambda: WebhookDelivery.objects.get().attempts >= 2)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "timed out" in delivery.last_error

    jobs_run(until=lambda: WebhookDelivery.objects.get().status != "pending")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.last_error) == (
        "delivered",
        4,
        200,
        "",
    )
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert len(gaps) == 3
    # Waits double: 0.2 s, 0.4 s, 0.8 s at least (the second gap also holds the 0.5 s timeout).
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8
    # Every attempt carried the same body and event id, each freshly signed.
    assert len({r["body"] for r in receiver.requests}) == 1


@override_settings(WEBHOOK_BACKOFF_SECONDS=0.05, WEBHOOK_MAX_ATTEMPTS=2)
def test_receiver_that_never_answers_is_given_up_on(simulated, receiver_factory):
    receiver = receiver_factory()
    url = receiver.url
    receiver.close()  # connection refused from now on
    WebhookEndpoint.objects.create(url=url, events=["retrain.completed", "retrain.failed"])
    services.retrain(auto_deploy=False)
    jobs_run(until=lambda: WebhookDelivery.objects.get().status != "pending")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 2, None)
    assert "refused" in delivery.last_error.lower()


def test_failed_retrain_event(receiver_factory):
    receiver = receiver_factory()
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["retrain.failed"])
    with pytest.raises(services.NoTrainingData):
        services.retrain()
    jobs_run()
    (request,) = receiver.requests
    assert verify(endpoint.secret, request["headers"]["X-Signature"], request["body"])
    data = json.loads(request["body"])["data"]
    assert data["version"] is None and "No training data" in data["error"]


def test_staff_register_endpoints_and_see_deliveries_in_the_admin(admin_client, simulated, receiver_factory):
    receiver = receiver_factory([500])
    response = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"url": receiver.url, "events": ["version.deployed"], "secret": "s3cret-value", "active": "on"},
    )
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["version.deployed"] and endpoint.secret == "s3cret-value"
    refused = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"url": "ftp://example.org/x", "events": ["no.such.event"], "secret": "x", "active": "on"},
    )
    assert refused.status_code == 200 and WebhookEndpoint.objects.count() == 1
    assert "no.such.event is not one of the available choices" in refused.content.decode()
    assert "Enter a valid URL" in refused.content.decode()

    services.retrain()
    jobs_run()
    page = admin_client.get("/admin/webhooks/webhookdelivery/").content.decode()
    assert "version.deployed" in page and "HTTP 500" in page and "pending" in page
    delivery = WebhookDelivery.objects.get()
    detail = admin_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "auto-deploy" in detail  # the payload is shown
