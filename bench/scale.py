"""Answers at scale: bytes stored per answer, load, fit, end-to-end retrain and peak memory, per size
and backend, each beside today's way where one exists (the denormalised answers table and its loader,
recreated here from raw SQL and filled with the same generated answers).

Run by bench/run.py (``--only scale [--scale-answers 1000000,5000000]``); every phase in its own
process, whose peak resident memory (``ru_maxrss``) is reported:

scale.py prepare N     a fresh database with N demo answers, a million at a time (20,000 learners, 2,000 questions)
scale.py old N         the same answers copied into the old denormalised table, with its indexes; on PostgreSQL
                       also into the normalised table with the B-trees it had before its compact indexes
scale.py sizes N       bytes per answer: tables + indexes (SQLite dbstat, pg_total_relation_size), and each part
scale.py load_new N    load the newest N answers as the retrain does, then fit the 2PL on them
scale.py load_old N    the same with the old table and the old loader (one string per cell)
scale.py retrain N     ``retrain --limit N`` end to end (no deploy)
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD = "bench_old_answers"
BTREE = "bench_btree_answers"  # PostgreSQL: the normalised answers with their former B-trees
BTREE_LEARNERS = "bench_btree_learners"
NEW_TABLES = ["training_data_trainingdata", "training_data_learner", "training_data_question"]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from children import backends, child_env, child_json  # noqa: E402


# ----------------------------------------------------------------------------- parent (bench/run.py)
def section_scale(args):
    sizes = [int(size) for size in str(args.scale_answers).split(",") if size.strip()]
    wanted = {name.strip().lower() for name in str(args.scale_backends).split(",")}
    rows, parts = [], []
    for label, url in backends(Path(args.workdir) / "bench-scale.sqlite3"):
        if label.lower() not in wanted:
            continue
        env = child_env(url)
        for n in sizes:
            try:
                row, measured = _measure(label, n, env)
                rows.append(row)
                parts.append((label, n, measured))
                print("  measured:", " | ".join(rows[-1]), f"(load average {os.getloadavg()[0]:.1f})", flush=True)
            except RuntimeError as error:
                print(f"\n## scale on {label} at {n:,} skipped: {error}")
    header = ["backend", "answers", "B/answer", "(old)", "(B-trees)", "load s", "(old)", "fit s", "retrain s", "x fit"]
    header += ["retrain peak MiB", "load+fit peak MiB", "(old)", "demo answers/s"]
    table_print(f"Answers at scale (load average {os.getloadavg()[0]:.1f} at the end)", header, rows)
    print("  (old) = today's denormalised table and loader on the same answers, measured in the same run;")
    print("  (B-trees) = PostgreSQL: the same normalised answers with the B-tree indexes they had before;")
    print("  fit = the 2PL alone on the loaded arrays; x fit = end-to-end retrain over the fit alone (target <= 2.5)")
    for label, n, measured in parts:
        _parts_print(label, n, measured)


def _parts_print(label, n, sizes):
    """Bytes per answer of each table and index, per layout measured (target: total <= 150)."""
    print(f"\n## Where the bytes go: {label}, {n:,} answers (bytes per answer)")
    for layout, title in (("new", "today"), ("btree", "B-trees of before (same answers)"), ("old", "denormalised")):
        if layout not in sizes:
            continue
        named = sorted(sizes[f"{layout}_parts"].items(), key=lambda item: -item[1])
        shown = ", ".join(f"{name} {size / n:.1f}" for name, size in named if size / n >= 0.05)
        print(f"  {title}: {sizes[layout] / n:.1f} = {shown}")


def _measure(label, n, env) -> list:
    prepared = _child(["prepare", str(n)], env)
    _child(["old", str(n)], env)
    sizes = _child(["sizes", str(n)], env)
    new, old = _child(["load_new", str(n)], env), _child(["load_old", str(n)], env)
    retrained = _child(["retrain", str(n)], env)
    return [
        label,
        f"{n:,}",
        f"{sizes['new'] / n:.0f}",
        f"{sizes['old'] / n:.0f}",
        f"{sizes['btree'] / n:.0f}" if "btree" in sizes else "-",
        f"{new['load']:.2f}",
        f"{old['load']:.2f}",
        f"{new['fit']:.2f}",
        f"{retrained['total']:.2f}",
        f"{retrained['total'] / new['fit']:.2f}",
        f"{retrained['peak_mib']:.0f}",
        f"{new['peak_mib']:.0f}",
        f"{old['peak_mib']:.0f}",
        f"{prepared['insert_rate']:,.0f}",
    ], sizes


def table_print(title, header, rows):
    print(f"\n## {title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=True)))


def _child(command, env):
    return child_json(Path(__file__).resolve(), command, env, timeout=7200)


# ----------------------------------------------------------------------------- child (one phase)
def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(n):
    from django.db import connection

    from training_data.models import Learner, Question, TrainingData
    from training_data.services import demo_data_generate

    sys.path.insert(0, str(ROOT / "bench"))
    from e2e import database_reset

    if connection.vendor == "sqlite":
        Path(connection.settings_dict["NAME"]).unlink(missing_ok=True)
    database_reset()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {OLD}")
        cursor.execute(f"DROP TABLE IF EXISTS {BTREE}")
        cursor.execute(f"DROP TABLE IF EXISTS {BTREE_LEARNERS}")
    if connection.vendor == "postgresql":
        # A fresh start, as on SQLite: no dead rows counted. Not deleted row by row first: each
        # deleted question's foreign-key check would read the whole answers table at commit.
        with connection.cursor() as cursor:
            tables = ", ".join(m._meta.db_table for m in (TrainingData, Learner, Question))
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        TrainingData.objects.all().delete()
        Learner.objects.all().delete()
        Question.objects.all().delete()
    start = time.perf_counter()
    inserted = 0
    for begin in range(0, n, 1_000_000):  # a million at a time: the generator holds its rows in memory
        size = min(1_000_000, n - begin)
        inserted += demo_data_generate(users=max(size // 50, 1), questions=2000, answers=size, seed=begin + 1)[0]
    seconds = time.perf_counter() - start
    _analyze()
    return {"inserted": inserted, "insert_rate": inserted / seconds}


def _analyze():
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


_OLD_DDL = {
    # Exactly what training_data 0001 + 0002 created (manage.py sqlmigrate), under another name.
    "sqlite": [
        f'CREATE TABLE {OLD} ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "user_hash" varchar(64) NOT NULL, '
        '"question_id" varchar(255) NOT NULL, "module" varchar(255) NOT NULL, "difficulty" real NULL, '
        '"correct" bool NOT NULL, "response_time_ms" integer unsigned NULL CHECK ("response_time_ms" >= 0), '
        '"answered_at" datetime NOT NULL, "event_id" varchar(255) NOT NULL UNIQUE, "created_at" datetime NOT NULL)',
    ],
    "postgresql": [
        f'CREATE TABLE {OLD} ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, '
        '"user_hash" varchar(64) NOT NULL, "question_id" varchar(255) NOT NULL, "module" varchar(255) NOT NULL, '
        '"difficulty" double precision NULL, "correct" boolean NOT NULL, "response_time_ms" integer NULL '
        'CHECK ("response_time_ms" >= 0), "answered_at" timestamp with time zone NOT NULL, '
        '"event_id" varchar(255) NOT NULL UNIQUE, "created_at" timestamp with time zone NOT NULL)',
        f'CREATE INDEX old_event_like ON {OLD} ("event_id" varchar_pattern_ops)',
    ],
}
_OLD_INDEXES = [
    f'CREATE INDEX old_answered_idx ON {OLD} ("answered_at", "id")',
    f'CREATE INDEX old_created_idx ON {OLD} ("created_at")',
    f'CREATE INDEX old_question_idx ON {OLD} ("question_id")',
    f'CREATE INDEX old_user_idx ON {OLD} ("user_hash")',
]


_BTREE_DDL = [
    # The normalised answers and learners as migration 0003 left them on PostgreSQL (its B-trees and
    # the learner hash's pattern index), indexes first, filled in key order as the writers store them.
    f"CREATE TABLE {BTREE} (LIKE training_data_trainingdata)",
    f"ALTER TABLE {BTREE} ADD PRIMARY KEY (id), ADD UNIQUE (event_key)",
    f"CREATE INDEX btree_answered_idx ON {BTREE} (answered_at)",
    f"CREATE INDEX btree_learner_idx ON {BTREE} (learner_id, question_id, correct)",
    f"INSERT INTO {BTREE} SELECT * FROM training_data_trainingdata ORDER BY id",
    f"CREATE TABLE {BTREE_LEARNERS} (LIKE training_data_learner)",
    f"ALTER TABLE {BTREE_LEARNERS} ADD PRIMARY KEY (id), ADD UNIQUE (hash)",
    f"CREATE INDEX btree_learner_hash_like ON {BTREE_LEARNERS} (hash varchar_pattern_ops)",
    f"INSERT INTO {BTREE_LEARNERS} SELECT * FROM training_data_learner ORDER BY id",
]


def old(n):
    """The old table, its indexes created first (as they were while answers arrived), then filled
    with the same answers in key order; event ids as the demo generator writes them."""
    from django.db import connection, transaction

    vendor = connection.vendor
    if vendor == "sqlite":
        text = "strftime('%Y-%m-%d %H:%M:%S', {0} / 1000000, 'unixepoch') || printf('.%06d', {0} % 1000000)"
        answered, created = text.format("a.answered_at"), text.format("a.created_at")
    else:
        answered, created = "a.answered_at", "a.created_at"
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in _OLD_DDL[vendor] + _OLD_INDEXES:
            cursor.execute(statement)
        cursor.execute(
            f"INSERT INTO {OLD} (id, user_hash, question_id, module, difficulty, correct, response_time_ms, "
            "answered_at, event_id, created_at) "
            f"SELECT a.id, l.hash, q.question_id, q.module, a.difficulty, a.correct, a.response_time_ms, {answered}, "
            f"'demo-1-' || a.id, {created} FROM training_data_trainingdata a "
            "JOIN training_data_learner l ON l.id = a.learner_id JOIN training_data_question q ON q.id = a.question_id "
            "ORDER BY a.id"
        )
        if vendor == "postgresql":
            for statement in _BTREE_DDL:
                cursor.execute(statement)
    _analyze()
    return {"seconds": time.perf_counter() - start}


def sizes(n):
    """Bytes of each layout: its total and each part (a table's rows, each of its indexes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            layouts = {"new": NEW_TABLES, "old": [OLD], "btree": [BTREE, BTREE_LEARNERS, "training_data_question"]}
            return _totals({name: _pg_parts(cursor, tables) for name, tables in layouts.items()})
        cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type IN ('table', 'index')")
        owner = dict((name, table) for table, name in cursor.fetchall())
        cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        parts = {"new": {}, "old": {}}
        for name, size in cursor.fetchall():
            table = owner.get(name, name)
            if table in NEW_TABLES or table == OLD:
                parts["new" if table in NEW_TABLES else "old"][name] = size
        return _totals(parts)


def _pg_parts(cursor, tables) -> dict:
    """Each table (rows, TOAST and maps) and each of its indexes, in bytes."""
    cursor.execute(
        "SELECT c.relname, pg_table_size(c.oid) FROM pg_class c WHERE c.oid = ANY(%s::regclass[]) "
        "UNION ALL SELECT i.relname, pg_total_relation_size(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = ANY(%s::regclass[])",
        [tables, tables],
    )
    return dict(cursor.fetchall())


def _totals(parts: dict) -> dict:
    return {**{name: sum(named.values()) for name, named in parts.items()}} | {
        f"{name}_parts": named for name, named in parts.items()
    }


def load_new(n):
    from retraining.irt import IRT
    from retraining.selectors import answers_load

    start = time.perf_counter()
    data = answers_load(limit=n, with_labels=False)
    load = time.perf_counter() - start
    return {"load": load, **_fit(data.users, data.items, data.correct, IRT)}


def load_old(n):
    """Today's loader on today's table: a raw cursor, every cell a Python object, ids encoded with dicts."""
    import gc

    import numpy as np
    from django.db import connection

    from retraining.irt import IRT

    def encode(values):
        distinct = list(dict.fromkeys(values))
        index = {value: k for k, value in enumerate(distinct)}
        return np.fromiter(map(index.__getitem__, values), np.int64, len(values)), distinct

    start = time.perf_counter()
    gc.disable()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, user_hash, question_id, correct, module FROM {OLD} "
            "ORDER BY answered_at DESC, id DESC LIMIT %s",
            [n],
        )
        rows = cursor.fetchall()
    ids, users, questions, correct, modules = zip(*rows, strict=True)
    users, _ = encode(users)
    items, _ = encode(questions)
    encode(modules)
    outcome = np.fromiter(correct, np.int8, len(rows))
    np.fromiter(ids, np.int64, len(rows))
    gc.enable()
    load = time.perf_counter() - start
    return {"load": load, **_fit(users, items, outcome, IRT)}


def _fit(users, items, correct, IRT) -> dict:
    start = time.perf_counter()
    IRT(model="2pl").fit(users, items, correct)
    return {"fit": time.perf_counter() - start, "peak_mib": _peak_mib()}


def retrain(n):
    from retraining import services

    start = time.perf_counter()
    result = services.retrain(limit=n, auto_deploy=False, actor_name="bench")
    return {"total": time.perf_counter() - start, "timings": result.timings, "peak_mib": _peak_mib()}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")
    import django

    django.setup()
    action, count = sys.argv[1], int(sys.argv[2])
    actions = {f.__name__: f for f in (prepare, old, sizes, load_new, load_old, retrain)}
    print(json.dumps(actions[action](count)))
