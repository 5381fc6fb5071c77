# PostgreSQL only: the answers' indexes replaced by smaller structures with the same roles (a hash
# exclusion constraint on the event key, BRIN on the key, a B-tree on the day, GIN on the learner),
# and the learner hash's pattern index dropped. The model state and other databases are unchanged.

from django.db import migrations

from training_data.postgresql_layout import layout_btree, layout_compact


class Migration(migrations.Migration):
    dependencies = [
        ("training_data", "0003_normalised_answers"),
    ]

    operations = [
        migrations.RunPython(layout_compact, layout_btree),
    ]
