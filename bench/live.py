"""Serving between retrains under load: live ability, predict (live) and next question, beside /healthz
(and /livez).

    python3 tasks.py bench --only live        (or: python bench/live.py [--seconds 20] [--clients 32])
    python bench/live.py --postgres postgres://postgres@127.0.0.1:5432/irt_live_bench   (a scratch database)

The same set-up and load as bench/load.py (a fresh SQLite database with 100,000 demo answers and a
deployed 2PL model, gunicorn with gunicorn.conf.py, 32 keep-alive clients each pausing 100 ms),
plus learners who answered 2,000 questions after the retrain (the worst case the target names) and
the quiz app's service account. Each endpoint is measured beside /healthz and /livez two ways, on
the same connections:

- interleaved (the target's comparison): every client's requests go endpoint, /healthz, endpoint,
  /livez, ..., 60 s an endpoint, so the endpoint and its baselines are asked at the same moments
  under the same traffic. Target: p99 <= 3x the /healthz p99, judged on the ratio's 90 % interval
  (slices of 2 s drawn again): ok when all of it is at most 3, MISSED when all of it is above,
  unsettled when it straddles 3.
- in turns: all clients on one of the three at a time, 2 s turns, 20 s each, so the server's CPU
  per request of each can be told apart; each is then under its own traffic (/healthz's p99 under a
  lighter load than the endpoint's), so these ratios are shown, not judged.

/healthz asks the database a query (a round trip on PostgreSQL); /livez does not, as /healthz did
not before, so the ratio over /livez's is the one to compare with earlier runs. What one request of
each costs with nothing queued (one client, back to back) is measured too, in turns with theirs:
the ratio of those costs is about where the ratio under load starts; and what each costs inside
one process, through Django's WSGI handler without gunicorn.
predict with "ability": "model" (the behaviour before live abilities) is measured too, as a baseline.
The figures are the steady state: before each measurement every worker is asked about every learner
(it then keeps their tallies). A learner's first request in a worker reads and scores all their
answers; that is measured apart, at the end, on learners nobody asked about before.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
from pathlib import Path

import environ

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import (
    bench_env,
    figures,
    gunicorn,
    percentile,
    prepare,
    run_alternating,
    run_clients,
    run_interleaved,
    scratch_database,
)

HEAVY_LEARNERS = 16
HEAVY_ANSWERS = 2000
CANDIDATES = 200
QUESTIONS = 300  # as bench/load.py's demo data
SLICE_SECONDS = 2.0
ALONE_SECONDS = 4.0
IN_PROCESS_ROUNDS, IN_PROCESS_CALLS = 20, 50
# What every endpoint is measured beside, in turns: /healthz (the target's baseline; it asks the
# database a query, a round trip on PostgreSQL) and /livez (the worker alone, no database: what
# /healthz cost before it asked the database).
NAMES = ("healthz", "livez")
CHECKS = tuple(("GET", f"/{name}", lambda k, n: None) for name in NAMES)
# Interleaved, each client's requests go: the endpoint, /healthz, the endpoint, /livez (indices into
# [*CHECKS, endpoint]), so the endpoint and its baselines are asked at the same moments under the
# same traffic; the target's verdict is on this comparison.
MIX = (2, 0, 2, 1)
TARGET = 3.0
WARM_CONNECTIONS = 64  # a worker of 4 gets none of them with odds of (3/4)**64, 1 in 10**8


def add_heavy_learners() -> str:
    """Learners with HEAVY_ANSWERS answers each, all newer than the model (``heavy-k``, asked under
    load, and ``first-k``, asked once each at the end); a serving account's token. They answered
    none of next-question's CANDIDATES (the questions after them), so all 200 are ranked."""
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
            user_id=f"{kind}-{k}",
            question_id=f"q{CANDIDATES + int(rng.integers(QUESTIONS - CANDIDATES)) + 1:04d}",
            correct=bool(rng.random() < 0.6),
            answered_at=now,
            event_id=f"{kind}-{k}-{n}",
            now=now,
        )
        # Interleaved, as answers from many learners arrive over time: a learner's 2,000 answers are
        # spread over the table's pages (about 750 on PostgreSQL), not stored side by side (about 25).
        for n in range(HEAVY_ANSWERS)
        for kind in ("heavy", "first")
        for k in range(HEAVY_LEARNERS)
    ]
    with transaction.atomic():
        answers_insert(rows)
    app = get_user_model().objects.create_user("live-app")
    app.user_permissions.add(Permission.objects.get(codename="serve_predictions"))
    return str(AccessToken.for_user(app))


