"""The console decides on the same answers: decision cards and column, the needs-review candidate,
the compare page, the deploy/rollback confirmation, and the serving model's daily series."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from retraining import services
from retraining.models import ModelVersion
from retraining.services import monitoring
from retraining.services.comparison import compare_cached
from tests.conftest import simulated_answers

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/retraining/modelversion/"


def recent(days=10, per_user=8, seed=0, flip=False):
    """Answers of the simulated population given over the last ``days`` days (after every cutoff)."""
    now = timezone.now()
    answers = simulated_answers(per_user=per_user, seed=seed)
    step = timedelta(days=days) / len(answers)
    return [
        (u, q, (1 - c) if flip else c, now - timedelta(days=days) + k * step) for k, (u, q, c, _) in enumerate(answers)
    ]


@pytest.fixture
def three(simulated, add_answers):
    """v1 (2PL, serving), v2 (1PL) and v3 (heuristic), then fresh answers after all of them."""
    services.retrain()
    services.retrain(algorithm="irt-1pl", auto_deploy=False)
    services.retrain(algorithm="heuristic", auto_deploy=False)
    add_answers(recent(), prefix="recent")
    return {v.version: v for v in ModelVersion.objects.all()}


def test_compare_selected_shows_all_versions_on_the_same_answers(admin_client, three):
    chosen = [three[name].pk for name in ("v1", "v2", "v3")]
    response = admin_client.post(CHANGELIST, {"action": "compare_selected", "_selected_action": chosen})
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "All 3 versions scored on the same <strong>1,200</strong> answers" in page
    assert re.findall(r'<tr data-version="(v\d)">', page) == ["v1", "v2", "v3"]
    assert page.count('class="module pair"') == 2 and 'id="pair-v2"' in page and 'id="pair-v3"' in page
    # The scatter: one point per question both versions know, at its two difficulties.
    v1_b = {q: p["difficulty"] for q, p in three["v1"].parameters["questions"].items()}
    points = re.findall(r'data-name="(q\d+)" data-x="([-\d.]+)" data-y="([-\d.]+)"', page)
    assert len(points) == 2 * len(v1_b)
    assert all(float(x) == pytest.approx(v1_b[q], abs=1e-3) for q, x, _ in points)


@pytest.mark.parametrize("count", [1, 5])
def test_compare_needs_two_to_four(admin_client, three, simulated, count):
    for k in range(max(0, count - 3)):
        ModelVersion.objects.create(version=f"v{9 + k}", number=9 + k, status="failed")
    chosen = list(ModelVersion.objects.values_list("pk", flat=True))[:count]
    response = admin_client.post(CHANGELIST, {"action": "compare_selected", "_selected_action": chosen}, follow=True)
    assert "Select 2 to 4 versions to compare." in response.content.decode()


def test_compare_page_explains_what_cannot_be_compared(admin_client, three):
    failed = ModelVersion.objects.create(version="v4", number=4, status="failed")
    page = admin_client.get(f"{CHANGELIST}compare/?v={three['v1'].pk}&v={failed.pk}").content.decode()
    assert 'id="compare-error"' in page and "v4 has no model to compare" in page


def test_rollback_confirmation_shows_paired_differences_on_the_same_answers(admin_client, three):
    services.version_deploy(version=three["v2"], reason="try 1PL")
    page = admin_client.get(f"{CHANGELIST}{three['v1'].pk}/deploy/").content.decode()
    expected = compare_cached(three["v1"], ModelVersion.objects.get(version="v2"))
    assert "What the rollback would change" in page and expected.summary()[1:] in page
    assert "v2 (serving now)" in page
    for key, _ in (("logLoss", True), ("accuracy", False), ("brierScore", True)):
        row = re.search(rf'<tr class="(\w+)" data-metric="{key}">(.*?)</tr>', page, re.S)
        verdict = expected.verdict(key)
        assert row.group(1) == (verdict if verdict in ("better", "worse") else "same")
        interval = expected.differences[key]
        if not interval.low <= 0 <= interval.high:
            assert verdict in ("better", "worse")


def test_decision_card_and_column(admin_client, three):
    v2 = admin_client.get(f"{CHANGELIST}{three['v2'].pk}/change/").content.decode()
    card = v2[v2.index('id="decision-card"') : v2.index("</fieldset>") if "</fieldset>" in v2 else None]
    assert "Auto-deploy off" in card and "Against the serving version v1 now" in card
    assert compare_cached(three["v2"], three["v1"]).summary()[1:] in card
    v1 = admin_client.get(f"{CHANGELIST}{three['v1'].pk}/change/").content.decode()
    assert "Serving learners" in v1 and "Auto-deployed" in v1 and "Gate: accuracy" in v1
    listing = admin_client.get(CHANGELIST).content.decode()
    assert sorted(re.findall(r'class="decision decision-([\w-]+)"', listing)) == ["auto-deployed", "manual", "manual"]


def test_a_floor_blocked_but_better_candidate_stands_out(admin_client, add_answers, settings):
    add_answers(simulated_answers(seed=0))
    services.retrain()  # v1 serves
    add_answers(recent(per_user=20, seed=0), prefix="recent")
    settings.MLOPS_AUTO_DEPLOY_THRESHOLD = 0.99  # nothing clears the floor now
    v2 = services.retrain().version
    assert not v2.decision["deploy"] and v2.decision["logLoss"] < v2.decision["productionLogLoss"]
    listing = admin_client.get(CHANGELIST).content.decode()
    assert 'class="decision decision-review"' in listing and "Needs review:" in listing
    index = admin_client.get("/admin/").content.decode()
    assert "Needs review:" in index and f'href="{CHANGELIST}{v2.pk}/change/">v2</a>' in index
    page = admin_client.get(f"{CHANGELIST}{v2.pk}/change/").content.decode()
    assert "decision-review" in page and "Held back by the accuracy floor" in page


def test_versions_page_shows_the_serving_models_days(admin_client, three):
    monitoring.monitor()
    health = monitoring.health(three["v1"], days=30)
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'id="monitoring"' in page and health.reason[1:40] in page
    days = re.findall(r'class="day"[^>]*data-date="([\d-]+)" data-value="([\d.]+)" data-answers="(\d+)"', page)
    assert {d for d, _, _ in days} == {day.date.isoformat() for day in health.days}
    assert sum(int(n) for _, _, n in days) == 2 * sum(day.answers for day in health.days)  # two panels
    baseline = re.search(r'class="baseline"[^>]*data-value="([\d.]+)"', page).group(1)
    assert float(baseline) == pytest.approx(three["v1"].metrics["logLoss"], abs=1e-6)


def test_a_degraded_serving_model_is_marked(admin_client, three, add_answers):
    add_answers(recent(days=3, seed=0, flip=True), prefix="flipped")  # the population changed
    health = monitoring.monitor()
    assert health.degraded
    page = admin_client.get(CHANGELIST).content.decode()
    assert "DEGRADED: worse than at deploy" in page and 'class="errornote">Degraded' in page
