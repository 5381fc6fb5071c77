"""One backend's half of the parameter-storage benchmark (run by bench/run.py in a fresh process each).

    params.py LEARNERS QUESTIONS   prints, as JSON, for a model of LEARNERS x QUESTIONS: the version
                                   row's bytes, write time, load-into-serving time and peak memory,
                                   the way versions store parameters (summaries in the row, arrays
                                   in ParameterChunk rows) beside the way they did before (every
                                   parameter as JSON in the row), on the database of DATABASE_URL

Before: a table like the old version row (``parameters`` a JSON column: jsonb on PostgreSQL, text
on SQLite), written with the dict the old packing built and read back with ``json.loads`` and the
dicts turned into arrays for serving. Now: ``parameters_save`` and the row's ``save`` in one
transaction, and ``StoredModel.from_version`` (one query for the chunks, decode, indexes).
Times are medians of 3 runs; peak memory is Python's (tracemalloc) during one more run of each.
"""

import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from retraining.models import ModelVersion  # noqa: E402
from retraining.parameter_set import ParameterSet, parameters_merge  # noqa: E402
from retraining.parameter_store import parameters_save  # noqa: E402
from retraining.serving import StoredModel  # noqa: E402

LEGACY_TABLE = "bench_legacy_modelversion"
RUNS = 3


def model_parameters(n_users: int, n_questions: int) -> tuple[dict, ParameterSet]:
    """Summaries and arrays of a fitted 2PL of this size (learner ids are 64-hex hashes, as stored)."""
    import hashlib

    rng = np.random.default_rng(0)
    arrays = ParameterSet(
        question_ids=[f"q{k:05d}" for k in range(n_questions)],
        difficulty=rng.normal(0, 1.2, n_questions),
        discrimination=np.exp(rng.normal(0, 0.3, n_questions)),
        answers=rng.integers(1, 5000, n_questions),
        success_rate=rng.random(n_questions),
        user_ids=[hashlib.sha256(f"learner-{k}".encode()).hexdigest() for k in range(n_users)],
        ability=rng.normal(0, 1, n_users),
        ability_sd=rng.uniform(0.2, 0.6, n_users),
    )
    summary = {"mean": 0.1, "variance": 1.0}
    summaries = {
        "difficulty": summary,
        "abilityEstimates": summary,
        "discrimination": summary,
        "coldStart": {"ability": 0.0, "difficulty": 0.1, "discrimination": 1.0},
        "fit": {"algorithm": "irt-2pl", "logLikelihood": -1e6, "iterations": 20, "converged": True},
    }
    return summaries, arrays


def row_bytes(table: str, pk: int) -> int:
    """Bytes of one row as the database hands it over (every column's value, serialised)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        row = cursor.fetchone()
    return sum(len(v if isinstance(v, bytes | memoryview) else str(v).encode()) for v in row if v is not None)


def timed(function, runs=RUNS) -> tuple[float, float]:
    """(median seconds of ``runs``, Python peak MiB of one more run under tracemalloc)."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(seconds), peak / 2**20


# ---------------------------------------------------------------------------------------- before
def legacy_setup() -> None:
    kind = "jsonb" if connection.vendor == "postgresql" else "text"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {LEGACY_TABLE}")
        cursor.execute(f"CREATE TABLE {LEGACY_TABLE} (id integer PRIMARY KEY, version varchar(32), parameters {kind})")


def legacy_write(summaries: dict, arrays: ParameterSet) -> None:
    parameters = parameters_merge(summaries, arrays)  # the dict the old packing built
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LEGACY_TABLE}")
        cursor.execute(
            f"INSERT INTO {LEGACY_TABLE} (id, version, parameters) VALUES (1, 'v1', %s)", [json.dumps(parameters)]
        )


def legacy_load() -> StoredModel:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT parameters FROM {LEGACY_TABLE} WHERE id = 1")
        value = cursor.fetchone()[0]
    parameters = json.loads(value) if isinstance(value, str) else value  # psycopg decodes jsonb itself
    summaries, arrays = ParameterSet.from_json(parameters)
    return StoredModel(summaries, arrays)


# ------------------------------------------------------------ the other candidate: a row per learner
ROWS_TABLE = "bench_learner_rows"
QUESTION_ROWS_TABLE = "bench_question_rows"


