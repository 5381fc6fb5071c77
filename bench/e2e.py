"""One backend's half of the end-to-end benchmark (run by bench/run.py in a fresh process each).

e2e.py prepare N   migrate a fresh database and store N demo answers; prints the store rate
e2e.py retrain N   retrain on the N most recent answers; prints timings and peak memory
e2e.py write N     demo data, then API ingest, answers/s, beside bulk_create of the same rows
e2e.py progress N  a 2PL fit of N simulated answers without progress, with the retrain's progress
                   callback (lease heartbeat, written every PROGRESS_SECONDS) and writing every iteration
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from retraining import services  # noqa: E402
from retraining.models import Deployment, ModelVersion, TrainingLock  # noqa: E402
from training_data.models import TrainingData  # noqa: E402
from training_data.services import demo_data_generate  # noqa: E402


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_reset():
    """The bench database migrated (created first on PostgreSQL) with no versions, deploys or lease."""
    if connection.vendor == "postgresql":
        from load import scratch_database

        scratch_database(connection.settings_dict)
    call_command("migrate", verbosity=0)
    Deployment.objects.all().delete()
    ModelVersion.objects.update(is_production=False, status="archived")
    ModelVersion.objects.all().delete()
    TrainingLock.objects.all().delete()


def prepare(n):
    database_reset()
    TrainingData.objects.all().delete()
    start = time.perf_counter()
    inserted, _ = demo_data_generate(users=max(n // 50, 1), questions=500, answers=n, seed=1)
    seconds = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TrainingData._meta.db_table}")
    return {"inserted": inserted, "insert_rate": inserted / seconds}


def retrain(n):
    connection.ensure_connection()
    before = rss_mib()
    start = time.perf_counter()
    result = services.retrain(limit=n, auto_deploy=False, actor_name="bench")
    total = time.perf_counter() - start
    return {"timings": result.timings, "total": total, "peak_mib": rss_mib(), "baseline_mib": before}


def loaders(n):
    """Seconds to bring the newest ``n`` answers into encoded numpy arrays three ways (gc paused for
    each, as the retrain does); the retrain uses the chunked integer columns (binary COPY on PostgreSQL)."""
    import gc

    import numpy as np

    from retraining.answers import answers_queryset
    from retraining.loading import _to_arrays, answers_load

    connection.ensure_connection()
    fields = ("id", "learner_id", "question_id", "correct")

    def encoded(rows):
        columns = [np.array(column, dtype=np.int64) for column in zip(*rows, strict=True)]
        return _to_arrays(*columns[:3], columns[3].astype(np.int8), None)

    out = {}
    gc.disable()
    try:
        start = time.perf_counter()
        objects = list(answers_queryset(limit=n))
        encoded([tuple(getattr(o, f) for f in fields) for o in objects])
        out["orm_objects"] = time.perf_counter() - start
        del objects
        start = time.perf_counter()
        encoded(list(answers_queryset(limit=n).values_list(*fields)))
        out["values_list"] = time.perf_counter() - start
        start = time.perf_counter()
        answers_load(limit=n, with_labels=False)
        out["chunked_columns_to_numpy"] = time.perf_counter() - start
    finally:
        gc.enable()
    return out


def api(batches):
    """Ingest throughput and predict latency through the API stack (in-process WSGI client)."""
    client = _api_client()
    out = {}
    serial = 0
    for size in (1_000, 10_000):
        out[f"ingest_{size}"], serial = _ingest_rate(client, size, batches, serial)
    trained = services.retrain(limit=1_000_000, auto_deploy=False, actor_name="bench")
    services.version_deploy(version=trained.version, actor_name="bench")
    pairs = [{"userId": f"learner-{k}", "questionId": f"q{k % 400}"} for k in range(100)]
    times = []
    for _ in range(50):
        start = time.perf_counter()
        response = client.post("/api/mlops/predict", pairs)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    times.sort()
    out["predict_p50_ms"] = times[len(times) // 2] * 1000
    out["predict_p99_ms"] = times[-1] * 1000
    return out


def _api_client():
    """A fresh answers table and an API client logged in as a staff user who may ingest."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    call_command("migrate", verbosity=0)
    TrainingData.objects.all().delete()
    user, _ = get_user_model().objects.get_or_create(username="bench-api", defaults={"is_staff": True})
    user.user_permissions.add(Permission.objects.get(codename="add_trainingdata"))
    user.set_password("bench-password-123")
    user.save()
    client = APIClient()
    token = client.post("/api/auth/token", {"username": "bench-api", "password": "bench-password-123"}).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token['access']}")
    return client


