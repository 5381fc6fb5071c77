"""Deploy checks of our own (``manage.py check --deploy``), beside Django's."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.security, deploy=True)
def throttle_cache_is_shared(app_configs, **kwargs):
    """Throttle counters in a per-process cache multiply the allowed rate by the number of workers."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or backend not in PROCESS_LOCAL_CACHES:
        return []
    return [
        Warning(
            f"The cache ({backend}) is local to each web process, so every worker keeps its own throttle "
            "counters and the token endpoint allows the rate once per worker (DummyCache: no limit at all).",
            hint="Set CACHE_URL to a shared cache, e.g. redis://127.0.0.1:6379/1.",
            id="mlops.W001",
        )
    ]
