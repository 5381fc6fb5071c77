"""Serving between retrains under load: live ability, predict (live) and next question, beside /healthz.

    python3 tasks.py bench --only live        (or: python bench/live.py [--seconds 8] [--clients 32])

The same set-up and load as bench/load.py (a fresh SQLite database with 100,000 demo answers and a
deployed 2PL model, gunicorn with gunicorn.conf.py, 32 keep-alive clients each pausing 100 ms),
plus learners who answered 2,000 questions after the retrain (the worst case the target names) and
the quiz app's service account. Each endpoint is measured right after /healthz in the same run,
so the ratio of the p99s holds however busy the machine is. Target: p99 <= 3x the /healthz p99.
predict with "ability": "model" (the behaviour before live abilities) is measured too, as a baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import bench_env, gunicorn, prepare, run_clients

HEAVY_LEARNERS = 16
HEAVY_ANSWERS = 2000
CANDIDATES = 200
QUESTIONS = 300  # as bench/load.py's demo data


def add_heavy_learners() -> str:
    """Learners with HEAVY_ANSWERS answers each, all newer than the model; a serving account's token."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from training_data.services import answer_row, answers_insert

    rng = np.random.default_rng(7)
    now = timezone.now()
    rows = [
        answer_row(
            user_id=f"heavy-{k}",
            question_id=f"q{int(rng.integers(QUESTIONS)) + 1:04d}",
            correct=bool(rng.random() < 0.6),
            answered_at=now,
            event_id=f"heavy-{k}-{n}",
            now=now,
        )
        for k in range(HEAVY_LEARNERS)
        for n in range(HEAVY_ANSWERS)
    ]
    with transaction.atomic():
        answers_insert(rows)
    app = get_user_model().objects.create_user("live-app")
    app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    return str(AccessToken.for_user(app))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0, help="Per endpoint.")
    parser.add_argument("--think-ms", type=float, default=100.0, help="Pause of each client between requests.")
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON line.")
    args = parser.parse_args()

    env = bench_env()
    prepare(env)
    token = add_heavy_learners()
    candidates = [f"q{k + 1:04d}" for k in range(CANDIDATES)]

    def heavy(k, n):
        return f"heavy-{(k + n) % HEAVY_LEARNERS}"

    endpoints = (
        (
            "predict (model): today",
            "POST",
            "/api/mlops/predict",
            lambda k, n: json.dumps(
                {"userId": heavy(k, n), "questionId": f"q{n % QUESTIONS + 1:04d}", "ability": "model"}
            ),
        ),
        ("ability", "GET", lambda k, n: f"/api/mlops/learners/{heavy(k, n)}/ability", lambda k, n: None),
        (
            "predict (live)",
            "POST",
            "/api/mlops/predict",
            lambda k, n: json.dumps({"userId": heavy(k, n), "questionId": f"q{n % QUESTIONS + 1:04d}"}),
        ),
        (
            f"next-question ({CANDIDATES})",
            "POST",
            "/api/mlops/next-question",
            lambda k, n: json.dumps({"userId": heavy(k, n), "candidates": candidates, "count": 5}),
        ),
    )
    results = []
    with gunicorn(env):
        port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])

        def measure(method, path, body_for):
            run_clients(port, 8, 1.0, method, path, token, body_for)  # warm every worker
            return run_clients(port, args.clients, args.seconds, method, path, token, body_for, args.think_ms)

        for name, method, path, body_for in endpoints:
            floor = measure("GET", "/healthz", lambda k, n: None)
            result = measure(method, path, body_for)
            results.append({"endpoint": name, "healthz": floor, "result": result})

    if args.json:
        print(json.dumps(results))
        return
    print(
        f"gunicorn on 127.0.0.1, SQLite, {args.clients} clients pausing {args.think_ms:.0f} ms; learners with "
        f"{HEAVY_ANSWERS:,} answers each, newer than the model; each endpoint right after /healthz"
    )
    columns = f"{'endpoint':<26}{'req/s':>7}{'p50 ms':>9}{'p99 ms':>9}{'healthz p50/p99':>18}{'ratio':>7}"
    print(f"{columns}{'errors':>8}  target")
    for row in results:
        r, h = row["result"], row["healthz"]
        ratio = r["p99"] / h["p99"]
        verdict = "" if "today" in row["endpoint"] else ("ok" if ratio <= 3 else "MISSED") + " (p99 <= 3x healthz p99)"
        print(
            f"{row['endpoint']:<26}{r['per_second']:>7.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}"
            f"{h['p50']:>9.1f}/{h['p99']:<8.1f}{ratio:>7.2f}{r['errors'] + h['errors']:>8}  {verdict}"
        )


if __name__ == "__main__":
    main()
