# Answers keep their learner and question keys checked without PostgreSQL's foreign-key
# constraint, which runs a trigger (a key lookup and a row lock) per inserted answer: a third of a
# bulk insert's time there. Instead, on PostgreSQL, one check over all the rows of each
# INSERT/UPDATE statement (a transition table), and deleting (or re-keying) a learner or question
# that has answers fails after waiting for the writers in flight (a SHARE lock on the answers
# table), so no race leaves an orphan. SQLite keeps its constraint (deferred to commit, it costs
# no measurable insert time there; dropping it would rebuild the table); MongoDB has none.

from django.db import migrations, models

from training_data.postgresql_layout import on_postgresql

ANSWERS, LEARNERS, QUESTIONS = "training_data_trainingdata", "training_data_learner", "training_data_question"
REFERENCED = "cannot delete or re-key a learner or question that has answers"

POSTGRESQL = [
    f"""
CREATE FUNCTION training_data_answer_keys_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT count(*) INTO missing FROM new_answers AS n
     WHERE NOT EXISTS (SELECT 1 FROM {LEARNERS} AS l WHERE l.id = n.learner_id)
        OR NOT EXISTS (SELECT 1 FROM {QUESTIONS} AS q WHERE q.id = n.question_id);
    IF missing > 0 THEN
        RAISE EXCEPTION '% answer(s) reference a learner or question that is not stored (nothing stored)', missing
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Store the learner and the question first: answers_insert does.';
    END IF;
    RETURN NULL;
END $$""",
    f"""
CREATE TRIGGER training_data_answer_keys_inserted AFTER INSERT ON {ANSWERS}
    REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT EXECUTE FUNCTION training_data_answer_keys_check()""",
    f"""
CREATE TRIGGER training_data_answer_keys_updated AFTER UPDATE ON {ANSWERS}
    REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT EXECUTE FUNCTION training_data_answer_keys_check()""",
    f"""
CREATE FUNCTION training_data_answer_refs_protect() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    -- Waits for the writers in flight: their answers are then visible to the check below.
    LOCK TABLE {ANSWERS} IN SHARE MODE;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM {ANSWERS} WHERE %I = $1)', TG_ARGV[0]) INTO referenced USING OLD.id;
    IF referenced THEN
        RAISE EXCEPTION '{REFERENCED} (% %)', TG_TABLE_NAME, OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$""",
    f"""
CREATE TRIGGER training_data_learner_protected BEFORE DELETE OR UPDATE OF id ON {LEARNERS}
    FOR EACH ROW EXECUTE FUNCTION training_data_answer_refs_protect('learner_id')""",
    f"""
CREATE TRIGGER training_data_question_protected BEFORE DELETE OR UPDATE OF id ON {QUESTIONS}
    FOR EACH ROW EXECUTE FUNCTION training_data_answer_refs_protect('question_id')""",
]
POSTGRESQL_REVERSE = [
    f"DROP TRIGGER training_data_answer_keys_inserted ON {ANSWERS}",
    f"DROP TRIGGER training_data_answer_keys_updated ON {ANSWERS}",
    f"DROP TRIGGER training_data_learner_protected ON {LEARNERS}",
    f"DROP TRIGGER training_data_question_protected ON {QUESTIONS}",
    "DROP FUNCTION training_data_answer_keys_check()",
    "DROP FUNCTION training_data_answer_refs_protect()",
]


class AlterFieldOnPostgreSQL(migrations.AlterField):
    """The field changes in every database's state; the schema only on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0004_postgresql_compact_indexes"),
    ]

    operations = [
        AlterFieldOnPostgreSQL(
            model_name="trainingdata",
            name="learner",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.PROTECT,
                related_name="answers",
                to="training_data.learner",
            ),
        ),
        AlterFieldOnPostgreSQL(
            model_name="trainingdata",
            name="question",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.PROTECT,
                related_name="answers",
                to="training_data.question",
            ),
        ),
        migrations.RunPython(on_postgresql(POSTGRESQL), on_postgresql(POSTGRESQL_REVERSE)),
    ]