def _process_cpu(stat: str) -> tuple[str, float]:
    """A process's name and CPU seconds used so far (user + system) by it and by its children that
    ended (the kernel adds theirs to the parent's once it has waited for them), from /proc/<pid>/stat."""
    fields = stat.rsplit(")", 1)[1].split()
    ticks = sum(int(fields[k]) for k in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return stat[stat.index("(") + 1 : stat.rindex(")")], ticks / os.sysconf("SC_CLK_TCK")


def database_total() -> float:
    """CPU seconds so far of PostgreSQL on this machine (the server and its backends): a backend that
    ended counts in its parent's figure, one that started counts from zero, so the difference of two
    totals is what was used between them."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            name, cpu = _process_cpu((entry / "stat").read_text()) if entry.name.isdigit() else ("", 0.0)
        except OSError:  # gone meanwhile
            continue
        if name == "postgres":
            total += cpu
    return total


def server_usage(pid: int) -> dict:
    """CPU seconds used so far and resident memory (MiB, now and peak) of gunicorn and its workers."""
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    cpu = rss = peak = 0.0
    for p in pids:
        cpu += _process_cpu(Path(f"/proc/{p}/stat").read_text())[1]
        status = dict(line.split(":", 1) for line in Path(f"/proc/{p}/status").read_text().splitlines() if ":" in line)
        rss += int(status["VmRSS"].split()[0]) / 1024
        peak += int(status["VmHWM"].split()[0]) / 1024
    return {"cpu": cpu, "rss_mib": rss, "peak_mib": peak}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    # 20 s an endpoint (~6,000 requests): a p99 set by the 60 slowest, not by 24 as in 8 s, whose
    # verdicts flipped between runs on this shared machine.
    parser.add_argument("--seconds", type=float, default=20.0, help="Per endpoint.")
    parser.add_argument("--think-ms", type=float, default=100.0, help="Pause of each client between requests.")
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON line.")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="Serve from this PostgreSQL database instead of a fresh SQLite file (a scratch database: dropped "
        "and created again), e.g. postgres://postgres@127.0.0.1:5432/irt_live_bench",
    )
    args = parser.parse_args()
    if args.seconds < SLICE_SECONDS:
        parser.error(f"--seconds must be at least {SLICE_SECONDS:g} (one turn of each endpoint, /healthz and /livez)")

    env = bench_env()
    if args.postgres:
        env["DATABASE_URL"] = args.postgres
        scratch_database(environ.Env.db_url_config(args.postgres), drop_first=True)
    prepare(env)
    token = add_heavy_learners()
    if args.postgres:  # done now, not by autovacuum in the middle of a measurement (it was, after the insert)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    results = []
    load_before = os.getloadavg()
    with gunicorn(env) as server:
        port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
        ranks_all_candidates(port, token)

        def measure(method, path, body_for):
            # Every worker keeps the tally of every learner it was asked about: WARM_CONNECTIONS
            # connections (each lands on a worker the kernel picks) ask about every learner once.
            run_clients(port, WARM_CONNECTIONS, 60.0, method, path, token, body_for, requests=HEAVY_LEARNERS)
            # /healthz, /livez and the endpoint take turns, SLICE_SECONDS each, on the same
            # connections: a stall of this shared machine lands on all alike, not on whichever ran then.
            phases = [*CHECKS, (method, path, body_for)]
            run = run_alternating(
                port,
                args.clients,
                len(phases) * args.seconds,
                phases,
                token,
                args.think_ms,
                slice_seconds=SLICE_SECONDS,
                sample=lambda: {
                    "server": server_usage(server.pid)["cpu"],
                    "database": database_total() if args.postgres else 0.0,
                },
            )
            usage = server_usage(server.pid)
            measured = [
                {
                    **result,
                    "server_cpu_ms": per_request_ms(result, "server"),
                    "database_cpu_ms": per_request_ms(result, "database"),
                    "rss_mib": usage["rss_mib"],
                    "peak_mib": usage["peak_mib"],
                }
                for result in run["phases"]
            ]
            period = len(phases)
            intervals = {name: ratio_interval(run["slices"], over=k, period=period) for k, name in enumerate(NAMES)}
            # The same requests interleaved on every connection, as long again: the comparison the
            # target is judged on (each phase of the turns above ran under its own traffic).
            mixed = run_interleaved(
                port,
                args.clients,
                len(phases) * args.seconds,
                phases,
                MIX,
                token,
                args.think_ms,
                slice_seconds=SLICE_SECONDS,
            )
            interleaved = {
                "healthz": mixed["phases"][0],
                "livez": mixed["phases"][1],
                "result": mixed["phases"][2],
                "ratio_interval": {
                    name: paired_interval([(part[k], part[-1]) for part in mixed["slices"]])
                    for k, name in enumerate(NAMES)
                },
            }
            return measured, intervals, interleaved

        for name, method, path, body_for in endpoints():
            (healthz, livez, result), intervals, interleaved = measure(method, path, body_for)
            results.append(
                {
                    "endpoint": name,
                    "healthz": healthz,
                    "livez": livez,
                    "result": result,
                    "ratio_interval": intervals,
                    "interleaved": interleaved,
                }
            )
        # What one request costs with nothing queued: one client, back to back, in 1 s turns with
        # /healthz and /livez. The ratio of these costs is about where the p99 ratio under load starts.
        alone = {}
        for name, method, path, body_for in endpoints():
            run = run_alternating(
                port,
                1,
                3 * ALONE_SECONDS,
                [*CHECKS, (method, path, body_for)],
                token,
                slice_seconds=1.0,
                sample=lambda: {"server": server_usage(server.pid)["cpu"]},
            )
            healthz, livez, result = run["phases"]
            alone[name] = {
                "server_cpu_ms": per_request_ms(result, "server"),
                "healthz_cpu_ms": per_request_ms(healthz, "server"),
                "livez_cpu_ms": per_request_ms(livez, "server"),
            }
        # A learner's first request in a worker reads and scores all their answers; one client and no
        # other load, beside learners its worker keeps, asked the same way right after.
        first = {
            kind: run_clients(
                port,
                1,
                60.0,
                "GET",
                lambda k, n, kind=kind: f"/api/mlops/learners/{kind}-{n}/ability",
                token,
                lambda k, n: None,
                requests=HEAVY_LEARNERS,
            )
            for kind in ("first", "heavy")
        }
    load_after = os.getloadavg()
    inside = in_process_costs(token)

    if args.json:
        measured = {
            "load_average": [load_before, load_after],
            "results": [
                {
                    **row,
                    **{key: figures(row[key]) for key in ("healthz", "livez", "result")},
                    "interleaved": {
                        key: figures(value) if key != "ratio_interval" else value
                        for key, value in row["interleaved"].items()
                    },
                }
                for row in results
            ],
            "alone": alone,
            "in_process": inside,
            "first_request": {kind: figures(result) for kind, result in first.items()},
        }
        print(json.dumps(measured))
        return
    report(results, args, load_before, load_after, alone, inside, first)


def ranks_all_candidates(port: int, token: str) -> None:
    """The measured next-question ranks every candidate (none excluded as answered), or the bench stops."""
    _, _, path, body_for = endpoints()[-1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", path, body_for(0, 0), headers)
    body = json.loads(connection.getresponse().read())
    connection.close()
    if body.get("candidates") != CANDIDATES or body.get("excluded") != 0 or len(body.get("questions", [])) != 5:
        raise SystemExit(f"next-question should rank all {CANDIDATES} candidates, got {body}")


def in_process_costs(token: str) -> dict[str, float]:
    """Milliseconds per request of /healthz and each endpoint called through Django's WSGI handler in
    this process: what a request costs without gunicorn, its sockets and its threads. The endpoints
    take turns of IN_PROCESS_CALLS calls, IN_PROCESS_ROUNDS times; the median turn of each counts."""
    import io
    import statistics
    import time

    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def call(method, path, body):
        body = (body or "").encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        statuses = []
        response = handler(environ, lambda status, headers: statuses.append(status))
        b"".join(response)
        response.close()
        if not statuses[0].startswith("2"):
            raise SystemExit(f"{method} {path} answered {statuses[0]} in this process")

    measured = (*((check[1], *check) for check in CHECKS), *endpoints())
    turns: dict[str, list[float]] = {name: [] for name, *_ in measured}
    for _ in range(IN_PROCESS_ROUNDS):
        for name, method, path, body_for in measured:
            started = time.perf_counter()
            for n in range(IN_PROCESS_CALLS):
                call(method, path(0, n) if callable(path) else path, body_for(0, n))
            turns[name].append((time.perf_counter() - started) * 1000 / IN_PROCESS_CALLS)
    return {name: statistics.median(times) for name, times in turns.items()}


def per_request_ms(result: dict, key: str) -> float:
    """Milliseconds of ``key`` (a sampled CPU total) a request of a phase of :func:`run_alternating` used."""
    return result["used"][key] * 1000 / max(result["requests"], 1)


def ratio_interval(slices, over: int = 0, period: int = 2) -> tuple[float, float]:
    """A 90 % interval of the endpoint's p99 (the last phase of each ``period`` neighbouring slices
    of :func:`run_alternating`) over phase ``over``'s (0: /healthz, 1: /livez): see
    :func:`paired_interval`, each round of turns a pair."""
    return paired_interval(
        [
            (slices[k + over][1]["latencies"], slices[k + period - 1][1]["latencies"])
            for k in range(0, len(slices) - period + 1, period)
        ]
    )


def paired_interval(pairs, draws: int = 2000) -> tuple[float, float]:
    """A 90 % interval of the ratio of p99s, endpoint over baseline, from ``pairs`` of (baseline
    latencies, endpoint latencies) measured at the same time (a round of turns, or a slice of the
    interleaved run): the pairs drawn with replacement, the ratio of the pooled p99s each time. Whole
    pairs are drawn, not single requests: a stall of the machine slows many requests at once."""
    import numpy as np

    def p99(values):
        return percentile(np.sort(np.concatenate(values)), 99)

    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(draws):
        drawn = rng.integers(len(pairs), size=len(pairs))
        ratios.append(p99([pairs[k][1] for k in drawn]) / p99([pairs[k][0] for k in drawn]))
    low, high = np.percentile(ratios, [5, 95])
    return float(low), float(high)


def verdict(interval: tuple[float, float]) -> str:
    """The target judged on the ratio's 90 % interval: met when all of it is at most TARGET, missed
    when all of it is above, unsettled when it straddles the line (this run cannot tell)."""
    low, high = interval
    if high <= TARGET:
        return "ok"
    return "MISSED" if low > TARGET else "unsettled"


def _heavy(k, n):
    return f"heavy-{(k + n) % HEAVY_LEARNERS}"


def endpoints() -> tuple:
    """``(name, method, path, body(client, request))`` of each endpoint measured, the heavy learners asking."""
    candidates = [f"q{k + 1:04d}" for k in range(CANDIDATES)]
    return (
        (
            "predict (model): today",
            "POST",
            "/api/mlops/predict",
            lambda k, n: json.dumps(
                {"userId": _heavy(k, n), "questionId": f"q{n % QUESTIONS + 1:04d}", "ability": "model"}
            ),
        ),
        ("ability", "GET", lambda k, n: f"/api/mlops/learners/{_heavy(k, n)}/ability", lambda k, n: None),
        (
            "predict (live)",
            "POST",
            "/api/mlops/predict",
            lambda k, n: json.dumps({"userId": _heavy(k, n), "questionId": f"q{n % QUESTIONS + 1:04d}"}),
        ),
        (
            f"next-question ({CANDIDATES})",
            "POST",
            "/api/mlops/next-question",
            lambda k, n: json.dumps({"userId": _heavy(k, n), "candidates": candidates, "count": 5}),
        ),
    )


def report(results, args, load_before, load_after, alone, inside, first):
    """Two tables, one row per endpoint. Interleaved: the endpoint beside /healthz and /livez asked
    at the same moments on the same connections, latency, the p99 ratios with their 90 % intervals and
    the target's verdict on them. In turns: each under its own traffic, with the server's CPU per
    request (what a request costs, whatever the queueing) and its memory; predict (live) is also set
    beside predict (model), the behaviour before live abilities."""
    print(
        f"gunicorn on 127.0.0.1, {'PostgreSQL' if args.postgres else 'SQLite'}, {args.clients} clients "
        f"pausing {args.think_ms:.0f} ms; learners with {HEAVY_ANSWERS:,} answers each, newer than the model; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(
        f"Interleaved: every client's requests go endpoint, /healthz, endpoint, /livez, ... "
        f"({3 * args.seconds:.0f} s an endpoint): the endpoint and its baselines at the same moments under the same "
        f"traffic. Target: p99 <= {TARGET:g}x /healthz's, judged on the 90 % interval"
    )
    print(
        f"{'endpoint':<24}{'p50 ms':>8}{'p99 ms':>8}  {'/healthz p50/p99':<17}{'p99 ratio (90 %)':>18}{'err':>5}  "
        f"{'target':<10}{'/livez p50/p99':<16}{'p99 over /livez (90 %)':>22}"
    )
    for row in results:
        mixed = row["interleaved"]
        r, h, live = mixed["result"], mixed["healthz"], mixed["livez"]
        (low, high), (live_low, live_high) = mixed["ratio_interval"]["healthz"], mixed["ratio_interval"]["livez"]
        judged = "" if "today" in row["endpoint"] else verdict((low, high))
        ratio_text = f"{r['p99'] / h['p99']:.2f} ({low:.2f}-{high:.2f})"
        livez_text = f"{r['p99'] / live['p99']:.2f} ({live_low:.2f}-{live_high:.2f})"
        errors = r["errors"] + h["errors"] + live["errors"]
        print(
            f"{row['endpoint']:<24}{r['p50']:>8.1f}{r['p99']:>8.1f}  {h['p50']:.1f}/{h['p99']:<13.1f}"
            f"{ratio_text:>18}{errors:>5}  {judged:<10}{live['p50']:.1f}/{live['p99']:<12.1f}{livez_text:>22}"
        )
    print(
        f"In turns: all {args.clients} clients on one of the three at a time, {SLICE_SECONDS:.0f} s turns on the same "
        f"connections, {args.seconds:.0f} s each: each under its own traffic (no verdict: /healthz's p99 is then "
        "measured under a lighter load than the endpoint's)"
    )
    print(
        f"{'endpoint':<24}{'req/s':>6}{'p50 ms':>8}{'p99 ms':>8}{'cpu ms/req':>11}{'RSS MiB':>9}"
        f"  {'/healthz p50/p99, cpu':<23}{'p99 ratio (90 %)':>18}{'err':>5}"
        f"   {'/livez p50/p99, cpu':<21}{'p99 over /livez (90 %)':>22}"
    )
    baseline = next(row["result"] for row in results if "today" in row["endpoint"])
    for row in results:
        r, h, live = row["result"], row["healthz"], row["livez"]

        def beside(check, name, row=row, r=r):
            low, high = row["ratio_interval"][name]
            return (
                f"{check['p50']:.1f}/{check['p99']:.1f}, {check['server_cpu_ms']:.2f}",
                f"{r['p99'] / check['p99']:.2f} ({low:.2f}-{high:.2f})",
            )

        (healthz, ratio_text), (livez, livez_ratio) = beside(h, "healthz"), beside(live, "livez")
        errors = r["errors"] + h["errors"] + live["errors"]
        print(
            f"{row['endpoint']:<24}{r['per_second']:>6.0f}{r['p50']:>8.1f}{r['p99']:>8.1f}{r['server_cpu_ms']:>11.2f}"
            f"{r['rss_mib']:>9.0f}  {healthz:<23}{ratio_text:>18}{errors:>5}"
            f"   {livez:<21}{livez_ratio:>22}"
        )
    if args.postgres:
        costs = ", ".join(f"{row['endpoint']} {row['result']['database_cpu_ms']:.2f}" for row in results)
        print(f"PostgreSQL's own CPU per request (ms; the server and its backends, beside gunicorn's): {costs}")
    costs = ", ".join(
        f"{name} {cost['server_cpu_ms']:.2f} ms against {cost['healthz_cpu_ms']:.2f} "
        f"({cost['server_cpu_ms'] / cost['healthz_cpu_ms']:.1f}x) and /livez's {cost['livez_cpu_ms']:.2f} "
        f"({cost['server_cpu_ms'] / cost['livez_cpu_ms']:.1f}x)"
        for name, cost in alone.items()
    )
    print(
        f"One request alone (one client, back to back, {ALONE_SECONDS:.0f} s each in 1 s turns with /healthz and "
        "/livez), "
        f"server CPU per request: {costs}"
    )
    costs = ", ".join(f"{name} {ms:.2f} ms" for name, ms in inside.items())
    print(f"The same requests inside this process, without gunicorn (in turns, median of {IN_PROCESS_ROUNDS}): {costs}")
    live = next(row["result"] for row in results if row["endpoint"] == "predict (live)")
    cpu = live["server_cpu_ms"] / baseline["server_cpu_ms"]
    peak = max(row["result"]["peak_mib"] for row in results)
    print(
        f"A learner's first request in a worker (ability; reads and scores all {HEAVY_ANSWERS:,} answers; one client, "
        f"no other load): p50 {first['first']['p50']:.1f} ms, max {first['first']['p99']:.1f} ms over "
        f"{HEAVY_LEARNERS} learners; a learner the worker keeps: p50 {first['heavy']['p50']:.1f} ms, "
        f"max {first['heavy']['p99']:.1f} ms"
    )
    print(
        f"predict (live) beside predict (model), same run: p50 {live['p50'] / baseline['p50']:.2f}x, "
        f"p99 {live['p99'] / baseline['p99']:.2f}x, cpu per request {cpu:.2f}x; "
        f"RSS: gunicorn's master and workers together (peak {peak:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
