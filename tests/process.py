"""gunicorn run as in production (gunicorn.conf.py), for the socket tests and the load benchmarks.

Standard library only (no Django, no pytest), so ``bench/`` imports it as well as ``tests/``.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(port: int) -> bool:
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        probe.request("GET", "/healthz")
        return probe.getresponse().status == 200
    except OSError:
        return False
    finally:
        probe.close()


@contextmanager
def gunicorn_process(env: dict, port: int, *, timeout: float = 60):
    """Yield gunicorn's process, started with ``env`` over this process's environment, once it
    answers /healthz on ``port``; stop it on leaving. ``RuntimeError`` (with its stderr) when it
    does not start within ``timeout`` seconds. Its stderr goes to a file: a pipe nobody reads
    would fill and stall the server."""
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "mlops_site.wsgi"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    log.seek(0)
                    raise RuntimeError(f"gunicorn did not start: {log.read().decode()[-2000:]}")
                time.sleep(0.2)
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
