"""``/metrics`` in Prometheus' text format: the service's own gauges and counters.

Every value is read from the database at scrape time (a custom collector), not kept in process
memory: the web workers, the job worker and cron's ``manage.py retrain`` are separate processes, and
only the database sees all of them, so every scrape of any web worker gives the same, complete
numbers. The counters are counts of rows that are never deleted (answers, versions, deliveries),
hence monotonic, as Prometheus expects of a counter.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from retraining.models import Deployment, ModelVersion, MonitoringDay, TrainingLock
from training_data.models import TrainingData
from webhooks.models import WebhookDelivery


class ServiceCollector:
    """Every figure read from the database at scrape time, grouped by what it watches."""

    def collect(self):
        now = timezone.now()
        serving = ModelVersion.objects.filter(is_production=True).only("number", "deployed_at").first()
        yield from _serving(serving, now)
        yield from _last_retrain()
        yield from _counts()
        yield from _webhooks()
        yield from _jobs(now)


def _serving(serving, now):
    """The serving version: which, since when, and its latest monitored day."""
    yield _gauge(
        "irt_serving_version_number",
        "Number N of the serving version vN (0: none serves)",
        serving.number if serving else 0,
    )
    age = (now - serving.deployed_at).total_seconds() if serving and serving.deployed_at else float("nan")
    yield _gauge("irt_serving_version_age_seconds", "Seconds since the serving version was deployed", age)
    day = (
        MonitoringDay.objects.filter(version=serving).order_by("-date").only("log_loss", "answers").first()
        if serving
        else None
    )
    yield _gauge(
        "irt_monitoring_log_loss",
        "Serving version's log-loss on its latest monitored day's answers (manage.py monitor)",
        _or_nan(day and day.log_loss),
    )
    yield _gauge("irt_monitoring_answers", "Answers of that monitored day", _or_nan(day and day.answers))


def _last_retrain():
    """The latest finished retrain (its outcome, duration, answers, end) and whether one trains now."""
    last = (
        ModelVersion.objects.exclude(status=ModelVersion.Status.TRAINING)
        .only("status", "duration", "training_data_count", "training_completed_at")
        .order_by("-number")
        .first()
    )
    yield _gauge(
        "irt_last_retrain_success",
        "1 if the latest finished retrain succeeded, 0 if it failed",
        float("nan") if last is None else float(last.status in ModelVersion.FINISHED),
    )
    yield _gauge(
        "irt_last_retrain_duration_seconds", "Duration of the latest finished retrain", _or_nan(last and last.duration)
    )
    yield _gauge(
        "irt_last_retrain_answers",
        "Answers the latest finished retrain loaded",
        _or_nan(last and last.training_data_count),
    )
    finished_at = last.training_completed_at if last else None
    yield _gauge(
        "irt_last_retrain_timestamp_seconds",
        "Unix time the latest finished retrain ended",
        finished_at.timestamp() if finished_at else float("nan"),
    )
    yield _gauge("irt_training_in_progress", "1 while a training lease is held", float(TrainingLock.objects.exists()))


def _counts():
    """Answers, retrains by outcome and deploys by action: rows never deleted, so counters."""
    answers = TrainingData.objects.count()
    yield _gauge("irt_answers_stored", "Answers stored", answers)
    yield _counter(
        "irt_answers_ingested", "Answers ingested (each stored answer once; duplicates not counted)", answers
    )
    by_status = dict(ModelVersion.objects.values_list("status").annotate(n=Count("id")).order_by())
    retrains = CounterMetricFamily("irt_retrains", "Retrains by outcome", labels=["outcome"])
    retrains.add_metric(["completed"], sum(by_status.get(s, 0) for s in ModelVersion.FINISHED))
    retrains.add_metric(["failed"], by_status.get(ModelVersion.Status.FAILED, 0))
    yield retrains
    by_action = dict(Deployment.objects.values_list("action").annotate(n=Count("id")).order_by())
    deployments = CounterMetricFamily("irt_deployments", "Deploys by action", labels=["action"])
    for action in Deployment.Action.values:
        deployments.add_metric([action], by_action.get(action, 0))
    yield deployments


def _webhooks():
    """Webhook deliveries by final outcome, and those still pending."""
    by_outcome = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    delivered = CounterMetricFamily("irt_webhook_deliveries", "Webhook deliveries by final outcome", labels=["outcome"])
    delivered.add_metric(["delivered"], by_outcome.get(WebhookDelivery.Status.DELIVERED, 0))
    delivered.add_metric(["failed"], by_outcome.get(WebhookDelivery.Status.FAILED, 0))
    yield delivered
    yield _gauge(
        "irt_webhook_deliveries_pending",
        "Webhook deliveries queued or waiting to be retried",
        by_outcome.get(WebhookDelivery.Status.PENDING, 0),
    )


def _jobs(now):
    """Jobs waiting for the worker, and how long the oldest has waited."""
    ready = DBTaskResult.objects.ready()
    oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    yield _gauge("irt_jobs_ready", "Jobs waiting for the worker (retrains, webhook deliveries)", ready.count())
    yield _gauge(
        "irt_jobs_oldest_ready_age_seconds",
        "Seconds the oldest job ready to run has waited (0: none; grows when no worker runs)",
        (now - oldest).total_seconds() if oldest else 0.0,
    )


def _or_nan(value) -> float:
    return float("nan") if value is None else float(value)


def _gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


registry = CollectorRegistry(auto_describe=False)
registry.register(ServiceCollector())


def metrics_view(request):
    """Prometheus scrape endpoint; needs ``Authorization: Bearer <METRICS_TOKEN>`` (off while unset)."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
