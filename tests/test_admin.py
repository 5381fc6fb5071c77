"""The staff console: pages render with data; buttons and actions deploy through the service; permissions."""

import re

import pytest
from django.contrib.auth.models import Permission

from retraining import selectors, services
from retraining.models import Deployment, ModelVersion
from training_data.models import TrainingData

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/retraining/modelversion/"


@pytest.fixture
def versions(simulated):
    """v1 and v2 trained (v2 serves), v3 failed."""
    services.retrain()
    services.retrain()
    ModelVersion.objects.create(version="v3", number=3, status="failed", error="ValueError: diverged")
    return {v.version: v for v in ModelVersion.objects.all()}


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_modelversion", "view_deployment"]))
    return user


def test_pages_render_with_data(client, operator, versions):
    client.force_login(operator)
    page = client.get(CHANGELIST).content.decode()
    for name in ("v1", "v2", "v3"):
        assert f">{name}<" in page
    assert "status-failed" in page and "status-deployed" in page and "status-archived" in page
    assert 'id="production-version">v2<' in page
    assert 'id="retrain-now"' in page
    v3 = client.get(f"{CHANGELIST}{versions['v3'].pk}/change/").content.decode()
    assert "ValueError: diverged" in v3 and 'id="deploy-version"' not in v3
    v1 = client.get(f"{CHANGELIST}{versions['v1'].pk}/change/").content.decode()
    assert 'id="deploy-version"' in v1 and 'id="comparison"' in v1
    assert "keep the serving model" in v1 or "deploy:" in v1
    assert v1.count('class="bar"') == 60  # difficulty, discrimination and ability histograms, 20 bins each
    assert 'class="bin"' in v1
    assert client.get("/admin/retraining/deployment/").status_code == 200
    assert client.get("/admin/training_data/trainingdata/").status_code == 200


def test_metric_chart_has_one_point_per_version_and_metric(client, operator, versions):
    client.force_login(operator)
    page = client.get(CHANGELIST).content.decode()
    points = re.findall(r'data-metric="([^"]+)" data-version="([^"]+)" data-value="([^"]+)"', page)
    assert sorted({version for _, version, _ in points}) == ["v1", "v2"]  # the failed v3 has no metrics
    assert len(points) == 2 * 3
    accuracy_v1 = next(float(value) for metric, version, value in points if (metric, version) == ("accuracy", "v1"))
    assert accuracy_v1 == pytest.approx(versions["v1"].metrics["accuracy"], abs=1e-6)
    assert 'data-deploy="v1"' in page and 'data-deploy="v2"' in page


def test_calibration_points_match_the_stored_table(client, operator, versions):
    client.force_login(operator)
    page = client.get(f"{CHANGELIST}{versions['v2'].pk}/change/").content.decode()
    counts = [int(c) for c in re.findall(r'class="bin"[^>]*data-count="(\d+)"', page)]
    stored = [row["count"] for row in versions["v2"].metrics["calibration"] if row["count"]]
    assert counts == stored


def test_deploy_button_goes_through_a_confirmation_page(client, operator, versions):
    client.force_login(operator)
    url = f"{CHANGELIST}{versions['v1'].pk}/deploy/"
    confirm = client.get(url).content.decode()
    assert "Roll back to v1?" in confirm and "v2</strong> serves now" in confirm
    assert 'value="Roll back from v2 to v1"' in confirm  # a rollback's reason is prefilled
    assert selectors.production_version().version == "v2"  # nothing happens on GET
    response = client.post(url, {"reason": "v2 is off on algebra"}, follow=True)
    assert "Deployed v1: it now serves learners (rollback; previous: v2)" in response.content.decode()
    assert selectors.production_version().version == "v1"
    latest = Deployment.objects.first()
    assert (latest.version.version, latest.actor, latest.reason) == ("v1", operator, "v2 is off on algebra")


def test_deploy_action_needs_exactly_one_row(client, operator, versions):
    client.force_login(operator)
    both = {"action": "deploy_selected", "_selected_action": [versions["v1"].pk, versions["v2"].pk]}
    response = client.post(CHANGELIST, both, follow=True)
    assert "Select exactly one version to deploy." in response.content.decode()
    one = {"action": "deploy_selected", "_selected_action": [versions["v1"].pk]}
    response = client.post(CHANGELIST, one)
    assert response.status_code == 302 and response["Location"].endswith(f"/{versions['v1'].pk}/deploy/")
    assert selectors.production_version().version == "v2"


