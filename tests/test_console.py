"""The staff console's details: readable charts, live training, tables, links, reasons, 403s, dates."""

import json
import logging
import re
import time
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission

from retraining import charts, services
from retraining.models import Deployment, ModelVersion, TrainingLock
from retraining.services import lease as lease_module

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/retraining/modelversion/"


@pytest.fixture
def versions(simulated):
    """v1 (2PL), v2 (heuristic, not deployed: below the floor) and a failed v3."""
    services.retrain()
    services.retrain(algorithm="heuristic", auto_deploy=False)
    ModelVersion.objects.create(
        version="v3", number=3, status="failed", error="ValueError: diverged", config={"algorithm": "irt-2pl"}
    )
    return {v.version: v for v in ModelVersion.objects.all()}


def page_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ------------------------------------------------------------------------------ charts
@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]),
        (0.713, 0.842, [0.7, 0.75, 0.8, 0.85]),
        (0, 37, [0, 10, 20, 30, 40]),
        (-2.3, 3.1, [-4, -2, 0, 2, 4]),
    ],
)
def test_ticks_are_round_and_cover_the_range(lo, hi, expected):
    ticks = charts.nice_ticks(lo, hi)
    assert ticks == pytest.approx(expected)
    assert ticks[0] <= lo and ticks[-1] >= hi


def test_charts_scale_to_their_container_and_label_their_axes():
    svg = str(
        charts.histogram([0.1, 0.2, 0.2, 0.9], title="Question difficulty", label="difficulty b", counted="questions")
    )
    opening = svg[: svg.index(">")]
    assert "viewBox=" in opening and 'width="' not in opening and "width:100%" in opening
    assert "questions per bin" in svg and "difficulty b" in svg and "Question difficulty" in svg
    y_ticks = re.findall(r'class="y-tick"[^>]*>([^<]+)<', svg)
    assert y_ticks == ["0", "1", "2"]  # whole counts only
    calibration = str(charts.calibration_plot([{"meanPredicted": 0.3, "observedRate": 0.35, "count": 10}]))
    assert re.findall(r'class="x-tick"[^>]*>([^<]+)<', calibration) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert "predicted chance of a right answer" in calibration and "observed share right" in calibration


def test_list_has_separate_panels_for_each_direction(client, operator, versions):
    client.force_login(operator)
    page = page_of(client, CHANGELIST)
    assert "Accuracy and AUC: higher is better" in page and "Log-loss: lower is better" in page
    panels = page.split('class="irt-chart metric-panel"')[1:]
    assert len(panels) == 2
    assert set(re.findall(r'data-metric="([^"]+)"', panels[0])) == {"accuracy", "AUC"}
    assert set(re.findall(r'data-metric="([^"]+)"', panels[1])) == {"log-loss"}
    assert 'width="640"' not in page


def test_heuristic_has_no_discrimination_histogram(client, operator, versions):
    client.force_login(operator)
    heuristic = page_of(client, f"{CHANGELIST}{versions['v2'].pk}/change/")
    assert "Question discrimination" not in heuristic and "Question difficulty" in heuristic
    two_pl = page_of(client, f"{CHANGELIST}{versions['v1'].pk}/change/")
    assert "Question discrimination" in two_pl


# ------------------------------------------------------------------------------ details
def test_failed_version_shows_its_error_and_no_empty_tables(client, operator, versions):
    client.force_login(operator)
    page = page_of(client, f"{CHANGELIST}{versions['v3'].pk}/change/")
    assert 'id="version-error"' in page and "ValueError: diverged" in page
    for absent in ("Metrics on its own held-out answers", "Gate decision", "Parameters", "calibration"):
        assert absent not in page


def test_gate_details_and_config_are_rounded_tables(client, operator, versions):
    client.force_login(operator)
    page = page_of(client, f"{CHANGELIST}{versions['v1'].pk}/change/")
    assert "<pre" not in page and '"threshold"' not in page
    accuracy = versions["v1"].decision["accuracy"]
    assert f"<th>Candidate accuracy</th><td>{accuracy:.2%}</td>" in page
    assert "<th>Held-out share</th><td>20%</td>" in page and "<th>Most recent answers used</th><td>10,000</td>" in page


def test_versions_and_deployments_link_both_ways(client, operator, versions):
    client.force_login(operator)
    v1 = page_of(client, f"{CHANGELIST}{versions['v1'].pk}/change/")
    link = re.search(r'href="([^"]+)" id="version-deployments"', v1).group(1)
    history = page_of(client, link.replace("&amp;", "&"))
    assert f'href="{CHANGELIST}{versions["v1"].pk}/change/"' in history
    assert "never deployed" in page_of(client, f"{CHANGELIST}{versions['v2'].pk}/change/")


def test_a_deploy_needs_a_reason(client, operator, versions):
    client.force_login(operator)
    url = f"{CHANGELIST}{versions['v2'].pk}/deploy/"
    assert 'value=""' in page_of(client, url)  # a forward deploy: nothing prefilled
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200 and 'id="reason-error"' in response.content.decode()
    assert ModelVersion.objects.get(is_production=True).version == "v1" and Deployment.objects.count() == 1
    client.post(url, {"reason": "try the heuristic"})
    assert Deployment.objects.first().reason == "try the heuristic"


