"""Benchmarks: speed, memory and quality, each beside a baseline measured in the same run.

    python3 tasks.py bench            # everything except girth on 1M answers (about 2 minutes)
    python3 tasks.py bench --full     # also girth on 20k x 500 x 50 (about 4 more minutes)
    python3 tasks.py bench --only irt # one section: irt, progress, modules, girth, assistments, e2e, write, api, load,
                                      # live, compare, params

Targets (2-core machine): 2PL on 1M answers <= 1.5 s fitting and <= 1 GB extra peak memory; >= 100x
faster than girth's twopl_mml with equal recovery; ASSISTments09 2PL held-out AUC >= 0.77 and
log-loss <= 0.535; the same with module deviations AUC >= 0.781 and log-loss <= 0.522, fitting 1M
answers with 50 modules in <= 3x the 2PL's time; end-to-end retrain of 1M stored answers <= 10 s on
SQLite with loading at most half of it and <= 1.5 GB peak; demo answers stored at >= 50,000/s on SQLite;
two versions compared on 1M answers neither trained on in <= 5 s; a version of 100k learners x 2,000
questions in a row of <= 256 KB, loaded into serving in < 200 ms.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from children import backends, child_env, child_json  # noqa: E402
from scale import section_scale  # noqa: E402

from retraining.irt import IRT, Heuristic, IdEncoder, ModuleIRT, metrics, simulate_2pl, simulate_2pl_modules  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "assistments09"


def table(title, header, rows):
    print(f"\n## {title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=True)))


def recovery(theta, a, b, ability, discrimination, difficulty):
    return tuple(
        round(float(np.corrcoef(x, y)[0, 1]), 4) for x, y in ((difficulty, b), (discrimination, a), (ability, theta))
    )


def fit_ours(users, items, correct, *more, make=lambda: IRT(model="2pl")):
    """(model, seconds, peak bytes): timed without tracing, then fitted again under tracemalloc
    (which slows allocation) for the peak of extra memory. ``make`` builds the estimator and
    ``more`` are extra arrays for its ``fit`` (the modules for ModuleIRT)."""
    start = time.perf_counter()
    model = make().fit(users, items, correct, *more)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    make().fit(users, items, correct, *more)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return model, seconds, peak


def section_irt(_args):
    rows = []
    for n_users, n_items, per_user in ((20_000, 500, 50), (50_000, 2_000, 20)):
        users, items, correct, theta, a, b = simulate_2pl(n_users, n_items, per_user)
        fit_ours(users[:1000], items[:1000], correct[:1000])  # warm-up
        model, seconds, peak = fit_ours(users, items, correct)
        r = recovery(theta, a, b, model.ability_, model.discrimination_, model.difficulty_)
        target = "<= 1.5 s, <= 1 GB" if seconds <= 1.5 and peak <= 2**30 else "MISSED (1.5 s, 1 GB)"
        rows.append(
            [
                f"{n_users}x{n_items}x{per_user}",
                len(correct),
                f"{seconds:.2f}",
                model.n_iter_,
                f"{peak / 2**20:.0f}",
                *r,
                target,
            ]
        )
    header = [
        "users x items x per-user",
        "answers",
        "fit s",
        "EM iters",
        "peak MiB",
        "r(b)",
        "r(a)",
        "r(theta)",
        "target",
    ]
    table("2PL fit on simulated answers (ours)", header, rows)


def section_modules(_args):
    """ModuleIRT against the 2PL on the same 1M simulated answers with 50 modules."""
    n_users, n_items, n_modules, per_user = 25_000, 500, 50, 50  # 1.25M answers: 1M to fit
    users, items, correct, modules, *_, delta = simulate_2pl_modules(
        n_users, n_items, n_modules, per_user, deviation_sd=0.5
    )
    held = np.random.default_rng(42).random(users.size) < 0.2
    fit = ~held
    fit_ours(users[:1000], items[:1000], correct[:1000])  # warm-up
    two_pl, base_s, base_peak = fit_ours(users[fit], items[fit], correct[fit])
    ours, ours_s, ours_peak = fit_ours(users[fit], items[fit], correct[fit], modules[fit], make=ModuleIRT)
    base = metrics.evaluate(correct[held], two_pl.predict_proba(users[held], items[held]))
    mine = metrics.evaluate(correct[held], ours.predict_proba(users[held], items[held], modules[held]))
    truth = delta[ours.deviation_users_, ours.deviation_modules_]
    r_delta = float(np.corrcoef(ours.deviation_, truth)[0, 1])
    ratio = ours_s / base_s
    rows = [
        [
            "2PL",
            f"{base_s:.2f}",
            "1.0x",
            f"{base_peak / 2**20:.0f}",
            f"{base['auc']:.4f}",
            f"{base['logLoss']:.4f}",
            "-",
            "",
        ],
        [
            f"2PL + module deviations (tau {ours.deviation_spread_:g})",
            f"{ours_s:.2f}",
            f"{ratio:.1f}x",
            f"{ours_peak / 2**20:.0f}",
            f"{mine['auc']:.4f}",
            f"{mine['logLoss']:.4f}",
            f"{r_delta:.3f}",
            "ok" if ratio <= 3 else "MISSED (<= 3x the 2PL fit)",
        ],
    ]
    header = ["model", "fit s", "vs 2PL", "peak MiB", "held-out AUC", "log-loss", "r(deviation)", "target"]
    title = f"Module deviations: {fit.sum():,} simulated answers, {n_modules} modules (true tau 0.5), 20 % held out"
    table(title, header, rows)
    pairs = ours.deviation_.size
    print(f"  {pairs:,} (learner, module) pairs, about {fit.sum() / pairs:.1f} answers each; same-run figures")


def section_girth(args):
    try:
        from girth import twopl_mml
    except ImportError:
        print("\n## girth comparison skipped: pip install -r bench/requirements.txt")
        return
    sizes = [(2_000, 100, 20)] + ([(20_000, 500, 50)] if args.full else [])
    rows = []
    for n_users, n_items, per_user in sizes:
        users, items, correct, theta, a, b = simulate_2pl(n_users, n_items, per_user)
        fit_ours(users, items, correct)  # warm-up
        model, ours = min((fit_ours(users, items, correct)[:2] for _ in range(3)), key=lambda pair: pair[1])
        ours_r = recovery(theta, a, b, model.ability_, model.discrimination_, model.difficulty_)
        dense = np.full((n_items, n_users), -99999, dtype=int)  # girth's missing-response marker
        dense[items, users] = correct
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = twopl_mml(dense)
        theirs = time.perf_counter() - start
        their_r = recovery(theta, a, b, result["Ability"], result["Discrimination"], result["Difficulty"])
        verdict = "ok" if theirs / ours >= 100 else "MISSED (>= 100x)"
        rows.append(
            [f"{n_users}x{n_items}x{per_user}", f"{ours:.2f}", f"{theirs:.1f}", f"{theirs / ours:.0f}x", verdict]
            + [f"{o} / {t}" for o, t in zip(ours_r, their_r, strict=True)]
        )
    header = ["size", "ours s (best of 3)", "girth s", "speed-up", "target", "r(b) ours/girth", "r(a)", "r(theta)"]
    table("2PL against girth.twopl_mml (same answers)", header, rows)
    if not args.full:
        print("  (girth on 20k x 500 x 50 takes minutes: add --full)")


def section_assistments(_args):
    if not (DATASET / "train.tsv").exists():
        print(f"\n## ASSISTments09 skipped: {DATASET} is absent")
        return
    rows = []
    for name in ("train.tsv", "test.tsv"):
        with (DATASET / name).open() as handle:
            reader = csv.reader(handle, delimiter="\t")
            next(reader)
            rows.extend(reader)
    users = IdEncoder().fit_encode(r[0] for r in rows)
    items = IdEncoder().fit_encode(r[1] for r in rows)
    modules = IdEncoder().fit_encode(r[4] for r in rows)  # skill -> module
    correct = np.array([int(r[3]) for r in rows])
    held = np.random.default_rng(42).random(correct.size) < 0.2
    sizes = {"n_users": int(users.max()) + 1, "n_items": int(items.max()) + 1}
    out = []
    train_mean = correct[~held].mean()
    constant = metrics.evaluate(correct[held], np.full(held.sum(), train_mean))
    out.append(["constant (train mean)", "-", "0.500", f"{constant['logLoss']:.4f}", f"{constant['accuracy']:.4f}", ""])
    for label, estimator in (
        ("heuristic (original)", Heuristic()),
        ("1PL", IRT(model="1pl")),
        ("2PL", IRT(model="2pl")),
    ):
        start = time.perf_counter()
        estimator.fit(users[~held], items[~held], correct[~held], **sizes)
        seconds = time.perf_counter() - start
        m = metrics.evaluate(correct[held], estimator.predict_proba(users[held], items[held]))
        target = ""
        if label == "2PL":
            target = "ok" if m["auc"] >= 0.77 and m["logLoss"] <= 0.535 else "MISSED (AUC >= 0.77, log-loss <= 0.535)"
        out.append([label, f"{seconds:.2f}", f"{m['auc']:.4f}", f"{m['logLoss']:.4f}", f"{m['accuracy']:.4f}", target])
    start = time.perf_counter()
    model = ModuleIRT().fit(users[~held], items[~held], correct[~held], modules[~held], **sizes)
    seconds = time.perf_counter() - start
    m = metrics.evaluate(correct[held], model.predict_proba(users[held], items[held], modules[held]))
    ok = m["auc"] >= 0.781 and m["logLoss"] <= 0.522
    target = "ok" if ok else "MISSED (AUC >= 0.781, log-loss <= 0.522)"
    label = f"2PL + module deviations (tau {model.deviation_spread_:g})"
    out.append([label, f"{seconds:.2f}", f"{m['auc']:.4f}", f"{m['logLoss']:.4f}", f"{m['accuracy']:.4f}", target])
    header = ["model", "fit s", "held-out AUC", "log-loss", "accuracy", "target"]
    table(f"ASSISTments09, response-level 20 % holdout (seed 42), {correct.size} answers", header, out)


def section_e2e(args):
    """End-to-end retrain of 1M stored answers, each backend in its own processes."""
    rows, loader_rows = [], []
    prepare = ["prepare", str(args.answers)]
    for label, env, prepared in _each_backend(Path(args.workdir) / "bench.sqlite3", prepare, "end-to-end"):
        result = _child(["retrain", str(args.answers)], env)
        load_ways = _child(["loaders", "200000"], env)
        loader_rows.append(
            [label] + [f"{load_ways[k]:.2f}" for k in ("orm_objects", "values_list", "chunked_columns_to_numpy")]
        )
        rows.append(_e2e_row(label, prepared, result))
    header = [
        "backend",
        "demo answers/s",
        "retrain s",
        "load",
        "split",
        "fit",
        "evaluate",
        "save",
        "peak MiB",
        "target",
    ]
    table(f"End-to-end retrain of {args.answers:,} stored answers (2PL, no deploy)", header, rows)
    print("  fit = the learning core alone on the same answers; demo answers/s: generate_demo_data's store rate")
    table(
        "Newest 200,000 answers into encoded numpy arrays (seconds; the retrain uses the raw cursor)",
        ["backend", "ORM objects", "values_list", "integer columns to numpy"],
        loader_rows,
    )


def _e2e_row(label: str, prepared: dict, result: dict) -> list:
    """One backend's retrain: its steps' seconds, peak memory and the SQLite target."""
    t = result["timings"]
    total = result["total"]
    ok = total <= 10 and t["load"] <= total / 2 and result["peak_mib"] <= 1536
    steps = [f"{t[step]:.2f}" for step in ("load", "split", "fit", "evaluate", "save")]
    return [
        label,
        f"{prepared['insert_rate']:,.0f}",
        f"{total:.2f}",
        *steps,
        f"{result['peak_mib']:.0f}",
        "ok" if ok or label != "SQLite" else "MISSED (<= 10 s, load <= half, <= 1.5 GB)",
    ]


def _each_backend(sqlite_file: Path, command: list[str], what: str):
    """``(label, environment, result of command)`` per backend; one whose run fails is skipped, saying why."""
    for label, url in backends(sqlite_file):
        env = child_env(url)
        try:
            result = _child(command, env)
        except RuntimeError as error:
            print(f"\n## {what} on {label} skipped: {error}")
            continue
        yield label, env, result


def section_compare(args):
    """compare(a, b) on 1M answers neither version trained on, beside loading those answers alone."""
    rows = []
    compare = ["compare", str(args.answers)]
    for label, _, r in _each_backend(Path(args.workdir) / "bench-compare.sqlite3", compare, "comparison"):
        ok = r["compare"] <= 5
        rows.append(
            [
                label,
                f"{r['answers']:,}",
                f"{r['load']:.2f}",
                f"{r['compare']:.2f}",
                f"{r['compare'] / r['load']:.1f}x",
                f"{r['cached'] * 1000:.1f}",
                f"{r['peak_mib'] - r['baseline_mib']:.0f}",
                "ok" if ok else "MISSED (<= 5 s)",
            ]
        )
    header = ["backend", "answers", "load alone s", "compare s", "vs load", "cached ms", "extra peak MiB", "target"]
    table("Two versions compared on the answers neither trained on (cold, then cached)", header, rows)
    print("  load alone = the same answers into numpy, the least a comparison must read (baseline)")


def _child(command, env, script="e2e.py"):
    return child_json(Path(__file__).with_name(script), command, env, timeout=900)


def section_api(args):
    """Ingest answers/s and predict latency through the API stack, on a fresh SQLite file."""
    url = f"sqlite:///{Path(args.workdir) / 'bench-api.sqlite3'}"
    Path(args.workdir, "bench-api.sqlite3").unlink(missing_ok=True)
    env = child_env(url, DJANGO_HTTPS="false", ALLOWED_HOSTS="testserver")
    result = _child(["api", "5"], env)
    rows = [
        ["ingest, batches of 1,000", f"{result['ingest_1000']:,.0f} answers/s", ">= 20,000/s"],
        ["ingest, batches of 10,000", f"{result['ingest_10000']:,.0f} answers/s", ">= 20,000/s"],
        ["predict, 100 pairs, p50", f"{result['predict_p50_ms']:.1f} ms", ""],
        ["predict, 100 pairs, max of 50", f"{result['predict_p99_ms']:.1f} ms", ""],
    ]
    table("API on SQLite (in-process WSGI client, JWT auth, 5 batches each)", ["what", "figure", "target"], rows)


def _run_script(name: str) -> None:
    """Run a benchmark script of this folder in its own processes, with its own defaults, and print
    its report (without the JSON log lines its servers write)."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(name))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in result.stdout.splitlines() if not line.startswith('{"time"')]
    print("\n".join(lines) if result.returncode == 0 else f"  failed: {result.stderr.strip()[-500:]}")


