"""Everything MongoDB needs, in one place: used by settings.py when ``MONGODB_URI`` is set.

Through MongoDB's official django-mongodb-backend (5.2.x for Django 5.2): every model uses
``ObjectIdAutoField``; the contrib apps with models get app configs that say so
(``mlops_site.apps``); and every app's migrations live in a separate tree, ``mongo_migrations/``,
because the SQL migrations use integer primary keys.
"""

import os

from pymongo.uri_parser import parse_uri

OBJECT_ID_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
DEFAULT_DATABASE_NAME = "irt_retraining"

_CONTRIB_APP_CONFIGS = {
    "django.contrib.admin": "mlops_site.apps.MongoAdminConfig",
    "django.contrib.auth": "mlops_site.apps.MongoAuthConfig",
    "django.contrib.contenttypes": "mlops_site.apps.MongoContentTypesConfig",
}

# Apps with models, whose migrations come from mongo_migrations/<label>.
MIGRATED_APPS = (
    "admin",
    "auth",
    "contenttypes",
    "sessions",
    "token_blacklist",
    "training_data",
    "retraining",
    "webhooks",
)


def mongodb_settings(uri: str, installed_apps: list[str]) -> dict:
    """Settings overrides for a MongoDB deployment reached at ``uri``."""
    database = parse_uri(uri).get("database") or DEFAULT_DATABASE_NAME
    return {
        "DATABASES": {"default": {"ENGINE": "django_mongodb_backend", "HOST": uri, "NAME": database}},
        "INSTALLED_APPS": [_CONTRIB_APP_CONFIGS.get(app, app) for app in installed_apps],
        "DEFAULT_AUTO_FIELD": OBJECT_ID_FIELD,
        "MIGRATION_MODULES": {label: f"mongo_migrations.{label}" for label in MIGRATED_APPS},
        "DATABASE_ROUTERS": ["mlops_site.mongodb.OfflineRouter"],
    }


class OfflineRouter:
    """With ``MONGODB_OFFLINE=1`` no app may migrate: lets ``makemigrations --check`` verify the
    MongoDB migration tree without a server (it skips its migration-history check then)."""

    def allow_migrate(self, db, app_label, **hints):
        return False if os.environ.get("MONGODB_OFFLINE") == "1" else None
