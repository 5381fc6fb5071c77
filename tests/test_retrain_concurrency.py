"""One training at a time across processes, proven against a real PostgreSQL server."""

import subprocess
import sys
import time

import psycopg
import pytest

from retraining.models import ModelVersion, TrainingLock
from tests.conftest import ROOT, database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_processes_one_trains_the_other_gets_exit_3(simulated):
    url = database_url()
    table = TrainingLock._meta.db_table
    # Hold the lock table so both processes queue on claiming it, then let them race.
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as gate:
        gate.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        env = {"DATABASE_URL": url, "DJANGO_DEBUG": "true", "PATH": "/usr/bin:/bin"}
        runs = [
            subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "retrain"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        deadline = time.monotonic() + 60
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", [table]
                ).fetchone()[0]
                if waiting == 2:
                    break
                time.sleep(0.05)
        assert waiting == 2, "both retrains should be waiting to claim the lock"
        gate.commit()
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    loser = next(err for code, _, err in results if code == 3)
    assert "Training already in progress" in loser
    assert list(ModelVersion.objects.values_list("version", "status")) == [("v1", "deployed")]
    assert not TrainingLock.objects.exists()