def _ingest_rate(client, size: int, batches: int, serial: int) -> tuple[float, int]:
    """Answers stored per second over ``batches`` posts of ``size`` new answers; the next serial."""
    total, seconds = 0, 0.0
    for _ in range(batches):
        body = [
            {
                "userId": f"learner-{(serial + k) % 5000}",
                "questionId": f"q{(serial + k) % 400}",
                "correct": (serial + k) % 3 != 0,
                "timestamp": "2026-01-15T10:29:45Z",
                "responseTime": 5200,
                "eventId": f"bench-{serial + k}",
            }
            for k in range(size)
        ]
        serial += size
        start = time.perf_counter()
        response = client.post("/api/training-data", body)
        seconds += time.perf_counter() - start
        assert response.status_code == 201, response.content[:300]
        total += response.json()["inserted"]
    return total / seconds, serial


def write(n):
    """Answers stored per second by every fast door (demo data, API ingest), beside Django's own
    ``bulk_create`` of the same demo rows in the same run (the baseline)."""
    from training_data.services.insert import STORED

    prepared = prepare(n)
    stored = list(TrainingData.objects.order_by("id").values_list(*STORED))
    TrainingData.objects.all().delete()
    start = time.perf_counter()
    TrainingData.objects.bulk_create(
        (TrainingData(**dict(zip(STORED, row, strict=True))) for row in stored), batch_size=5_000
    )
    baseline = len(stored) / (time.perf_counter() - start)
    del stored
    client = _api_client()
    ingest = {size: _ingest_rate(client, size, 5, serial)[0] for size, serial in ((1_000, 0), (10_000, 10**6))}
    return {
        "demo": prepared["insert_rate"],
        "bulk_create": baseline,
        "ingest_1000": ingest[1_000],
        **{"ingest_10000": ingest[10_000]},
    }


def progress(n):
    """Median fit seconds over interleaved rounds: no callback / the retrain's callback / a write per
    EM iteration (PROGRESS_SECONDS = 0), all against the real lock row."""
    from retraining.irt import IRT, simulate_2pl
    from retraining.services import lease as lease_module

    call_command("migrate", verbosity=0)
    TrainingLock.objects.all().delete()
    users, items, correct, *_ = simulate_2pl(max(n // 50, 1), 500, 50)
    IRT(model="2pl").fit(users[:2000], items[:2000], correct[:2000])  # warm-up
    interval = lease_module.PROGRESS_SECONDS
    times = {"none": [], "retrain": [], "every": []}
    iterations = {}
    for _ in range(3):
        for way in times:
            lease_module.PROGRESS_SECONDS = 0.0 if way == "every" else interval
            writes = []
            lease = services.TrainingLease().acquire()
            try:

                def callback(iteration, lease=lease, writes=writes):
                    before = lease._last_beat
                    lease.heartbeat(progress={"step": "fitting", "iteration": iteration}, force=False)
                    if lease._last_beat != before:
                        writes.append(iteration)

                start = time.perf_counter()
                model = IRT(model="2pl").fit(users, items, correct, callback=None if way == "none" else callback)
                times[way].append(time.perf_counter() - start)
                iterations[way] = (model.n_iter_, len(writes))
            finally:
                lease.release()
    lease_module.PROGRESS_SECONDS = interval
    return {
        "answers": len(correct),
        "interval": interval,
        **{f"{way}_s": sorted(values)[1] for way, values in times.items()},
        **{f"{way}_iterations": iterations[way][0] for way in times},
        **{f"{way}_writes": iterations[way][1] for way in times},
    }


def compare(n):
    """Two versions compared on ``n`` answers neither trained on: cold (nothing cached), then the
    cached call; beside loading those answers alone (the baseline: the least a comparison reads)."""
    from retraining.selectors import answers_load
    from retraining.services.comparison import compare as compare_versions
    from retraining.services.comparison import compare_cached

    prepare(200_000)
    older = services.retrain(limit=100_000, auto_deploy=False, actor_name="bench").version
    newer = services.retrain(limit=200_000, auto_deploy=False, actor_name="bench").version
    demo_data_generate(users=max(n // 50, 1), questions=500, answers=n, seed=2)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TrainingData._meta.db_table}")
    before = rss_mib()
    start = time.perf_counter()
    loaded = len(answers_load(keys=newer.cutoff.after(), with_labels=False))
    load = time.perf_counter() - start
    start = time.perf_counter()
    result = compare_versions(newer, older)
    cold = time.perf_counter() - start
    compare_cached(newer, older)
    start = time.perf_counter()
    compare_cached(newer, older)
    cached = time.perf_counter() - start
    return {
        "answers": result.answers,
        "loaded": loaded,
        "load": load,
        "compare": cold,
        "cached": cached,
        "peak_mib": rss_mib(),
        "baseline_mib": before,
    }


if __name__ == "__main__":
    action, count = sys.argv[1], int(sys.argv[2])
    actions = {
        "prepare": prepare,
        "retrain": retrain,
        "api": api,
        "loaders": loaders,
        "progress": progress,
        "compare": compare,
        "write": write,
    }
    print(json.dumps(actions[action](count)))
