"""Settings, all read from the environment (and a local ``.env`` file when present).

Storage: SQLite file by default; PostgreSQL (or any URL django-environ understands) with
``DATABASE_URL``; MongoDB with ``MONGODB_URI`` (see ``mlops_site/mongodb.py``).
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A development-only value is accepted for a secret only while DEBUG is on.
_DEVELOPMENT_ONLY = "django-insecure-development-only-{}"


def _secret(name: str, fallback: str | None = None) -> str:
    value = env.str(name, default="") or fallback
    if value:
        return value
    if DEBUG:
        return _DEVELOPMENT_ONLY.format(name.lower())
    raise ImproperlyConfigured(
        f"{name} is not set. Set it in the environment (or .env) to a long random value, "
        f'e.g. python3 -c "import secrets; print(secrets.token_urlsafe(50))"; '
        "for local development only, DJANGO_DEBUG=true allows a development value."
    )


SECRET_KEY = _secret("DJANGO_SECRET_KEY")
TRAINING_DATA_HASH_KEY = _secret("TRAINING_DATA_HASH_KEY")
JWT_SECRET = _secret("JWT_SECRET", fallback=SECRET_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "common",
    "mlops_site.apps.SiteConfig",
    "training_data",
    "retraining",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mlops_site.middleware.BodySizeLimitMiddleware",
    "mlops_site.middleware.NulCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mlops_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "mlops_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mlops_site.wsgi.application"
ASGI_APPLICATION = "mlops_site.asgi.application"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if env.str("MONGODB_URI", default=""):
    from .mongodb import mongodb_settings

    _mongo = mongodb_settings(env.str("MONGODB_URI"), INSTALLED_APPS)
    DATABASES = _mongo["DATABASES"]
    INSTALLED_APPS = _mongo["INSTALLED_APPS"]
    DEFAULT_AUTO_FIELD = _mongo["DEFAULT_AUTO_FIELD"]
    MIGRATION_MODULES = _mongo["MIGRATION_MODULES"]
    DATABASE_ROUTERS = _mongo["DATABASE_ROUTERS"]
elif env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}

# Keep database connections between requests (re-checked before reuse): opening one per request
# costs more than most of our requests.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# PostgreSQL plans the serving reads (common.sql) once per connection, not on every request. Turn it
# off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
SQL_PREPARED_STATEMENTS = env.bool("SQL_PREPARED_STATEMENTS", default=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once; IMMEDIATE transactions avoid
    # deadlocking upgrades from read to write locks.
    # WAL lets readers work during a write; a 64 MB page cache keeps bulk inserts off the disk.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
        }
    )
    # Tests use a file, not a shared in-memory database: background retrains and live servers run
    # in other threads, and shared-cache memory databases lock whole tables without waiting.
    DATABASES["default"].setdefault("TEST", {"NAME": str(BASE_DIR / "test-db.sqlite3")})

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["mlops_site.formats"]  # dates with their time zone in the admin
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the admin's and the API docs' assets from the app server itself (after
# `manage.py collectstatic`); compressed copies are served to clients that accept them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# ---------------------------------------------------------------- HTTPS behind a TLS-terminating proxy
# On by default with debug off; DJANGO_HTTPS=false only for plain-HTTP use on a trusted network.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
HEALTH_CHECK_PATHS = [r"^(healthz|livez)$"]  # the proxy's and the process manager's checks: plain HTTP
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = HEALTH_CHECK_PATHS
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["mlops_site.tokens.Authentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PARSER_CLASSES": ["mlops_site.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "mlops_site.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_TOKEN_THROTTLE", default="10/min")},
    # The client address throttles count by: the socket's peer unless this many proxies in front of
    # the app append to X-Forwarded-For (then the address the outermost trusted proxy saw).
    "NUM_PROXIES": env.int("API_TRUSTED_PROXIES", default=0),
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "SIGNING_KEY": JWT_SECRET,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a digest of the password: after a change, those issued before are refused
    # (mlops_site/tokens.py also blacklists the user's refresh tokens then, and on deactivation).
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_REFRESH_SERIALIZER": "mlops_site.tokens.RefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IRT retraining service",
    "DESCRIPTION": "Retrain, evaluate, deploy and serve the quiz platform's IRT model; ingest answers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Throttle counters live here: with several web processes it must be shared (Redis), which the deploy
# check insists on with debug off (mlops_site/checks.py).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Request bodies: ingest of 10,000 answers fits well inside 10 MB; larger bodies are refused early.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
MLOPS_INGEST_MAX_ANSWERS = 10_000

# ---------------------------------------------------------------- retraining
MLOPS_AUTO_DEPLOY_THRESHOLD = env.float("MLOPS_AUTO_DEPLOY_THRESHOLD", default=0.75)
MLOPS_LOGLOSS_TOLERANCE = env.float("MLOPS_LOGLOSS_TOLERANCE", default=0.0)
# Comparisons use at least this many answers neither version trained on, else the held-out set.
MLOPS_MIN_COMPARISON_ANSWERS = env.int("MLOPS_MIN_COMPARISON_ANSWERS", default=500)
# Monitoring: the serving model is degraded when its log-loss over the last window is worse than at
# deploy by more than the tolerance (at 95 % confidence).
MLOPS_MONITOR_WINDOW_DAYS = env.int("MLOPS_MONITOR_WINDOW_DAYS", default=7)
MLOPS_DRIFT_TOLERANCE = env.float("MLOPS_DRIFT_TOLERANCE", default=0.05)
MLOPS_TRAINING_LEASE_SECONDS = env.int("MLOPS_TRAINING_LEASE_SECONDS", default=300)
MLOPS_DEFAULT_LIMIT = env.int("MLOPS_DEFAULT_LIMIT", default=10_000)
MLOPS_MAX_LIMIT = env.int("MLOPS_MAX_LIMIT", default=10_000_000)
MLOPS_VALIDATION_SPLIT = env.float("MLOPS_VALIDATION_SPLIT", default=0.2)
MLOPS_RANDOM_SEED = env.int("MLOPS_RANDOM_SEED", default=42)

# ---------------------------------------------------------------- jobs, webhooks, metrics
# Background work (API/admin retrains, webhook deliveries) is queued in the database and run by
# `manage.py db_worker` (django-tasks' database backend): no broker, nothing else to install.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_BACKOFF_SECONDS = env.float("WEBHOOK_BACKOFF_SECONDS", default=30.0)
# /metrics answers only requests with "Authorization: Bearer <METRICS_TOKEN>"; unset, it is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# One JSON object per line: the audit events (logger "irt.audit": retrain, deploy, refused request)
# and everything else. Request bodies, secrets and raw user ids are never logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "mlops_site.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {"irt.audit": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
