"""gunicorn settings: `gunicorn mlops_site.wsgi` picks this file up from the project folder.

Every value can be overridden from the environment (GUNICORN_BIND, WEB_CONCURRENCY, ...).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind the TLS proxy on the same host
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Two threads a worker: one more request goes on while a long one (a synchronous retrain, a big
# ingest) runs, and the two share one interpreter lock. With four, requests of the same worker queued
# for the lock: next-question's p99 under the live bench's load was 4.0-5.5x /healthz's, 2.6-2.7x
# with two, in back-to-back runs.
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# A synchronous POST /api/mlops/retrain on a large data set takes a while; the rest is fast.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 300))
graceful_timeout = 30
keepalive = 5
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections
# over them. On one shared socket the worker that happens to be awake accepts most of them, and a
# kept-alive connection stays with its worker: 29 of 32 clients ended on one worker (one core) while
# three idled. Not for a Unix socket: each worker would replace the one file the others bound.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "true").lower() in ("1", "true", "yes") and not bind.startswith(
    ("unix:", "fd://")
)
# The heartbeat every worker touches on each turn of its loop lives in memory where there is a tmpfs
# (gunicorn's advice: on a disk-backed file system the touch may block the worker).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
# Reject absurd request lines and headers before Django sees them; bodies are capped by Django.
limit_request_line = 8190
limit_request_fields = 100
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
# Escapes what clients send (a %0A or %00 in a path, quotes in a header) so every line parses as JSON.
logger_class = "mlops_site.logs.GunicornLogger"
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "remote": "%(h)s"}'
)
errorlog = "-"
