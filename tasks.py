#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+ (standard library only).

    python3 tasks.py demo     # virtualenv + install + migrate + demo answers + a real retrain and its report
    python3 tasks.py test     # virtualenv + install (with test tools) + the test suite
    python3 tasks.py check    # migrations up to date (SQL and MongoDB trees), lint, format
    python3 tasks.py bench    # the benchmarks (prints a table)
    python3 tasks.py screenshots [DIR]  # the staff console at 1366 and 390 px, PNGs in DIR (screenshots/)

Extra arguments after ``test`` go to pytest, e.g. ``python3 tasks.py test -k lsat``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("VENV_DIR", ROOT / ".venv"))
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
ENV_FILE = ROOT / ".env"


def run(*args: str | Path, env: dict | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(requirements: str) -> None:
    """Create the virtualenv and install ``requirements`` (again only when the file changed)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older python3
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"Creating the virtualenv in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    files = [ROOT / requirements] + ([ROOT / "requirements.txt"] if requirements != "requirements.txt" else [])
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements)
    stamp.write_text(digest)


def ensure_env_file() -> None:
    """A local ``.env`` for development: debug on and random secrets, kept so hashes stay stable."""
    if ENV_FILE.exists():
        return
    ENV_FILE.write_text(
        "# Local development settings (not for production; see README 'Settings').\n"
        "DJANGO_DEBUG=true\n"
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"TRAINING_DATA_HASH_KEY={secrets.token_urlsafe(40)}\n"
    )
    print(f"Wrote {ENV_FILE.name} with development settings.", flush=True)


def manage(*args: str, env: dict | None = None) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def demo(args: list[str]) -> None:
    ensure_venv("requirements.txt")
    ensure_env_file()
    manage("migrate", "--verbosity", "0")
    manage("generate_demo_data")
    manage("retrain", *args)  # in this process, as cron runs it
    # The job path, as the API's "wait": false and the admin's button take it: queue a retrain, then a
    # worker runs the queued jobs (--batch: exit when the queue is empty; in production it keeps running).
    manage("retrain", "--enqueue", *args)
    manage("db_worker", "--batch", "--no-reload", "--no-startup-delay")


def test(args: list[str]) -> None:
    ensure_venv("requirements-dev.txt")
    ensure_env_file()
    run(PYTHON, "-m", "pytest", *args)


def check(args: list[str]) -> None:
    ensure_venv("requirements-dev.txt")
    ensure_env_file()
    manage("makemigrations", "--check", "--dry-run")
    # The MongoDB tree, verified without a server (MONGODB_OFFLINE skips the history check).
    mongo = {"MONGODB_URI": "mongodb://127.0.0.1:27017/irt_retraining", "MONGODB_OFFLINE": "1"}
    manage("check", env=mongo)
    manage("makemigrations", "--check", "--dry-run", env=mongo)
    run(PYTHON, "-m", "ruff", "check", ".")
    run(PYTHON, "-m", "ruff", "format", "--check", ".")


def bench(args: list[str]) -> None:
    ensure_venv("requirements-dev.txt")
    ensure_env_file()
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "bench/requirements.txt")
    run(PYTHON, "bench/run.py", *args)


def screenshots(args: list[str]) -> None:
    """The browser walk of the staff console, saving every page at 1366 and 390 px as PNGs."""
    folder = Path(args[0]).resolve() if args else ROOT / "screenshots"
    ensure_venv("requirements-dev.txt")
    ensure_env_file()
    run(PYTHON, "-m", "pytest", "-q", "tests/test_admin_browser.py", env={"SCREENSHOT_DIR": str(folder)})
    print(f"Screenshots in {folder}", flush=True)


TASKS = {"demo": demo, "test": test, "check": check, "bench": bench, "screenshots": screenshots}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(__doc__)
    TASKS[sys.argv[1]](sys.argv[2:])
