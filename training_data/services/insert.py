"""The fast bulk insert every door uses to store validated answer rows."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from ..fields import event_key, to_micros
from ..models import Learner, Question, TrainingData

# Column order of the rows handed to answers_insert (what answer_row returns).
COLUMNS = (
    "user_hash",
    "question_id",
    "module",
    "difficulty",
    "correct",
    "response_time_ms",
    "answered_at",
    "event_id",
    "created_at",
)
# Column order of a stored answer row, as the table declares them.
STORED = (
    "answered_at",
    "created_at",
    "difficulty",
    "learner_id",
    "question_id",
    "response_time_ms",
    "correct",
    "event_key",
)
# The PostgreSQL types of the STORED columns, for a binary COPY.
_PG_TYPES = ("timestamptz", "timestamptz", "float8", "int4", "int4", "int4", "bool", "bytea")
_CHUNK = 500  # values per IN (...) on SQLite (its parameter limit may be 999)


def answers_insert(rows: list[tuple]) -> int:
    """Insert validated answer rows (tuples in ``COLUMNS`` order); return how many were new.

    Learners and questions not stored yet are added first; each answer then references them by
    key. Rows whose event id is already stored are skipped (retries never duplicate an answer).
    Uses the fastest path of each backend: one ``executemany`` on SQLite, ``COPY`` into a
    temporary table on PostgreSQL, ``bulk_create`` elsewhere. Call it inside a transaction to
    make a multi-call import all-or-nothing.
    """
    if not rows:
        return 0
    with transaction.atomic():
        learners = learner_keys({row[0] for row in rows})
        questions = question_keys({(row[1], row[2]) for row in rows})
        return answers_store(
            [
                (
                    row[6],
                    row[8],
                    row[3],
                    learners[row[0]],
                    questions[row[1], row[2]],
                    row[5],
                    row[4],
                    event_key(row[7]),
                )
                for row in rows
            ]
        )


def answers_store(keyed: list[tuple]) -> int:
    """Store answer rows already keyed (tuples in ``STORED`` order); return how many were new.

    The learner and question keys must be stored, or the whole call is refused with an
    ``IntegrityError`` (PostgreSQL checks each statement's rows, see migration 0005; SQLite's batch
    is checked here, at once, rather than by its foreign keys at commit): no answer can reference a
    missing learner or question.
    """
    if not keyed:
        return 0
    vendor = connection.vendor
    with transaction.atomic():
        if vendor == "sqlite":
            return _insert_sqlite(keyed)
        if vendor == "postgresql":
            return _insert_postgresql(keyed)
        return _insert_orm(keyed)


def learner_keys(hashes: set[str]) -> dict[str, int]:
    """The keys of these learner hashes, storing the new ones."""
    table = Learner._meta.db_table
    wanted = sorted(hashes)  # one order for every writer: concurrent inserts cannot deadlock
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (hash) SELECT unnest(%s::varchar[]) ON CONFLICT (hash) DO NOTHING", [wanted]
            )
            cursor.execute(f"SELECT hash, id FROM {table} WHERE hash = ANY(%s)", [wanted])
            return dict(cursor.fetchall())
    if connection.vendor == "sqlite":
        found = {}
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT OR IGNORE INTO {table} (hash) VALUES (%s)", [(h,) for h in wanted])
            for begin in range(0, len(wanted), _CHUNK):
                part = wanted[begin : begin + _CHUNK]
                cursor.execute(f"SELECT hash, id FROM {table} WHERE hash IN ({', '.join(['%s'] * len(part))})", part)
                found.update(cursor.fetchall())
        return found
    found = dict(Learner.objects.filter(hash__in=wanted).values_list("hash", "pk"))
    Learner.objects.bulk_create([Learner(hash=h) for h in wanted if h not in found])
    return dict(Learner.objects.filter(hash__in=wanted).values_list("hash", "pk"))


def question_keys(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The keys of these (question id, module) pairs, storing the new ones."""
    table = Question._meta.db_table
    wanted = sorted(pairs)
    ids = sorted({question for question, _ in wanted})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (question_id, module) SELECT * FROM unnest(%s::varchar[], %s::varchar[]) "
                "ON CONFLICT (question_id, module) DO NOTHING",
                [[q for q, _ in wanted], [m for _, m in wanted]],
            )
            cursor.execute(f"SELECT question_id, module, id FROM {table} WHERE question_id = ANY(%s)", [ids])
            rows = cursor.fetchall()
    elif connection.vendor == "sqlite":
        rows = []
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT OR IGNORE INTO {table} (question_id, module) VALUES (%s, %s)", wanted)
            for begin in range(0, len(ids), _CHUNK):
                part = ids[begin : begin + _CHUNK]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(f"SELECT question_id, module, id FROM {table} WHERE question_id IN ({marks})", part)
                rows.extend(cursor.fetchall())
    else:
        stored = set(Question.objects.filter(question_id__in=ids).values_list("question_id", "module"))
        Question.objects.bulk_create([Question(question_id=q, module=m) for q, m in wanted if (q, m) not in stored])
        rows = Question.objects.filter(question_id__in=ids).values_list("question_id", "module", "pk")
    return {(question, module): key for question, module, key in rows if (question, module) in pairs}


