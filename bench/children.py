"""A benchmark phase in its own process: its last stdout line is its JSON result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_json(script: Path, command: list[str], env: dict, *, timeout: float) -> dict:
    """Run ``script`` with ``command`` under ``env``; its result, or ``RuntimeError`` with its last error line."""
    result = subprocess.run(
        [sys.executable, str(script), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def backends(sqlite_file: Path) -> list[tuple[str, str]]:
    """SQLite on ``sqlite_file``, and PostgreSQL unless BENCH_POSTGRES_URL is "off"."""
    backends = [("SQLite", f"sqlite:///{sqlite_file}")]
    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/irt_bench")
    if postgres != "off":
        backends.append(("PostgreSQL", postgres))
    return backends


def child_env(url: str, **overrides: str) -> dict:
    """This process's environment with the production settings on ``url`` (bench-only secrets)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "localhost", **overrides}
    env.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 30)
    env.setdefault("TRAINING_DATA_HASH_KEY", "bench-only-hash-key")
    return env
