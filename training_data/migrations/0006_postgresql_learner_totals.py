# PostgreSQL only: each learner row keeps the count and the key sum of the learner's answers, kept
# by statement triggers over every INSERT, UPDATE and DELETE of answers (any writer, raw SQL too).
# A live-ability request compares them with what its process kept (retraining.live) without
# reading the learner's answers: on PostgreSQL those are table rows found through the GIN index on
# the learner, one page each once they are spread over the table, where SQLite reads its covering
# index. A statement locks its learners' rows (in key order, so two one-statement writers never
# deadlock on them) until its transaction commits. A bulk writer of many statements (an import,
# the demo data) sets training_data.learner_totals to 'deferred' for its transaction: its
# statements then only note their changes, and training_data_learner_totals_apply() adds them up
# in one statement at its end (training_data.postgresql_layout.learner_totals_deferred), so it
# holds no learner row for its whole run. The model state and other databases are unchanged.

from django.db import migrations

from training_data.postgresql_layout import on_postgresql

ANSWERS, LEARNERS = "training_data_trainingdata", "training_data_learner"


def _totals(table: str) -> str:
    """Per learner in ``table`` (answers): how many, and the sum of their keys."""
    return f"(SELECT learner_id, count(*) AS count, sum(id) AS keys FROM {table} GROUP BY learner_id)"


def _lock(tables: str) -> str:
    """Lock the rows of the learners in ``tables`` in key order: writers never wait on each other in a cycle."""
    return f"PERFORM 1 FROM {LEARNERS} AS l WHERE l.id IN ({tables}) ORDER BY l.id FOR NO KEY UPDATE;"


def _add(sign: str, table: str) -> str:
    return (
        f"UPDATE {LEARNERS} AS l SET answer_count = l.answer_count {sign} t.count,"
        f" answer_key_sum = l.answer_key_sum {sign} t.keys FROM {_totals(table)} AS t WHERE l.id = t.learner_id;"
    )


PENDING = "training_data_learner_totals_pending"  # a deferring transaction's changes, dropped at commit


def _note(sign: str, table: str) -> str:
    return f"INSERT INTO {PENDING} SELECT learner_id, {sign}count(*), {sign}sum(id) FROM {table} GROUP BY learner_id;"


POSTGRESQL = [
    f"ALTER TABLE {LEARNERS} ADD COLUMN answer_count bigint NOT NULL DEFAULT 0,"
    " ADD COLUMN answer_key_sum bigint NOT NULL DEFAULT 0",
    f"UPDATE {LEARNERS} AS l SET answer_count = t.count, answer_key_sum = t.keys"
    f" FROM {_totals(ANSWERS)} AS t WHERE l.id = t.learner_id",
    f"""
CREATE FUNCTION training_data_learner_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('training_data.learner_totals', true) = 'deferred' THEN
        CREATE TEMPORARY TABLE IF NOT EXISTS {PENDING}
            (learner_id integer NOT NULL, count bigint NOT NULL, keys numeric NOT NULL) ON COMMIT DROP;
        IF TG_OP <> 'DELETE' THEN
            {_note("", "new_answers")}
        END IF;
        IF TG_OP <> 'INSERT' THEN
            {_note("-", "old_answers")}
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        {_lock("SELECT learner_id FROM new_answers")}
        {_add("+", "new_answers")}
    ELSIF TG_OP = 'DELETE' THEN
        {_lock("SELECT learner_id FROM old_answers")}
        {_add("-", "old_answers")}
    ELSE
        {_lock("SELECT learner_id FROM old_answers UNION SELECT learner_id FROM new_answers")}
        {_add("-", "old_answers")}
        {_add("+", "new_answers")}
    END IF;
    RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION training_data_learner_totals_apply() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.{PENDING}') IS NULL THEN
        RETURN;
    END IF;
    {_lock(f"SELECT learner_id FROM {PENDING}")}
    UPDATE {LEARNERS} AS l SET answer_count = l.answer_count + t.count, answer_key_sum = l.answer_key_sum + t.keys
      FROM (SELECT learner_id, sum(count) AS count, sum(keys) AS keys FROM {PENDING} GROUP BY learner_id) AS t
     WHERE l.id = t.learner_id;
    TRUNCATE {PENDING};
END $$""",
    f"""
CREATE TRIGGER training_data_learner_totals_inserted AFTER INSERT ON {ANSWERS}
    REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT EXECUTE FUNCTION training_data_learner_totals()""",
    f"""
CREATE TRIGGER training_data_learner_totals_deleted AFTER DELETE ON {ANSWERS}
    REFERENCING OLD TABLE AS old_answers FOR EACH STATEMENT EXECUTE FUNCTION training_data_learner_totals()""",
    f"""
CREATE TRIGGER training_data_learner_totals_updated AFTER UPDATE ON {ANSWERS}
    REFERENCING OLD TABLE AS old_answers NEW TABLE AS new_answers
    FOR EACH STATEMENT EXECUTE FUNCTION training_data_learner_totals()""",
]
POSTGRESQL_REVERSE = [
    f"DROP TRIGGER training_data_learner_totals_inserted ON {ANSWERS}",
    f"DROP TRIGGER training_data_learner_totals_deleted ON {ANSWERS}",
    f"DROP TRIGGER training_data_learner_totals_updated ON {ANSWERS}",
    "DROP FUNCTION training_data_learner_totals()",
    "DROP FUNCTION training_data_learner_totals_apply()",
    f"ALTER TABLE {LEARNERS} DROP COLUMN answer_count, DROP COLUMN answer_key_sum",
]


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0005_answer_keys_checked"),
    ]

    operations = [
        migrations.RunPython(on_postgresql(POSTGRESQL), on_postgresql(POSTGRESQL_REVERSE)),
    ]
