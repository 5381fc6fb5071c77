"""Load test: gunicorn on 127.0.0.1 with the production settings, 32 concurrent clients.

    python3 tasks.py bench --only load        (or: python bench/load.py [--seconds 8] [--clients 32])

Prepares a fresh SQLite database (demo answers, a deployed model, a staff and an ingest account),
starts gunicorn with gunicorn.conf.py, then, per endpoint, runs the clients for a bounded time on
keep-alive connections and reports p50/p99 latency and throughput; finally it measures ingest
answers/s with batches of 10,000. Only 127.0.0.1 is contacted; every loop stops by itself.
Targets on this 2-core machine: predict p99 <= 50 ms, status p99 <= 20 ms, ingest >= 20,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.process import free_port, gunicorn_process  # noqa: E402  (after the path above)


def bench_env() -> dict:
    """The production settings on a fresh SQLite file, gunicorn on a free port of 127.0.0.1."""
    workdir = Path(tempfile.mkdtemp(prefix="irt-load-"))
    return {
        "DATABASE_URL": f"sqlite:///{workdir / 'load.sqlite3'}",
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "false",  # plain HTTP on loopback; production runs behind the TLS proxy
        "DJANGO_SECRET_KEY": "load-test-only-" + "k" * 40,
        "TRAINING_DATA_HASH_KEY": "load-test-only-hash-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "GUNICORN_ACCESS_LOG": "",
        "DJANGO_LOG_LEVEL": "ERROR",
    }


def scratch_database(settings: dict, *, drop_first: bool = False) -> None:
    """Create the PostgreSQL database a Django ``settings`` dict names, if missing (dropped first
    with ``drop_first``). A bench's own database only: the server's shared ones are refused."""
    import psycopg

    name = settings["NAME"]
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"a bench needs a scratch PostgreSQL database of its own, not {name or 'none'!r}")
    params = {"host": settings.get("HOST") or None, "port": settings.get("PORT") or 5432}
    params |= {key.lower(): settings[key] for key in ("USER", "PASSWORD") if settings.get(key)}
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        if drop_first:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def gunicorn(env: dict):
    """gunicorn (gunicorn.conf.py) with ``env``, answering /healthz, stopped on leaving."""
    with gunicorn_process(env, int(env["GUNICORN_BIND"].rsplit(":", 1)[1]), timeout=30) as server:
        yield server


def prepare(env: dict) -> dict:
    """Migrate, store demo answers, train and deploy, make the accounts; return tokens and ids."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    from retraining import services
    from training_data.services import demo_data_generate

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    demo_data_generate(users=2000, questions=300, answers=100_000, seed=11)
    trained = services.retrain(limit=100_000, auto_deploy=False, actor_name="load")
    services.version_deploy(version=trained.version, actor_name="load")
    User = get_user_model()
    staff = User.objects.create_user("load-staff", is_staff=True)
    app = User.objects.create_user("load-app")
    app.user_permissions.add(Permission.objects.get(codename="add_trainingdata"))
    return {"staff": str(AccessToken.for_user(staff)), "app": str(AccessToken.for_user(app))}


def run_clients(port, clients, seconds, method, path, token, body_for, think_ms=0.0, requests=None):
    """``clients`` keep-alive connections, each sending a request, reading the answer and pausing
    ``think_ms``, until ``seconds`` pass (or it sent ``requests``); ``path`` may be a function of
    (client, request number).
    With a pause, the clients start spread over one pause, as they run afterwards: started together,
    all their first requests would arrive at once, a burst the steady load never makes (it held
    half the slowest 1 % of a 15 s run). One asyncio loop: the load generator stays light."""
    phases = [(method, path, body_for)]
    return run_alternating(port, clients, seconds, phases, token, think_ms, requests=requests)["phases"][0]