def section_write(args):
    """Answers stored per second through each door, each backend, beside bulk_create in the same run."""
    rows = []
    sqlite_file = Path(args.workdir) / "bench-write.sqlite3"
    for label, url in backends(sqlite_file):
        sqlite_file.unlink(missing_ok=True)
        env = child_env(url, DJANGO_HTTPS="false", ALLOWED_HOSTS="testserver")
        try:
            r = _child(["write", str(args.write_answers)], env)
        except RuntimeError as error:
            print(f"\n## writing on {label} skipped: {error}")
            continue
        demo_ok = r["demo"] >= 50_000 or label != "SQLite"
        ingest_ok = min(r["ingest_1000"], r["ingest_10000"]) >= 20_000
        rows.append(
            [
                label,
                f"{r['demo']:,.0f} ({r['demo'] / r['bulk_create']:.1f}x)",
                f"{r['ingest_1000']:,.0f}",
                f"{r['ingest_10000']:,.0f}",
                f"{r['bulk_create']:,.0f}",
                "ok" if demo_ok and ingest_ok else "MISSED (demo >= 50,000/s on SQLite, ingest >= 20,000/s)",
            ]
        )
    sqlite_file.unlink(missing_ok=True)
    header = [
        "backend",
        "demo answers/s (x baseline)",
        "API ingest 1,000s",
        "API ingest 10,000s",
        "bulk_create",
        "target",
    ]
    table(f"Answers stored per second: {args.write_answers:,} demo answers, then 5 API batches", header, rows)
    print("  bulk_create = Django's own bulk insert of the same stored demo rows (baseline, same run)")


