# MongoDB's tree: the same move as training_data/migrations/0003 (ObjectId keys; the data step copies
# through the ORM). Learners and questions stored once; answers reference them by integer keys, keep only what is per
# answer, and are identified by a 16-byte event key. Existing answers move with their keys.

import django.db.models.deletion
import django.utils.timezone
import django_mongodb_backend.fields
from django.db import migrations, models

import training_data.fields
from training_data.normalise import answers_denormalise, answers_normalise


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0002_learner_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="Learner",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "hash",
                    models.CharField(
                        help_text="Keyed HMAC-SHA256 of the app's user id; the raw id is never stored.",
                        max_length=64,
                        unique=True,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Question",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("question_id", models.CharField(max_length=255)),
                ("module", models.CharField(blank=True, default="", max_length=255)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("question_id", "module"), name="question_id_module_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="Answer",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("answered_at", training_data.fields.TimestampField()),
                (
                    "created_at",
                    training_data.fields.TimestampField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "difficulty",
                    models.FloatField(blank=True, help_text="Difficulty as the app labelled it, if any.", null=True),
                ),
                (
                    "learner",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="answers",
                        to="training_data.learner",
                    ),
                ),
                (
                    "question",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="answers",
                        to="training_data.question",
                    ),
                ),
                ("response_time_ms", models.PositiveIntegerField(blank=True, null=True)),
                ("correct", models.BooleanField()),
                (
                    "event_key",
                    models.BinaryField(
                        help_text="First 16 bytes of SHA-256 of the client's eventId: retries never duplicate an answer.",
                        max_length=16,
                        unique=True,
                    ),
                ),
            ],
            options={
                "verbose_name": "answer",
                "verbose_name_plural": "answers",
            },
        ),
        migrations.RunPython(answers_normalise, answers_denormalise),
        migrations.DeleteModel(name="TrainingData"),
        migrations.RenameModel(old_name="Answer", new_name="TrainingData"),
        migrations.AddIndex(
            model_name="trainingdata",
            index=models.Index(fields=["answered_at"], name="answers_answered_idx"),
        ),
        migrations.AddIndex(
            model_name="trainingdata",
            index=models.Index(fields=["learner", "question", "correct"], name="answers_learner_idx"),
        ),
    ]
