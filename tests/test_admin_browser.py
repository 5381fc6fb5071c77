"""A real browser (Debian's Chromium, headless) walks the staff console as staff would.

``python3 tasks.py screenshots`` runs this module with ``SCREENSHOT_DIR`` set: every page of the
walk is then saved at 1366 px and 390 px wide (full page PNGs) into that folder.
"""

import functools
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from retraining import selectors, services
from retraining.models import ModelVersion
from retraining.services import monitoring
from tests.conftest import simulated_answers

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    ),
]

FLAGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(tmp_path, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop; the live server's database calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def closes_connections(test):
    """Test bodies run in Playwright's greenlet context, where Django keeps database connections of
    their own: close them there (not in a fixture), or PostgreSQL refuses to drop the test database."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        finally:
            from django.db import connections

            connections.close_all()

    return run


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport=WIDE)
    page.set_default_timeout(20_000)
    return page


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def table_fits(page) -> bool:
    return page.evaluate(
        "(() => { const box = document.querySelector('#changelist .results');"
        " return !box || box.scrollWidth <= box.clientWidth; })()"
    )


def shoot(page, name: str) -> None:
    """Check the page fits 1366 px and 390 px without sideways scrolling (at 1366 px the list's table
    too); save both as PNGs when ``SCREENSHOT_DIR`` is set."""
    folder = os.environ.get("SCREENSHOT_DIR")
    for label, viewport in (("1366", WIDE), ("390", NARROW)):
        page.set_viewport_size(viewport)
        assert page_width(page) <= viewport["width"], f"{name} scrolls sideways at {label} px"
        assert label == "390" or table_fits(page), f"{name}: the list's table scrolls sideways at {label} px"
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(WIDE)


def slow_fit(monkeypatch, seconds_per_iteration=0.4):
    """Make each EM iteration of the real fit take a while, as on millions of answers, so the
    browser can watch progress; everything else (lease, progress rows, polling) runs as is."""
    heartbeat = services.TrainingLease.heartbeat

    def slow(self, *, progress=None, force=True):
        if progress and progress.get("step") == "fitting" and not force:
            time.sleep(seconds_per_iteration)
        return heartbeat(self, progress=progress, force=force)

    monkeypatch.setattr(services.TrainingLease, "heartbeat", slow)


def recent_answers(days=10):
    """More answers from the same simulated learners and questions, given over the last ``days``
    days (after every version's training cutoff: fresh for comparisons and monitoring)."""
    now = timezone.now()
    answers = simulated_answers(per_user=8, seed=0)
    step = timedelta(days=days) / len(answers)
    return [(u, q, c, now - timedelta(days=days) + k * step) for k, (u, q, c, _) in enumerate(answers)]


@closes_connections
def test_staff_walk_from_the_list_to_a_rollback_and_a_live_retrain(
    page, live_server, django_user_model, simulated, add_answers, monkeypatch, worker_thread
):
    # Long on purpose: one staff member's walk through the console, each page reached from the one
    # before in the same browser session, as a person would; split up, it would no longer be one walk.
    services.retrain()
    services.retrain(algorithm="irt-1pl", auto_deploy=False)
    services.retrain(algorithm="heuristic", auto_deploy=False)
    add_answers(recent_answers(), prefix="recent")
    monitoring.monitor()
    django_user_model.objects.create_superuser("boss", password="a long enough password")
    log_in(page, live_server, "boss", "a long enough password")

    # The list: which version serves, how it does day by day, both metric panels, every version.
    page.click("text=Model versions")
    assert page.inner_text("#production-version") == "v1"
    assert page.locator("#monitoring svg.monitoring").count() == 2
    assert page.locator("svg.metric-panel").count() == 2
    assert page.locator("#result_list tbody tr").count() == 3
    assert page.locator("#result_list .decision").count() == 3
    shoot(page, "01-versions")

    # A version's page opens with its decision card: the gate's reason and the same-answer comparison.
    page.click("#result_list a:text-is('v2')")
    card = page.locator("#decision-card")
    assert card.locator(".decision-label").text_content() == "Auto-deploy off"
    assert "Against the serving version v1 now" in card.inner_text()
    assert card.locator("#comparison tbody tr").count() == 4
    assert page.locator("svg.histogram").count() == 2  # 1PL: difficulty and ability, no discrimination
    shoot(page, "02-version")

    # Compare the three versions on the same answers.
    page.click(".breadcrumbs a:text-is('Model versions')")
    for name in ("v1", "v2", "v3"):
        page.locator("#result_list tbody tr", has_text=name).locator("input.action-select").check()
    page.select_option("select[name=action]", "compare_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#compare-metrics")
    assert page.locator("#compare-metrics tbody tr").count() == 3
    assert "recent answers neither version trained on" in page.inner_text("#compare-answers")
    assert page.locator(".pair").count() == 2  # v1 against v2, v1 against v3
    assert page.locator("svg.scatter").count() == 2
    assert page.locator("svg.scatter circle.scatter-point").count() == 2 * 25  # every question, both pairs
    shoot(page, "03-compare")
    page.click("text=Back to the versions")

    # Deploy v2 with a reason.
    page.click("#result_list a:text-is('v2')")
    page.click("#deploy-version")
    assert page.input_value("#id_reason") == ""
    page.fill("#id_reason", "1PL is simpler to explain and as good")
    shoot(page, "04-deploy-confirmation")
    page.click("#confirm-deploy")
    page.wait_for_selector("ul.messagelist li.success")
    assert "Deployed v2" in page.inner_text("ul.messagelist")
    assert page.inner_text("#production-version") == "v2"

    # Roll back to v1: the reason is prefilled.
    page.click("#result_list a:text-is('v1')")
    assert page.text_content("#deploy-version") == "Roll back to this version"
    page.click("#deploy-version")
    assert page.input_value("#id_reason") == "Roll back from v2 to v1"
    # ... and the confirmation shows both versions on the same answers, with paired differences.
    rows = page.locator("#comparison tbody tr")
    assert rows.count() == 4
    assert "v1" in page.text_content("#comparison thead") and "v2" in page.text_content("#comparison thead")
    for k in range(3):
        interval = rows.nth(k).locator("td.difference .interval").inner_text()
        verdict = rows.nth(k).locator("td.verdict").inner_text()
        low, high = (float(x.replace("pp", "").strip()) for x in interval.split(" to "))
        excludes_zero = low > 0 or high < 0
        assert (verdict in ("better", "worse")) == excludes_zero, (interval, verdict)
    shoot(page, "05-rollback-confirmation")
    page.click("#confirm-deploy")
    page.wait_for_selector("ul.messagelist li.success")
    assert page.inner_text("#production-version") == "v1"
    v1_row = page.locator("#result_list tbody tr", has_text="v1").first
    assert v1_row.locator(".status-badge").inner_text() == "Serving"  # the serving marker moved to v1

    # A version links to its deployments, and the history links back to the versions.
    page.click("#result_list a:text-is('v1')")
    page.click("#version-deployments")
    page.wait_for_url(re.compile(r"/deployment/\?version=v1$"))  # loaded: count() does not wait
    assert page.locator("#result_list tbody tr").count() == 3  # auto-deploy, replaced by v2, rolled back to
    shoot(page, "06-deployments")
    page.locator("#result_list a:text-is('v1')").first.click()
    page.click(".breadcrumbs a:text-is('Model versions')")

    # Retrain now, follow its progress live, see it finish.
    slow_fit(monkeypatch)
    page.click("#retrain-now")
    page.wait_for_selector("ul.messagelist li.success")
    assert "Retrain queued (job" in page.inner_text("ul.messagelist")
    status = page.locator("#training-status")
    assert status.get_attribute("data-training") == "true"  # queued or running: the page watches
    page.wait_for_function(
        "document.querySelector('#training-status') && document.querySelector('#training-status').dataset.iteration"
    )
    text = status.inner_text()
    assert re.search(
        r"v4 is training: fitting the model · EM iteration \d+ · \d+ s elapsed · started .* UTC by boss", text
    )
    shoot(page, "07-live-training")
    page.wait_for_selector(
        "#result_list tbody tr:has-text('v4') .status-completed, #result_list tbody tr:has-text('v4') .status-deployed",
        timeout=60_000,
    )
    assert not status.is_visible()
    assert ModelVersion.objects.get(version="v4").status in ("completed", "deployed")
    assert selectors.production_version() is not None


@closes_connections
def test_limited_staff_see_no_buttons_and_get_the_styled_403(page, live_server, django_user_model, simulated):
    services.retrain()
    services.retrain()
    viewer = django_user_model.objects.create_user("viewer", password="a long enough password", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_modelversion", "view_deployment"]))
    log_in(page, live_server, "viewer", "a long enough password")
    page.goto(f"{live_server.url}/admin/retraining/modelversion/")
    assert page.locator("#retrain-now").count() == 0
    assert page.locator("select[name=action] option[value=deploy_selected]").count() == 0
    page.click("#result_list a:text-is('v1')")
    assert page.locator("#deploy-version").count() == 0
    v1 = ModelVersion.objects.get(version="v1")
    response = page.goto(f"{live_server.url}/admin/retraining/modelversion/{v1.pk}/deploy/")
    assert response.status == 403
    assert "may look at the console but not do this" in page.inner_text("#forbidden")
    assert page.locator("#site-name").count() == 1  # the admin's header: its own page, not a bare 403
    shoot(page, "08-forbidden")
