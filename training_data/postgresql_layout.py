"""How PostgreSQL indexes the answers table: the data step of migration 0004 (see README, "Scale").

Other databases keep the indexes the model declares. On PostgreSQL the same roles are played by
smaller structures, measured at 1M-5M answers as the demo writer and ingest write them:

- the event key's uniqueness: an exclusion constraint over a hash index (a 4-byte hash code per
  answer, the key itself compared in the row) instead of a unique B-tree of 16-byte keys. ``ON
  CONFLICT DO NOTHING`` (no target) and ``bulk_create(ignore_conflicts=True)`` honour it; a
  duplicate elsewhere raises an ``IntegrityError`` as before.
- the answer key ``id``: a BRIN index (one summary per 16 pages) instead of the primary key's
  B-tree. Keys come from the identity column, so they are unique and grow in arrival order, as
  the rows do in the table: key lookups and key ranges (a version's cutoff) read a few pages
  (see :func:`answer_keys_summarize`).
- "the most recent N answers" and "answered between": a B-tree on the answer's UTC day, whose
  duplicates PostgreSQL stores as posting lists; :mod:`training_data.recency` orders and filters
  by that day first, then by the exact time within it.
- one learner's answers (live ability): a GIN index on the learner key (compressed lists of row
  pointers); the learner's rows are then read from the table. Whether they changed since a process
  last read them is told by the count and key sum of the learner's answers, which the learner's
  row keeps (statement triggers, migration 0006): no answer row is read for that.
- the learner's hash: its unique B-tree only (the admin's prefix search is a range on it), not
  the extra pattern index Django adds for ``LIKE``.
"""

from __future__ import annotations

from contextlib import contextmanager

ANSWERS = "training_data_trainingdata"
LEARNERS = "training_data_learner"
# Columns of the learner row, kept by triggers (training_data 0006 on PostgreSQL, 0007 on SQLite):
# how many answers, their keys' sum.
LEARNER_TOTALS = "answer_count, answer_key_sum"
DAY = "date_trunc('day', answered_at AT TIME ZONE 'UTC')"  # the expression training_data.recency orders by

_COMPACT = [
    "DROP INDEX answers_answered_idx",
    "DROP INDEX answers_learner_idx",
    f"ALTER TABLE {ANSWERS} ADD CONSTRAINT answers_event_key_unique EXCLUDE USING hash (event_key WITH =)",
    f"CREATE INDEX answers_id_brin ON {ANSWERS} USING brin (id) WITH (pages_per_range = 16, autosummarize = on)",
    f"CREATE INDEX answers_answered_idx ON {ANSWERS} (({DAY}))",
    f"CREATE INDEX answers_learner_idx ON {ANSWERS} USING gin (learner_id) WITH (fastupdate = off)",
]
_BTREE = [
    "DROP INDEX answers_answered_idx",
    "DROP INDEX answers_learner_idx",
    "DROP INDEX answers_id_brin",
    f"ALTER TABLE {ANSWERS} DROP CONSTRAINT answers_event_key_unique",
    f"ALTER TABLE {ANSWERS} ADD CONSTRAINT training_data_answer_pkey PRIMARY KEY (id)",
    f"ALTER TABLE {ANSWERS} ADD CONSTRAINT training_data_answer_event_key_key UNIQUE (event_key)",
    f"CREATE INDEX answers_answered_idx ON {ANSWERS} (answered_at)",
    f"CREATE INDEX answers_learner_idx ON {ANSWERS} (learner_id, question_id, correct)",
    f"CREATE INDEX training_data_learner_hash_like ON {LEARNERS} (hash varchar_pattern_ops)",
]


def _constraints(cursor, table: str, kinds: str) -> list[str]:
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = ANY(%s)", [table, list(kinds)]
    )
    return [name for (name,) in cursor.fetchall()]


def _pattern_indexes(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s", [table, "%varchar_pattern_ops%"]
    )
    return [name for (name,) in cursor.fetchall()]


def layout_compact(apps, schema_editor):
    """PostgreSQL: the answers' B-trees replaced by the structures above (nothing elsewhere)."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")  # GIN over a plain integer column
        for name in _constraints(cursor, ANSWERS, "pu"):  # the primary key, the event key's unique
            cursor.execute(f"ALTER TABLE {ANSWERS} DROP CONSTRAINT {quote(name)}")
        for name in _pattern_indexes(cursor, LEARNERS):
            cursor.execute(f"DROP INDEX {quote(name)}")
        for statement in _COMPACT:
            cursor.execute(statement)


def answer_keys_summarize() -> None:
    """After a bulk load, summarize the key index's new page ranges (PostgreSQL; elsewhere nothing).

    A range left unsummarized is read whole by every key lookup. Autosummarize keeps up with a
    steady trickle of answers, but drops the requests of a bulk load past its queue (256), so
    the commands that load in bulk call this once their transaction has committed: it reads only
    the new pages, and takes a lock that would otherwise make concurrent loads wait on each other.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT brin_summarize_new_values('answers_id_brin')")


def layout_btree(apps, schema_editor):
    """Back to the model's own B-trees (the reverse of :func:`layout_compact`)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in _BTREE:
            cursor.execute(statement)


@contextmanager
def learner_totals_deferred():
    """Inside a transaction of many answer statements (an import, the demo data): the learner rows'
    answer totals (migration 0006) are added up once, when the block ends, not by each statement,
    so the transaction holds no learner row (which another writer of that learner's answers would
    wait for) until its end. PostgreSQL only; elsewhere nothing. Left without its end (an error),
    the transaction rolls back with everything it noted."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("learner_totals_deferred() needs a transaction: call it inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('training_data.learner_totals', 'deferred', true)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('training_data.learner_totals', '', true)")
        cursor.execute("SELECT training_data_learner_totals_apply()")


def on_database(vendor: str, statements):
    """A migration step that runs these SQL statements on one database (its Django vendor name,
    e.g. "postgresql" or "sqlite"), and nothing elsewhere."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == vendor:
            for statement in statements:
                schema_editor.execute(statement, None)  # no parameters: "%" is literal

    return run


def on_postgresql(statements):
    """A migration step that runs these SQL statements on PostgreSQL, and nothing elsewhere."""
    return on_database("postgresql", statements)
