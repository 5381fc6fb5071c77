"""/metrics over real HTTP: bearer-token access, Prometheus text that prometheus_client parses."""

import math
import time
import urllib.error
import urllib.request

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from retraining import services
from retraining.models import MonitoringDay
from tests.conftest import jobs_run
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-token-for-tests"


def scrape(url, token=None):
    request = urllib.request.Request(url + "/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def samples(text):
    """{(sample name, frozenset(labels)): value} from the exposition text."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_need_the_token(live_server, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(live_server.url, TOKEN)[0] == 404  # off until a token is set
    settings.METRICS_TOKEN = TOKEN
    assert scrape(live_server.url)[0] == 401
    assert scrape(live_server.url, "wrong")[0] == 401
    assert scrape(live_server.url, TOKEN)[0] == 200


def test_metrics_carry_the_service_figures(live_server, settings, simulated, receiver_factory):
    # Long on purpose: one history (retrains, a deploy, deliveries, a monitored day, a waiting job),
    # each step changing what the next scrape must show.
    settings.METRICS_TOKEN = TOKEN
    status, content_type, text = scrape(live_server.url, TOKEN)
    assert status == 200 and content_type.startswith("text/plain")
    before = samples(text)
    assert before[("irt_serving_version_number", frozenset())] == 0
    assert math.isnan(before[("irt_serving_version_age_seconds", frozenset())])
    assert before[("irt_answers_stored", frozenset())] == len(simulated)

    receiver = receiver_factory([200])
    WebhookEndpoint.objects.create(url=receiver.url, events=["version.deployed", "retrain.completed"])
    services.retrain()  # v1, deployed
    candidate = services.retrain(auto_deploy=False).version  # v2, kept back
    services.version_deploy(version=candidate, actor_name="ops")
    with pytest.raises(services.NoTrainingData):
        services.retrain(since=timezone.now())  # v3 is never created: no version
    jobs_run()

    after = samples(scrape(live_server.url, TOKEN)[2])
    assert after[("irt_serving_version_number", frozenset())] == 2
    assert 0 <= after[("irt_serving_version_age_seconds", frozenset())] < 600
    assert after[("irt_last_retrain_success", frozenset())] == 1
    assert after[("irt_last_retrain_answers", frozenset())] == candidate.training_data_count
    assert after[("irt_last_retrain_duration_seconds", frozenset())] == pytest.approx(candidate.duration)
    assert after[("irt_training_in_progress", frozenset())] == 0
    assert after[("irt_answers_stored", frozenset())] == len(simulated)
    assert after[("irt_answers_ingested_total", frozenset())] == len(simulated)
    assert after[("irt_retrains_total", frozenset({("outcome", "completed")}))] == 2
    assert after[("irt_retrains_total", frozenset({("outcome", "failed")}))] == 0
    assert after[("irt_deployments_total", frozenset({("action", "auto-deploy")}))] == 1
    assert after[("irt_deployments_total", frozenset({("action", "deploy")}))] == 1
    # retrain.completed twice, version.deployed twice
    assert after[("irt_webhook_deliveries_total", frozenset({("outcome", "delivered")}))] == 4
    assert after[("irt_webhook_deliveries_total", frozenset({("outcome", "failed")}))] == 0
    assert after[("irt_webhook_deliveries_pending", frozenset())] == 0
    assert after[("irt_jobs_ready", frozenset())] == 0
    assert after[("irt_jobs_oldest_ready_age_seconds", frozenset())] == 0

    assert math.isnan(after[("irt_monitoring_log_loss", frozenset())])
    MonitoringDay.objects.create(
        version=candidate,
        date=timezone.now().date(),
        answers=120,
        accuracy=0.8,
        log_loss=0.47,
        log_loss_square=0.3,
        brier_score=0.15,
        auc=0.8,
        ece=0.02,
    )
    monitored = samples(scrape(live_server.url, TOKEN)[2])
    assert monitored[("irt_monitoring_log_loss", frozenset())] == pytest.approx(0.47)
    assert monitored[("irt_monitoring_answers", frozenset())] == 120

    services.retrain_enqueue()  # no worker runs: the job waits, and the gauges say so
    time.sleep(1.1)
    waiting = samples(scrape(live_server.url, TOKEN)[2])
    assert waiting[("irt_jobs_ready", frozenset())] == 1
    assert waiting[("irt_jobs_oldest_ready_age_seconds", frozenset())] >= 1