def section_load(args):
    """gunicorn under 32 concurrent clients on 127.0.0.1 (bench/load.py, its own processes)."""
    print("\n## Load: gunicorn on 127.0.0.1 (bench/load.py)")
    _run_script("load.py")
    print("  healthz (no auth, one query) is the floor: what any request costs on this machine under this load")


def section_progress(args):
    """The retrain's progress callback (a lock-row UPDATE at most every PROGRESS_SECONDS) against a
    fit without one, and against writing every EM iteration, on the same answers (SQLite)."""
    env = child_env(f"sqlite:///{Path(args.workdir) / 'bench-progress.sqlite3'}")
    try:
        r = _child(["progress", "1000000"], env)
    except RuntimeError as error:
        print(f"\n## progress skipped: {error}")
        return
    rows = [
        [
            label,
            f"{r[f'{way}_s']:.2f}",
            f"{r[f'{way}_s'] / r['none_s']:.3f}",
            r[f"{way}_iterations"],
            r[f"{way}_writes"],
        ]
        for way, label in (
            ("none", "no progress (baseline)"),
            ("retrain", f"retrain's callback (every {r['interval']:g} s)"),
            ("every", "a write every EM iteration"),
        )
    ]
    table(
        f"2PL fit of {r['answers']:,} answers with live progress (median of 3, interleaved)",
        ["progress", "fit s", "x baseline", "EM iters", "lock writes"],
        rows,
    )


