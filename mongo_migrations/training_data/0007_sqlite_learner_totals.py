# MongoDB's tree: the same step as training_data/migrations/0007, which does nothing here.
# SQLite only: each learner row keeps the count and key sum of the learner's answers, kept by row
# triggers. The model state and other databases are unchanged.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0006_postgresql_learner_totals"),
    ]

    operations = []
