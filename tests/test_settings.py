"""Settings come from the environment: storage backend per variable, secrets refused with debug off."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db.get("NAME")), "host": db.get("HOST"), "port": db.get("PORT"),
    "auto": settings.DEFAULT_AUTO_FIELD, "apps": settings.INSTALLED_APPS,
    "migrations": getattr(settings, "MIGRATION_MODULES", {}), "jwt": settings.JWT_SECRET == settings.SECRET_KEY,
}))
"""

SECRETS = {"DJANGO_SECRET_KEY": "s" * 50, "TRAINING_DATA_HASH_KEY": "h" * 40}


def probe(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGODB_URI")}
    # Empty values win over a local .env file, which is read without overwriting.
    base.update({"DATABASE_URL": "", "MONGODB_URI": "", "DJANGO_SETTINGS_MODULE": "mlops_site.settings"})
    base.update(env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def settings_for(**env):
    result = probe(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sqlite_file_by_default():
    chosen = settings_for(DJANGO_DEBUG="false", **SECRETS)
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert chosen["name"].endswith("db.sqlite3")
    assert chosen["jwt"], "JWT_SECRET falls back to the secret key"


def test_database_url_selects_postgresql():
    chosen = settings_for(DJANGO_DEBUG="false", DATABASE_URL="postgres://quiz:pw@db.internal:6543/irt", **SECRETS)
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert (chosen["name"], chosen["host"], chosen["port"]) == ("irt", "db.internal", 6543)


def test_database_url_accepts_an_absolute_sqlite_path():
    chosen = settings_for(DJANGO_DEBUG="false", DATABASE_URL="sqlite:////var/lib/irt/answers.db", **SECRETS)
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert chosen["name"] == "/var/lib/irt/answers.db"


def test_mongodb_uri_selects_django_mongodb_backend():
    chosen = settings_for(DJANGO_DEBUG="false", MONGODB_URI="mongodb://mongo.internal:27017/quiz", **SECRETS)
    assert chosen["engine"] == "django_mongodb_backend"
    assert chosen["name"] == "quiz"
    assert chosen["host"] == "mongodb://mongo.internal:27017/quiz"
    assert chosen["auto"] == "django_mongodb_backend.fields.ObjectIdAutoField"
    assert "mlops_site.apps.MongoAdminConfig" in chosen["apps"]
    assert "django.contrib.admin" not in chosen["apps"]
    assert chosen["migrations"]["retraining"] == "mongo_migrations.retraining"


def test_missing_secret_key_stops_start_up_with_debug_off():
    result = probe(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="", TRAINING_DATA_HASH_KEY="x" * 40)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_missing_hash_key_stops_start_up_with_debug_off():
    result = probe(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50, TRAINING_DATA_HASH_KEY="")
    assert result.returncode != 0
    assert "TRAINING_DATA_HASH_KEY is not set" in result.stderr


def test_debug_on_allows_development_secrets():
    chosen = settings_for(DJANGO_DEBUG="true", DJANGO_SECRET_KEY="", TRAINING_DATA_HASH_KEY="")
    assert chosen["engine"] == "django.db.backends.sqlite3"


def test_mongodb_migration_tree_is_complete_without_a_server():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MONGODB_URI": "mongodb://127.0.0.1:27017/irt", "MONGODB_OFFLINE": "1", "DJANGO_DEBUG": "true"})
    for command in (["check"], ["makemigrations", "--check", "--dry-run"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