def run_alternating(
    port, clients, seconds, phases, token, think_ms=0.0, *, slice_seconds=None, sample=None, requests=None
):
    """:func:`run_clients` over ``phases`` (``(method, path, body_for)`` each) taking turns, a slice
    of ``slice_seconds`` each (the whole time when None), on the same connections and under the
    same load: what each phase measures is measured at the same times as the others. Returns
    ``{"phases": [summary of each], "slices": [(phase, summary, sample() at its end - at its start)]}``
    (a request counts in the slice it was sent in); ``sample`` is a function of nothing returning a
    dict of numbers (e.g. CPU seconds used so far), called at each slice's edges, and each phase's
    summary adds up its slices' differences under ``"used"``."""
    slice_seconds = slice_seconds or seconds
    run = asyncio.run(
        _run(port, clients, seconds, phases, token, think_ms, slice_seconds, sample, requests, _in_turns(len(phases)))
    )
    slices, errors, elapsed, used = run["latencies"], run["errors"], run["elapsed"], run["used"]
    result = {"phases": [], "slices": []}
    for phase in range(len(phases)):
        mine = range(phase, len(slices), len(phases))
        pooled = [value for k in mine for value in slices[k][phase]]
        phase_summary = summary(pooled, sum(errors[k][phase] for k in mine), sum(max(elapsed[k], 1e-9) for k in mine))
        phase_summary["used"] = {key: sum(used[k][key] for k in mine) for key in used[0]}
        result["phases"].append(phase_summary)
    for k, latencies in enumerate(slices):
        phase = k % len(phases)
        result["slices"].append((phase, summary(latencies[phase], errors[k][phase], max(elapsed[k], 1e-9)), used[k]))
    return result


def run_interleaved(port, clients, seconds, phases, pattern, token, think_ms=0.0, *, slice_seconds=2.0):
    """``clients`` keep-alive connections whose requests go through ``pattern`` (indices into
    ``phases``) in turn, each client starting at its own place in it: at every moment every phase is
    asked for, in the pattern's proportions, on the same connections and under the same traffic.
    Returns ``{"phases": [summary of each], "slices": [[latencies of each phase] of each slice]}``
    (``slice_seconds`` each, a request counting in the slice it was sent in)."""
    run = asyncio.run(
        _run(port, clients, seconds, phases, token, think_ms, slice_seconds, None, None, _in_pattern(pattern))
    )
    result = {"phases": [], "slices": run["latencies"]}
    for phase in range(len(phases)):
        pooled = [value for latencies in run["latencies"] for value in latencies[phase]]
        result["phases"].append(summary(pooled, sum(errors[phase] for errors in run["errors"]), seconds))
    return result


def _in_turns(count):
    return lambda slice_index, client, request: slice_index % count


def _in_pattern(pattern):
    return lambda slice_index, client, request: pattern[(client + request) % len(pattern)]


async def _run(port, clients, seconds, phases, token, think_ms, slice_seconds, sample, requests, choose):
    """The clients' loop: each request's phase is ``choose(slice, client, request number)``. Returns
    each slice's latencies and errors per phase, its length and what ``sample`` saw used in it."""
    slices = max(1, round(seconds / slice_seconds))
    latencies: list[list[list[float]]] = [[[] for _ in phases] for _ in range(slices)]
    errors = [[0] * len(phases) for _ in range(slices)]
    began = time.monotonic()
    stop = began + seconds

    def slice_now() -> int:
        return min(slices - 1, int((time.monotonic() - began) / slice_seconds))

    async def client(k):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(think_ms / 1000 * k / clients)
        n = 0
        try:
            while time.monotonic() < stop and (requests is None or n < requests):
                current = slice_now()
                phase = choose(current, k, n)
                method, path, body_for = phases[phase]
                body = (body_for(k, n) or "").encode()
                target = path(k, n) if callable(path) else path
                head = (
                    f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                started = time.perf_counter()
                writer.write(head.encode() + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies[current][phase].append((time.perf_counter() - started) * 1000)
                if not status_line.split(b" ")[1].startswith(b"2"):
                    errors[current][phase] += 1
                n += 1
                if think_ms:
                    await asyncio.sleep(think_ms / 1000)
        finally:
            writer.close()

    async def sampler():
        samples = [sample()]
        for k in range(1, slices + 1):
            await asyncio.sleep(max(0.0, began + k * slice_seconds - time.monotonic()))
            samples.append(sample())
        return samples

    sampling = asyncio.ensure_future(sampler()) if sample else None
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = [min(slice_seconds, time.monotonic() - began - k * slice_seconds) for k in range(slices)]
    samples = await sampling if sampling else None
    used = [
        {key: samples[k + 1][key] - samples[k][key] for key in samples[k]} if samples else {} for k in range(slices)
    ]
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "used": used}


def summary(latencies: list[float], errors: int, elapsed: float) -> dict:
    """Requests, errors, requests per second and p50/p99 (ms) of the ``latencies`` (kept, sorted)."""
    latencies = sorted(latencies)
    if not latencies:
        return {"requests": 0, "errors": errors, "per_second": 0.0, "p50": math.nan, "p99": math.nan, "latencies": []}
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": percentile(latencies, 99),
        "latencies": latencies,
    }


