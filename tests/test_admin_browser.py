"""A real browser (Debian's Chromium, headless) rolls production back to v1 through the admin."""

import os
import shutil
from pathlib import Path

import pytest

from retraining import selectors, services

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

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
def page(tmp_path, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop; the live server's database calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def test_roll_back_to_v1_with_the_button(page, live_server, django_user_model, simulated, tmp_path):
    try:
        roll_back(page, live_server, django_user_model, tmp_path)
    finally:
        # This body runs in Playwright's greenlet context, where Django keeps database connections of
        # its own: close them, or PostgreSQL refuses to drop the test database at the end.
        from django.db import connections

        connections.close_all()


def roll_back(page, live_server, django_user_model, tmp_path):
    services.retrain()
    services.retrain()
    django_user_model.objects.create_superuser("boss", password="a long enough password")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a long enough password")
    page.click("input[type=submit]")
    page.click("text=Model versions")
    assert page.inner_text("#production-version") == "v2"
    assert page.locator("svg.irt-chart circle.point").count() == 2 * 3

    page.click("#result_list a:text-is('v1')")
    page.click("#deploy-version")
    page.fill("#id_reason", "v2 misjudges the new algebra questions")
    page.click("#confirm-deploy")

    page.wait_for_selector("ul.messagelist li.success")
    assert "Deployed v1" in page.inner_text("ul.messagelist")
    assert page.inner_text("#production-version") == "v1"
    v1_row = page.locator("#result_list tbody tr", has_text="v1").first
    assert v1_row.locator("img[alt=True]").count() == 1  # the production marker moved to v1
    shot = tmp_path / "rollback.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["SCREENSHOT_DIR"]) / "admin-rollback.png")
    assert selectors.production_version().version == "v1"
