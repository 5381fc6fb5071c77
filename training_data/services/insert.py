"""The fast bulk insert every door uses to store validated answer rows."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction

from ..models import TrainingData

# Column order of the rows handed to answers_insert.
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


def answers_insert(rows: list[tuple]) -> int:
    """Insert validated answer rows (tuples in ``COLUMNS`` order); return how many were new.

    Rows whose ``event_id`` is already stored are skipped (retries never duplicate an answer).
    Uses the fastest path of each backend: one ``executemany`` on SQLite, ``COPY`` into a
    temporary table on PostgreSQL, ``bulk_create`` elsewhere. Call it inside a transaction to
    make a multi-call import all-or-nothing.
    """
    if not rows:
        return 0
    vendor = connection.vendor
    if vendor == "sqlite":
        return _insert_sqlite(rows)
    if vendor == "postgresql":
        return _insert_postgresql(rows)
    return _insert_orm(rows)


def _table_and_columns():
    meta = TrainingData._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in COLUMNS)
    return qn(meta.db_table), columns, qn(meta.get_field("event_id").column)


def _naive_utc_text(value: datetime) -> str:
    # Exactly as Django's SQLite backend writes an aware datetime: naive UTC text.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ")


def _insert_sqlite(rows):
    table, columns, _ = _table_and_columns()
    placeholders = ", ".join(["?"] * len(COLUMNS))
    created = {}  # one batch usually shares its created_at: format it once
    prepared = [
        (
            *row[:6],
            _naive_utc_text(row[6]),
            row[7],
            created.get(row[8]) or created.setdefault(row[8], _naive_utc_text(row[8])),
        )
        for row in rows
    ]
    connection.ensure_connection()
    cursor = connection.connection.cursor()  # the sqlite3 cursor: no per-row placeholder rewriting
    try:
        before = connection.connection.total_changes
        cursor.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({placeholders})", prepared)
        return connection.connection.total_changes - before
    finally:
        cursor.close()


def _insert_postgresql(rows):
    table, columns, event_column = _table_and_columns()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS answers_incoming ON COMMIT DROP "
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE answers_incoming")
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY answers_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM answers_incoming "
            f"ON CONFLICT ({event_column}) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE answers_incoming")
        return inserted


def _insert_orm(rows):
    unique = {}
    for row in rows:
        unique.setdefault(row[7], row)
    existing = set(TrainingData.objects.filter(event_id__in=list(unique)).values_list("event_id", flat=True))
    objects = [
        TrainingData(**dict(zip(COLUMNS, row, strict=True))) for key, row in unique.items() if key not in existing
    ]
    TrainingData.objects.bulk_create(objects, batch_size=5000)
    return len(objects)