def figures(result: dict) -> dict:
    """A result without its latencies, for --json."""
    return {key: value for key, value in result.items() if key != "latencies"}


def percentile(ordered: list[float], q: float) -> float:
    """The ``q``th percentile of sorted values (the value below which q % of them lie)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


INGEST_BATCH = 10_000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0, help="Per endpoint.")
    parser.add_argument(
        "--think-ms", type=float, default=100.0, help="Pause of each client between its requests (0: flat out)."
    )
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON line.")
    args = parser.parse_args()

    env = bench_env()
    tokens = prepare(env)
    with gunicorn(env):
        results = measure(int(env["GUNICORN_BIND"].rsplit(":", 1)[1]), tokens, args)
    if args.json:
        print(json.dumps({name: figures(result) for name, result in results.items()}))
    else:
        report(results, args)


def _ingest_body(k, n):
    return json.dumps(
        [
            {
                "userId": f"load-{i % 5000}",
                "questionId": f"q{i % 300}",
                "correct": i % 3 != 0,
                "eventId": f"load-{k}-{n}-{i}",
            }
            for i in range(INGEST_BATCH)
        ]
    )


def measure(port: int, tokens: dict, args) -> dict:
    """Each endpoint with pausing clients and flat out, then ingest flat out."""
    results = {}
    staff = tokens["staff"]
    for name, method, path, body_for in (
        ("healthz", "GET", "/healthz", lambda k, n: None),
        ("status", "GET", "/api/mlops/status", lambda k, n: None),
        ("production", "GET", "/api/mlops/production", lambda k, n: None),
        (
            "predict",
            "POST",
            "/api/mlops/predict",
            lambda k, n: json.dumps(
                {"userId": f"demo-user-{(k * 97 + n) % 2000}", "questionId": f"q{n % 300 + 1:04d}"}
            ),
        ),
    ):
        run_clients(port, 8, 1.0, method, path, staff, body_for)  # warm every worker
        results[name] = run_clients(port, args.clients, args.seconds, method, path, staff, body_for, args.think_ms)
        results[name + "_saturated"] = run_clients(port, args.clients, args.seconds / 2, method, path, staff, body_for)
    ingest = run_clients(port, 4, args.seconds, "POST", "/api/training-data", tokens["app"], _ingest_body)
    results["ingest"] = {**ingest, "answers_per_second": ingest["per_second"] * INGEST_BATCH}
    return results


def report(results: dict, args) -> None:
    """The figures as a table, each beside its target."""
    print(
        f"gunicorn on 127.0.0.1 (gunicorn.conf.py), SQLite, {args.clients} clients; each pauses "
        f"{args.think_ms:.0f} ms between requests ('flat out': no pause, the server's ceiling)"
    )
    print(f"{'endpoint':<22}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}  target")
    targets = {"status": 20, "predict": 50}
    for name in ("healthz", "status", "production", "predict"):
        for key, label in ((name, name), (name + "_saturated", f"{name}, flat out")):
            r = results[key]
            target = targets.get(key)
            verdict = "" if target is None else ("ok" if r["p99"] <= target else "MISSED") + f" (p99 <= {target} ms)"
            print(
                f"{label:<22}{r['requests']:>10}{r['per_second']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}"
                f"{r['errors']:>8}  {verdict}"
            )
    i = results["ingest"]
    verdict = "ok" if i["answers_per_second"] >= 20_000 else "MISSED"
    print(
        f"ingest: {i['answers_per_second']:,.0f} answers/s (4 clients flat out, batches of {INGEST_BATCH:,}; "
        f"p99 {i['p99']:.0f} ms)  {verdict} (>= 20,000/s)"
    )


if __name__ == "__main__":
    main()
