# MongoDB's tree: the same fields as training_data/migrations/0005 (no foreign-key constraint; MongoDB
# has none to drop, and the integrity triggers there are for SQL databases only).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0004_postgresql_compact_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="trainingdata",
            name="learner",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="answers",
                to="training_data.learner",
            ),
        ),
        migrations.AlterField(
            model_name="trainingdata",
            name="question",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="answers",
                to="training_data.question",
            ),
        ),
    ]