def test_limited_staff_get_the_admins_403_and_it_is_audited(client, django_user_model, versions, caplog):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_modelversion"]))
    client.force_login(viewer)
    with caplog.at_level(logging.INFO, logger="irt.audit"):
        response = client.get(f"{CHANGELIST}{versions['v1'].pk}/deploy/")
    assert response.status_code == 403
    body = response.content.decode()
    assert 'id="forbidden"' in body and 'id="site-name"' in body  # the admin's own page, with its header
    refused = [r for r in caplog.records if r.getMessage() == "request_refused"]
    assert [(r.status, r.user, r.path) for r in refused] == [
        (403, "viewer", f"{CHANGELIST}{versions['v1'].pk}/deploy/")
    ]


def test_dates_carry_their_time_zone_and_cron_is_named(client, operator, versions):
    client.force_login(operator)
    page = page_of(client, CHANGELIST)
    finished = versions["v1"].training_completed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert f"{finished} UTC" in page
    assert "cron (manage.py retrain)" in page  # the versions made without a user
    history = page_of(client, "/admin/retraining/deployment/")
    assert "UTC" in history


def test_token_bookkeeping_is_not_in_the_sidebar(admin_client):
    index = admin_client.get("/admin/").content.decode()
    assert "Model versions" in index and "token" not in index.lower().replace("csrfmiddlewaretoken", "")


def test_answer_date_links_keep_the_other_filters(client, operator, add_answers):
    add_answers(
        [("u1", "q1", 1, datetime(2025, 12, 30, 10, tzinfo=UTC)), ("u2", "q2", 0, datetime(2026, 2, 3, 9, tzinfo=UTC))]
    )
    client.force_login(operator)
    response = client.get("/admin/training_data/trainingdata/", {"correct__exact": "1", "q": "q1"})
    links = response.context["answer_dates"]["links"]
    assert [link["label"] for link in links] == ["2025", "2026"]
    assert all("correct__exact=1" in link["query"] and "q=q1" in link["query"] for link in links)
    year = client.get(f"/admin/training_data/trainingdata/?{links[0]['query']}")
    assert year.context["cl"].result_count == 1
    assert "correct__exact=1" in year.context["answer_dates"]["back"]["query"]


# ------------------------------------------------------------------------------ live training
@pytest.mark.django_db(transaction=True)
def test_live_status_names_the_version_step_iteration_and_who(client, operator, versions):
    client.force_login(operator)
    assert client.get(f"{CHANGELIST}live/").json() == {
        "isTraining": False,
        "currentVersion": "v1",
        "text": "No training running.",
    }
    lease = services.TrainingLease().acquire()
    try:
        training = ModelVersion.objects.create(version="v4", number=4, status="training")
        lease.attach(training)
        lease.heartbeat(progress={"step": "fitting", "iteration": 12, "startedBy": "manage.py retrain"})
        live = client.get(f"{CHANGELIST}live/").json()
        assert (live["trainingVersion"], live["step"], live["iteration"], live["startedBy"]) == (
            "v4",
            "fitting",
            12,
            "cron (manage.py retrain)",
        )
        assert "v4 is training: fitting the model · EM iteration 12" in live["text"] and "UTC" in live["text"]
        assert live["elapsedSeconds"] >= 0
        page = page_of(client, f"{CHANGELIST}{training.pk}/change/")
        assert 'data-training="true"' in page and "EM iteration 12" in page
        refused = client.post(f"{CHANGELIST}retrain/", follow=True).content.decode()
        assert "Training already in progress: v4 is training, started" in refused
    finally:
        lease.release()


def test_live_status_needs_staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("learner", password="pw"))
    response = client.get(f"{CHANGELIST}live/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_fit_progress_reaches_the_lock_every_few_seconds(versions):
    lease = services.TrainingLease(lease_seconds=300).acquire()
    try:
        lease.heartbeat(progress={"step": "fitting", "iteration": 1}, force=False)
        assert TrainingLock.objects.get().progress == {}  # just written: not again at once
        lease._last_beat = time.monotonic() - lease_module.PROGRESS_SECONDS  # as if that long ago
        lease.heartbeat(progress={"step": "fitting", "iteration": 2}, force=False)
        assert TrainingLock.objects.get().progress["iteration"] == 2
        assert lease_module.PROGRESS_SECONDS <= 5
    finally:
        lease.release()


@pytest.mark.django_db(transaction=True)
def test_a_run_records_who_started_it(versions):
    seen = []

    def watch(tag, message):
        lock = TrainingLock.objects.first()
        if lock is not None:
            seen.append(lock.progress.get("startedBy"))

    services.retrain(actor_name="manage.py retrain", progress=watch)
    assert set(seen) == {"manage.py retrain"}
    assert json.dumps(seen)


def test_a_queued_retrain_is_shown_while_it_waits_for_the_worker(client, operator, versions):
    client.force_login(operator)
    job = services.retrain_enqueue(actor=operator)
    live = client.get(f"{CHANGELIST}live/").json()
    assert live["queued"] is True and live["isTraining"] is False
    assert f"(job {job.id}): waiting for the worker" in live["text"]
    page = page_of(client, CHANGELIST)
    assert 'data-training="true"' in page and "waiting for the worker" in page