def _table_and_columns():
    meta = TrainingData._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in STORED)
    return qn(meta.db_table), columns


def _insert_sqlite(keyed):
    table, columns = _table_and_columns()
    placeholders = ", ".join(["?"] * len(STORED))
    created = {}  # one batch usually shares its arrival time: convert it once
    prepared = [
        (to_micros(row[0]), created.get(row[1]) or created.setdefault(row[1], to_micros(row[1])), *row[2:])
        for row in keyed
    ]
    connection.ensure_connection()
    cursor = connection.connection.cursor()  # the sqlite3 cursor: no per-row placeholder rewriting
    try:
        cursor.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({placeholders})", prepared)
        # The rows this statement inserted: total_changes would also count the learner totals'
        # updates its triggers made (training_data 0007).
        inserted = cursor.rowcount
    finally:
        cursor.close()
    # After the insert: this transaction now holds SQLite's write lock, so no key can vanish before commit.
    _keys_check({row[3] for row in keyed}, {row[4] for row in keyed})
    return inserted


def _keys_check(learners: set, questions: set) -> None:
    """``IntegrityError`` unless every one of these learner and question keys is stored."""
    with connection.cursor() as cursor:
        for model, keys in ((Learner, sorted(learners)), (Question, sorted(questions))):
            found = 0
            for begin in range(0, len(keys), _CHUNK):
                part = keys[begin : begin + _CHUNK]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(f"SELECT count(*) FROM {model._meta.db_table} WHERE id IN ({marks})", part)
                found += cursor.fetchone()[0]
            if found != len(keys):
                raise IntegrityError(
                    f"{len(keys) - found} {model._meta.verbose_name} key(s) of these answers are not stored "
                    "(nothing stored): store the learner and the question first, as answers_insert does."
                )


def _insert_postgresql(keyed):
    table, columns = _table_and_columns()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS answers_incoming ON COMMIT DROP "
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE answers_incoming")
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        # Binary: no text formatting of each value in Python (about 6x faster than text COPY here).
        with raw.copy(f"COPY answers_incoming ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_PG_TYPES)
            for row in keyed:
                copy.write_row(row)
        # No conflict target: on PostgreSQL the event key is unique through an exclusion constraint.
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM answers_incoming ON CONFLICT DO NOTHING")
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE answers_incoming")
        return inserted


def _insert_orm(keyed):
    unique = {}
    for row in keyed:
        unique.setdefault(row[7], row)
    existing = set(TrainingData.objects.filter(event_key__in=list(unique)).values_list("event_key", flat=True))
    objects = [
        TrainingData(**dict(zip(STORED, row, strict=True))) for key, row in unique.items() if key not in existing
    ]
    TrainingData.objects.bulk_create(objects, batch_size=5000)
    return len(objects)
