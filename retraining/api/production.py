"""The production model: its body, its day-by-day monitoring and its parameters (JSON or CSV)."""

from __future__ import annotations

import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..representations import production_body
from ..services import monitoring
from ..serving import stored_model
from .common import ERROR, MAX_OFFSET, METRICS_EXAMPLE, StrictSerializer, production_or_404


class ProductionView(APIView):
    @extend_schema(
        summary="The production model",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
        examples=[
            OpenApiExample(
                "Production",
                value={
                    "model": {
                        "version": "v2",
                        "modelType": "irt-2pl",
                        "status": "deployed",
                        "isProduction": True,
                        "metrics": METRICS_EXAMPLE,
                        "parameters": {
                            "difficulty": {"mean": 0.52, "variance": 0.15},
                            "abilityEstimates": {"mean": 0.34, "variance": 0.22},
                            "discrimination": {"mean": 1.05, "variance": 0.08},
                        },
                        "deployedAt": "2024-01-15T10:30:00Z",
                    }
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        return Response(production_body(production_or_404()))


class MonitoringQuery(StrictSerializer):
    days = serializers.IntegerField(default=30, min_value=1, max_value=365, help_text="Days shown (1-365).")


class ProductionMonitoringView(APIView):
    @extend_schema(
        summary="The production model, watched day by day",
        description=(
            "Per day: the production version scored on the answers that arrived after its training cutoff "
            "(stored by `manage.py monitor`). `degraded`: its log-loss over the last MLOPS_MONITOR_WINDOW_DAYS days "
            "is worse than at deploy by more than MLOPS_DRIFT_TOLERANCE at 95 % confidence."
        ),
        parameters=[MonitoringQuery],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
    )
    def get(self, request):
        query = MonitoringQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return Response(monitoring.health(production_or_404(), days=query.validated_data["days"]).as_json())


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if "questions" not in (data or {}):
            return JSONRenderer().render(data)  # errors stay JSON
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["questionId", "difficulty", "discrimination", "answers", "successRate"])
        for row in data["questions"]:
            writer.writerow(
                [
                    spreadsheet_safe(row[k])
                    for k in ("questionId", "difficulty", "discrimination", "answers", "successRate")
                ]
            )
        return out.getvalue().encode()


# OWASP's rule for CSV injection: a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would evaluate gets a leading ``'`` (shown as text); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class ParametersQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=10_000, default=1000)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class ProductionParametersView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    def handle_exception(self, exc):
        # Errors are JSON under /api/, also when CSV was asked for.
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().handle_exception(exc)

    def perform_content_negotiation(self, request, force=False):
        if request.query_params.get("format") not in (None, "json", "csv"):
            return JSONRenderer(), JSONRenderer.media_type  # get() answers 400 for the format
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        summary="Per-question parameters of the production model (paginated; ?format=csv for CSV)",
        parameters=[
            ParametersQuery,
            OpenApiParameter("format", str, enum=["json", "csv"], required=False),
        ],
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
    )
    def get(self, request, format=None):
        fmt = request.query_params.get("format")
        if fmt not in (None, "json", "csv"):
            raise serializers.ValidationError({"format": f"must be json or csv, got {fmt!r}"})
        query = ParametersQuery(data={k: v for k, v in request.query_params.items() if k != "format"})
        query.is_valid(raise_exception=True)
        offset, limit = query.validated_data["offset"], query.validated_data["limit"]
        version = production_or_404()
        arrays = stored_model(version).parameters
        page = arrays.questions_json(offset, offset + limit)
        return Response(
            {
                "version": version.version,
                "count": len(arrays.question_ids),
                "limit": limit,
                "offset": offset,
                "questions": [{"questionId": q, **values} for q, values in page],
            }
        )