def section_live(args):
    """Serving between retrains under the load section's load (bench/live.py, its own processes)."""
    print("\n## Live: ability, live predict, next question on gunicorn (bench/live.py)")
    _run_script("live.py")


def section_params(args):
    """Where a version's parameters live: 100k learners x 2,000 questions, each way in the same run,
    on SQLite and, when DATABASE_URL points at PostgreSQL, there too (bench/params.py)."""
    url = f"sqlite:///{Path(args.workdir) / 'bench-params.sqlite3'}"
    Path(args.workdir, "bench-params.sqlite3").unlink(missing_ok=True)
    backends = [("SQLite", url)]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        backends.append(("PostgreSQL", os.environ["DATABASE_URL"]))
    rows = []
    for label, database in backends:
        env = {**os.environ, "DATABASE_URL": database, "DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "localhost"}
        env.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 30)
        env.setdefault("TRAINING_DATA_HASH_KEY", "bench-only-hash-key")
        try:
            r = _child(["100000", "2000"], env, script="params.py")
        except RuntimeError as error:
            print(f"\n## parameters on {label} skipped: {error}")
            continue
        now = r["now"]
        ok = now["row_bytes"] <= 256 * 1024 and now["load_s"] < 0.2
        for key, way in (("before", "JSON in the version row (before)"), ("rows", "a row per learner/question")):
            b = r[key]
            row = b.get("row_bytes")
            write, load = (f"{b['write_s']:.3f}", f"{b['write_peak_mib']:.0f}"), (b["load_s"], b["load_peak_mib"])
            kib = f"{row / 1024:,.1f}" if row else "-"
            rows.append([label, way, kib, *write, f"{load[0] * 1000:.0f}", f"{load[1]:.0f}", ""])
        rows.append(
            [
                label,
                f"summaries in the row, {now['artifact_bytes'] / 2**20:.1f} MiB .npz in {now['chunks']} chunk(s) (now)",
                f"{now['row_bytes'] / 1024:,.1f}",
                f"{now['write_s']:.3f}",
                f"{now['write_peak_mib']:.0f}",
                f"{now['load_s'] * 1000:.0f}",
                f"{now['load_peak_mib']:.0f}",
                "ok" if ok else "MISSED (row <= 256 KB, load < 200 ms)",
            ]
        )
        load = ", ".join(f"{x:.1f}" for x in r["loadavg"])
        rows.append(["", f"(load average {load})", "", "", "", "", "", ""])
    header = ["backend", "parameters stored as", "row KiB", "write s", "write MiB", "load ms", "load MiB", "target"]
    table("A version's parameters, 100,000 learners x 2,000 questions (medians of 3, same run)", header, rows)
    print("  load = into a serving StoredModel; MiB = Python's peak (tracemalloc) during the step")


SECTIONS = {
    "irt": section_irt,
    "progress": section_progress,
    "modules": section_modules,
    "girth": section_girth,
    "assistments": section_assistments,
    "e2e": section_e2e,
    "api": section_api,
    "write": section_write,
    "load": section_load,
    "live": section_live,
    "compare": section_compare,
    "params": section_params,
    "scale": section_scale,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="Also run girth on 1M answers (minutes).")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="Run only these sections.")
    parser.add_argument("--answers", type=int, default=1_000_000, help="Stored answers for the end-to-end run.")
    parser.add_argument("--write-answers", type=int, default=500_000, help="Demo answers for the write section.")
    parser.add_argument("--workdir", default="/tmp", help="Where the end-to-end SQLite file goes.")
    parser.add_argument(
        "--scale-answers",
        default="1000000",
        help="Scale section sizes, e.g. 1000000,5000000 (comma-separated).",
    )
    parser.add_argument("--scale-backends", default="sqlite,postgresql", help="Scale section backends.")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    for name in args.only or SECTIONS:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
