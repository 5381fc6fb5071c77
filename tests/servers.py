"""A real gunicorn (gunicorn.conf.py, debug off) serving the test database, for tests over sockets."""

from __future__ import annotations

from contextlib import contextmanager

from tests.conftest import database_url
from tests.process import free_port, gunicorn_process


@contextmanager
def gunicorn(*, workers: int = 2, env: dict | None = None):
    """Yield ``(host, port)`` of gunicorn run as in production (plain HTTP on loopback)."""
    port = free_port()
    full_env = {
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "false",
        "DJANGO_SECRET_KEY": "gunicorn-test-only-" + "k" * 40,
        "TRAINING_DATA_HASH_KEY": "gunicorn-test-only-hash-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESS_LOG": "",
        "DJANGO_LOG_LEVEL": "ERROR",
        **(env or {}),
    }
    with gunicorn_process(full_env, port):
        yield "127.0.0.1", port
