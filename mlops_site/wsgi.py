"""WSGI entry point (e.g. ``gunicorn mlops_site.wsgi``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

application = get_wsgi_application()


def _settle() -> None:
    """Import every view now, then exempt what start-up made from garbage collection.

    A worker holds some 160,000 long-lived objects (Django, DRF, numpy, the views). Python's full
    collection walks them all, about 80 ms during which every request in that worker waits: the
    tail of the serving latencies. Frozen, they are never walked again; a full collection walks
    only what requests made since (a few ms).
    """
    get_resolver().url_patterns  # noqa: B018 - importing the URLconf imports every view
    gc.collect()
    gc.freeze()


_settle()
