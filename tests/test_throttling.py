"""The token throttle counts the client's real address: X-Forwarded-For cannot dodge it."""

import http.client
import json

import pytest
from django.core import checks

from tests.servers import gunicorn

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/1"  # this project's Redis database number (see README "Settings")


def guesses(client, count, forwarded_for):
    return [
        client.post(
            "/api/auth/token",
            {"username": "staff", "password": f"guess{k}"},
            headers={"x-forwarded-for": forwarded_for(k)},
        ).status_code
        for k in range(count)
    ]


def test_a_rotating_x_forwarded_for_does_not_dodge_the_throttle(api, staff):
    codes = guesses(api(), 12, lambda k: f"203.0.113.{k}")
    assert codes == [401] * 10 + [429, 429]


def test_behind_trusted_proxies_the_address_the_proxy_saw_counts(api, staff, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The proxy appends the address it saw; whatever the client wrote before it is ignored.
    spoofed = guesses(api(), 11, lambda k: f"198.51.100.{k}, 203.0.113.7")
    assert spoofed == [401] * 10 + [429]
    # Different clients behind the same proxy have their own counters.
    assert guesses(api(), 11, lambda k: f"203.0.113.{100 + k}") == [401] * 11


def redis_available() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not redis_available(), reason=f"needs Redis at {REDIS_URL}")
def test_four_gunicorn_workers_share_one_throttle_through_redis():
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    codes = []
    with gunicorn(workers=4, env={"CACHE_URL": REDIS_URL}) as (host, port):
        for k in range(11):
            connection = http.client.HTTPConnection(host, port, timeout=30)  # a new connection: any worker
            body = json.dumps({"username": "nobody", "password": f"guess{k}"})
            headers = {"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{k}"}
            connection.request("POST", "/api/auth/token", body, headers)
            codes.append(connection.getresponse().status)
            connection.close()
    assert codes == [401] * 10 + [429]


def deploy_check_ids():
    return {message.id for message in checks.run_checks(include_deployment_checks=True)}


def test_a_process_local_cache_is_a_deploy_warning_with_debug_off(settings):
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "mlops.W001" in deploy_check_ids()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    assert "mlops.W001" not in deploy_check_ids()