def rows_setup() -> None:
    with connection.cursor() as cursor:
        for table in (ROWS_TABLE, QUESTION_ROWS_TABLE):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {ROWS_TABLE} (version_id integer, position integer, user_hash varchar(64), "
            "ability double precision, ability_sd double precision, PRIMARY KEY (version_id, position))"
        )
        cursor.execute(
            f"CREATE TABLE {QUESTION_ROWS_TABLE} (version_id integer, position integer, question_id varchar(255), "
            "difficulty double precision, discrimination double precision, answers integer, "
            "success_rate double precision, PRIMARY KEY (version_id, position))"
        )


def rows_write(arrays: ParameterSet) -> None:
    """The fastest plain way per row: one executemany per table (bulk_create is slower, see notes)."""
    users = zip(arrays.user_ids, arrays.ability.tolist(), arrays.ability_sd.tolist(), strict=True)
    questions = zip(
        arrays.question_ids,
        arrays.difficulty.tolist(),
        arrays.discrimination.tolist(),
        arrays.answers.tolist(),
        arrays.success_rate.tolist(),
        strict=True,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ROWS_TABLE}")
        cursor.execute(f"DELETE FROM {QUESTION_ROWS_TABLE}")
        cursor.executemany(
            f"INSERT INTO {ROWS_TABLE} VALUES (1, %s, %s, %s, %s)",
            [(k, *row) for k, row in enumerate(users)],
        )
        cursor.executemany(
            f"INSERT INTO {QUESTION_ROWS_TABLE} VALUES (1, %s, %s, %s, %s, %s, %s)",
            [(k, *row) for k, row in enumerate(questions)],
        )


def rows_load() -> StoredModel:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_hash, ability, ability_sd FROM {ROWS_TABLE} WHERE version_id = 1 ORDER BY position"
        )
        user_ids, ability, sd = zip(*cursor.fetchall(), strict=True)
        cursor.execute(
            f"SELECT question_id, difficulty, discrimination, answers, success_rate FROM {QUESTION_ROWS_TABLE} "
            "WHERE version_id = 1 ORDER BY position"
        )
        question_ids, b, a, n, rate = zip(*cursor.fetchall(), strict=True)
    arrays = ParameterSet(
        question_ids=list(question_ids),
        difficulty=np.array(b),
        discrimination=np.array(a),
        answers=np.array(n),
        success_rate=np.array(rate),
        user_ids=list(user_ids),
        ability=np.array(ability),
        ability_sd=np.array(sd),
    )
    return StoredModel({}, arrays)


# ------------------------------------------------------------------------------------------- now
def version_write(version: ModelVersion, summaries: dict, arrays: ParameterSet) -> None:
    version.summaries = summaries
    with transaction.atomic():
        parameters_save(version, arrays)
        version.save()


def main(n_users: int, n_questions: int) -> dict:
    call_command("migrate", verbosity=0)
    ModelVersion.objects.filter(version="bench-params").delete()
    version = ModelVersion.objects.create(version="bench-params", number=2**31 - 1, status="completed")
    summaries, arrays = model_parameters(n_users, n_questions)
    legacy_setup()
    try:
        before_write = timed(lambda: legacy_write(summaries, arrays))
        before_load = timed(legacy_load)
        before_bytes = row_bytes(LEGACY_TABLE, 1)
        rows_setup()
        rows = {"write": timed(lambda: rows_write(arrays)), "load": timed(rows_load)}
        now_write = timed(lambda: version_write(version, summaries, arrays))
        now_load = timed(lambda: StoredModel.from_version(version))
        now_bytes = row_bytes(ModelVersion._meta.db_table, version.pk)
        artifact = sum(len(c) for c in version.parameter_chunks.values_list("data", flat=True))
        chunks = version.parameter_chunks.count()
        loaded = StoredModel.from_version(version)
        assert loaded.parameters.user_ids == arrays.user_ids
        assert np.array_equal(loaded.parameters.ability, arrays.ability)
    finally:
        with connection.cursor() as cursor:
            for table in (LEGACY_TABLE, ROWS_TABLE, QUESTION_ROWS_TABLE):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        version.delete()
    return {
        "vendor": connection.vendor,
        "learners": n_users,
        "questions": n_questions,
        "before": {"row_bytes": before_bytes, "write_s": before_write[0], "write_peak_mib": before_write[1]}
        | {"load_s": before_load[0], "load_peak_mib": before_load[1]},
        "now": {"row_bytes": now_bytes, "write_s": now_write[0], "write_peak_mib": now_write[1]}
        | {"load_s": now_load[0], "load_peak_mib": now_load[1], "artifact_bytes": artifact, "chunks": chunks},
        "rows": {"write_s": rows["write"][0], "write_peak_mib": rows["write"][1]}
        | {"load_s": rows["load"][0], "load_peak_mib": rows["load"][1]},
        "loadavg": os.getloadavg(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
