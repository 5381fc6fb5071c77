# MongoDB's tree: the same step as training_data/migrations/0006, which does nothing here.
# PostgreSQL only: each learner row keeps the count and key sum of the learner's answers, kept by
# statement triggers. The model state and other databases are unchanged.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0005_answer_keys_checked"),
    ]

    operations = []
