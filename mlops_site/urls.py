import logging

from django.contrib import admin
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from pymongo.errors import PyMongoError
from rest_framework.permissions import AllowAny
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from common import sql
from mlops_site.metrics import metrics_view
from retraining import api as mlops
from training_data.api import TrainingDataView

logger = logging.getLogger(__name__)


class TokenView(TokenObtainPairView):
    """POST username and password for an access and a refresh token; throttled against guessing."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


class RefreshView(TokenRefreshView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


def healthz(request):
    """For the proxy and the process manager: the app answers and its database answers a query,
    else 503. A query, because a connection kept from an earlier request (``CONN_MAX_AGE``) is not
    checked by opening it: for up to a minute after the database went away a worker would say ok."""
    try:
        ask_database(connection)
    except (DatabaseError, PyMongoError) as error:
        logger.warning("healthz: the database did not answer: %s", error)
        body = {"status": "unavailable", "database": connection.vendor, "error": "the database did not answer"}
        return JsonResponse(body, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def livez(request):
    """For a process manager's liveness check: the worker answers, whatever its database does (a
    database outage is /healthz's 503, and restarting every worker would not mend it)."""
    return JsonResponse({"status": "ok"})


def ask_database(db) -> None:
    """A round trip to the database of ``db`` (a connection: the default one, for SQL)."""
    if db.vendor in sql.COMPILED_VENDORS:  # on a kept connection also Django's health check: see common.sql
        sql.fetch_one("SELECT 1", [])
    else:  # MongoDB: its client connects lazily; ping is its own health check
        db.ensure_connection()
        db.connection.admin.command("ping")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics_view, name="metrics"),
    # The quiz app's calls, many a second, before the others: each pattern tried before the match
    # costs a regular expression and a list kept on the request.
    path("api/mlops/predict", mlops.PredictView.as_view(), name="mlops-predict"),
    path("api/mlops/next-question", mlops.NextQuestionView.as_view(), name="mlops-next-question"),
    path("api/mlops/learners/<path:user_id>/ability", mlops.LearnerAbilityView.as_view(), name="mlops-learner-ability"),
    path("admin/", admin.site.urls),
    path("api/auth/token", TokenView.as_view(), name="token"),
    path("api/auth/token/refresh", RefreshView.as_view(), name="token-refresh"),
    path("api/training-data", TrainingDataView.as_view(), name="training-data"),
    path("api/mlops/retrain", mlops.RetrainView.as_view(), name="mlops-retrain"),
    path("api/mlops/status", mlops.StatusView.as_view(), name="mlops-status"),
    path("api/mlops/jobs/<str:job_id>", mlops.JobView.as_view(), name="mlops-job"),
    path("api/mlops/versions", mlops.VersionListView.as_view(), name="mlops-versions"),
    path("api/mlops/versions/<str:version_id>", mlops.VersionDetailView.as_view(), name="mlops-version"),
    path(
        "api/mlops/versions/<str:version_id>/compare/<str:other_id>",
        mlops.CompareView.as_view(),
        name="mlops-version-compare",
    ),
    path("api/mlops/production", mlops.ProductionView.as_view(), name="mlops-production"),
    path(
        "api/mlops/production/monitoring",
        mlops.ProductionMonitoringView.as_view(),
        name="mlops-production-monitoring",
    ),
    path(
        "api/mlops/production/parameters",
        mlops.ProductionParametersView.as_view(),
        name="mlops-production-parameters",
    ),
    path("api/mlops/deploy/<str:version_id>", mlops.DeployView.as_view(), name="mlops-deploy"),
    path("api/schema", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "api/docs",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]),
        name="docs",
    ),
]

handler403 = "mlops_site.forbidden.permission_denied"

# Refresh-token bookkeeping is the API's business, not something staff browse or edit.
for _model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

# Unknown paths and crashes under /api/ answer JSON like every other API error.
handler400 = "mlops_site.exceptions.bad_request"
handler404 = "mlops_site.exceptions.page_not_found"
handler500 = "mlops_site.exceptions.server_error"

admin.site.site_header = "IRT retraining"
admin.site.site_title = "IRT retraining"
admin.site.index_title = "Staff console"
admin.site.enable_nav_sidebar = False  # the breadcrumbs do its job; the lists need the width