def test_refusals_change_nothing(client, operator, versions):
    client.force_login(operator)
    before = Deployment.objects.count()
    response = client.post(f"{CHANGELIST}{versions['v3'].pk}/deploy/", follow=True)
    assert "v3 cannot be deployed: its training failed" in response.content.decode()
    assert selectors.production_version().version == "v2" and Deployment.objects.count() == before


def test_without_permissions_no_buttons_and_403(client, viewer, versions):
    client.force_login(viewer)
    page = client.get(CHANGELIST).content.decode()
    assert 'id="retrain-now"' not in page and "deploy_selected" not in page
    detail = client.get(f"{CHANGELIST}{versions['v1'].pk}/change/").content.decode()
    assert 'id="deploy-version"' not in detail
    assert client.get(f"{CHANGELIST}{versions['v1'].pk}/deploy/").status_code == 403
    assert client.post(f"{CHANGELIST}{versions['v1'].pk}/deploy/").status_code == 403
    assert client.post(f"{CHANGELIST}retrain/").status_code == 403
    assert selectors.production_version().version == "v2"


@pytest.mark.django_db(transaction=True)
def test_retrain_now_reports_already_in_progress(client, operator, versions):
    client.force_login(operator)
    lease = services.TrainingLease().acquire()
    try:
        response = client.post(f"{CHANGELIST}retrain/", follow=True)
        assert "Training already in progress" in response.content.decode()
        assert 'id="training-status"' in response.content.decode()
    finally:
        lease.release()
    assert ModelVersion.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_retrain_now_queues_a_job_for_the_worker(client, operator, simulated, worker_factory):
    from django_tasks_db.models import DBTaskResult

    from tests.conftest import job_wait

    client.force_login(operator)
    response = client.post(f"{CHANGELIST}retrain/", follow=True)
    job = DBTaskResult.objects.get()
    assert f"Retrain queued (job {job.pk})" in response.content.decode()
    assert ModelVersion.objects.count() == 0  # nothing trains in the web process
    worker_factory()
    assert job_wait(str(job.pk)).status == "succeeded"
    assert ModelVersion.objects.get().created_by == operator


def test_answers_are_read_only_and_searchable(client, operator, add_answers):
    add_answers([("u1", "q-17", 1), ("u2", "q-18", 0)])
    client.force_login(operator)
    page = client.get("/admin/training_data/trainingdata/?q=q-17").content.decode()
    assert "q-17" in page and "q-18" not in page
    row = TrainingData.objects.get(question__question_id="q-17")
    assert row.user_hash[:10] in page and row.user_hash not in page
    assert client.get("/admin/training_data/trainingdata/add/").status_code == 403
    assert client.post(f"/admin/training_data/trainingdata/{row.pk}/delete/").status_code == 403


def test_confirmation_page_for_the_serving_and_a_failed_version(client, operator, versions):
    client.force_login(operator)
    serving = client.get(f"{CHANGELIST}{versions['v2'].pk}/deploy/").content.decode()
    assert "v2 already serves learners" in serving and 'id="confirm-deploy"' not in serving
    failed = client.get(f"{CHANGELIST}{versions['v3'].pk}/deploy/").content.decode()
    assert "v3 cannot be deployed: its training failed" in failed and 'id="confirm-deploy"' not in failed


def test_answer_dates_drill_down_by_index_ranges(client, operator, add_answers):
    from datetime import UTC, datetime

    add_answers(
        [
            ("u1", "q1", 1, datetime(2025, 12, 30, 10, tzinfo=UTC)),
            ("u2", "q2", 0, datetime(2026, 2, 3, 9, tzinfo=UTC)),
            ("u3", "q3", 1, datetime(2026, 2, 17, 9, tzinfo=UTC)),
        ]
    )
    client.force_login(operator)
    top = client.get("/admin/training_data/trainingdata/").context["answer_dates"]
    assert [link["label"] for link in top["links"]] == ["2025", "2026"]
    year = top["links"][1]
    months = client.get(
        "/admin/training_data/trainingdata/",
        {"answered_at__gte": year["gte"].isoformat(), "answered_at__lt": year["lt"].isoformat()},
    )
    assert [link["label"] for link in months.context["answer_dates"]["links"]] == ["February 2026"]
    assert months.context["cl"].result_count == 2
    february = months.context["answer_dates"]["links"][0]
    days = client.get(
        "/admin/training_data/trainingdata/",
        {"answered_at__gte": february["gte"].isoformat(), "answered_at__lt": february["lt"].isoformat()},
    )
    assert [link["label"] for link in days.context["answer_dates"]["links"]] == ["Feb 03", "Feb 17"]
    assert days.context["answer_dates"]["back"]["label"] == "2026"
