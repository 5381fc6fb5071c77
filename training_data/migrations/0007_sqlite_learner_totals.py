# SQLite only: each learner row keeps the count and the key sum of the learner's answers, as
# PostgreSQL's does since 0006, so a live-ability request learns that nothing changed from the
# learner's row alone. Without them SQLite summed the learner's entries in its covering index on
# every request: a warm ability of a learner with 2,000 answers took 278 us in one process, 135 us
# with the totals read from the row. SQLite has no statement triggers; its row triggers add one
# learner-row update per answer written, within the writer's statement (about 4 % of the demo
# data's insert rate; SQLite has one writer at a time, so nothing waits on them). Any writer keeps
# them, raw SQL too. The model state and other databases are unchanged.
#
# Django rebuilds a SQLite table to alter it, and a rebuild drops the table's triggers and the
# columns the model does not declare: tests/test_learner_totals.py checks them after all migrations.

from django.db import migrations

from training_data.postgresql_layout import on_database

ANSWERS, LEARNERS = "training_data_trainingdata", "training_data_learner"


def _add(sign: str, row: str) -> str:
    """Add (or take away) one answer, the trigger's ``row`` (NEW or OLD), to its learner's totals."""
    return (
        f"UPDATE {LEARNERS} SET answer_count = answer_count {sign} 1, answer_key_sum = answer_key_sum {sign} {row}.id"
        f" WHERE id = {row}.learner_id;"
    )


SQLITE = [
    f"ALTER TABLE {LEARNERS} ADD COLUMN answer_count integer NOT NULL DEFAULT 0",
    f"ALTER TABLE {LEARNERS} ADD COLUMN answer_key_sum integer NOT NULL DEFAULT 0",
    f"UPDATE {LEARNERS} SET (answer_count, answer_key_sum) ="
    f" (SELECT count(*), coalesce(sum(a.id), 0) FROM {ANSWERS} AS a WHERE a.learner_id = {LEARNERS}.id)",
    f"CREATE TRIGGER training_data_learner_totals_inserted AFTER INSERT ON {ANSWERS} BEGIN {_add('+', 'NEW')} END",
    f"CREATE TRIGGER training_data_learner_totals_deleted AFTER DELETE ON {ANSWERS} BEGIN {_add('-', 'OLD')} END",
    f"CREATE TRIGGER training_data_learner_totals_updated AFTER UPDATE OF id, learner_id ON {ANSWERS}"
    f" BEGIN {_add('-', 'OLD')} {_add('+', 'NEW')} END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER training_data_learner_totals_inserted",
    "DROP TRIGGER training_data_learner_totals_deleted",
    "DROP TRIGGER training_data_learner_totals_updated",
    f"ALTER TABLE {LEARNERS} DROP COLUMN answer_count",
    f"ALTER TABLE {LEARNERS} DROP COLUMN answer_key_sum",
]


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0006_postgresql_learner_totals"),
    ]

    operations = [
        migrations.RunPython(on_database("sqlite", SQLITE), on_database("sqlite", SQLITE_REVERSE)),
    ]
