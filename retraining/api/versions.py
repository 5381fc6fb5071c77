"""The versions: list, detail, comparison on the same answers, and deploy (or roll back)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import permissions, selectors, services
from ..representations import version_detail, version_summary
from ..services.comparison import compare_cached
from .common import ERROR, MAX_OFFSET, METRICS_EXAMPLE, StrictSerializer


class VersionListQuery(StrictSerializer):
    status = serializers.ChoiceField(choices=[s.value for s in selectors.ModelVersion.Status], required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class VersionListView(APIView):
    @extend_schema(
        summary="List model versions, newest first",
        operation_id="mlops_versions_list",
        parameters=[VersionListQuery],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR},
        examples=[
            OpenApiExample(
                "Versions",
                value={
                    "versions": [
                        {
                            "_id": "2",
                            "version": "v2",
                            "modelType": "irt-2pl",
                            "status": "deployed",
                            "isProduction": True,
                            "metrics": METRICS_EXAMPLE,
                            "trainingDataCount": 1234,
                            "deployedAt": "2024-01-15T10:30:00Z",
                            "createdAt": "2024-01-15T10:29:45Z",
                        }
                    ],
                    "count": 1,
                    "limit": 50,
                    "offset": 0,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = VersionListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        q = query.validated_data
        versions = selectors.versions_list(status=q.get("status"))
        page = versions[q["offset"] : q["offset"] + q["limit"]]
        return Response(
            {
                "versions": [version_summary(v) for v in page],
                "count": versions.count(),
                "limit": q["limit"],
                "offset": q["offset"],
            }
        )


class VersionDetailView(APIView):
    @extend_schema(
        summary='One version ("v2" or its primary key)',
        operation_id="mlops_version_retrieve",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
    )
    def get(self, request, version_id):
        return Response({"version": version_detail(selectors.version_get(version_id))})


COMPARE_EXAMPLE = OpenApiExample(
    "Compared",
    value={
        "a": "v3",
        "b": "v1",
        "answers": 2140,
        "selection": "fresh",
        "inSampleShare": {"v3": 0.0, "v1": 0.0},
        "coldStartShare": {"v3": 0.01, "v1": 0.08},
        "metrics": {"v3": METRICS_EXAMPLE, "v1": METRICS_EXAMPLE | {"accuracy": 0.5701, "logLoss": 1.0812}},
        "difference": {
            "logLoss": {"mean": -0.5213, "low": -0.5702, "high": -0.4724},
            "accuracy": {"mean": 0.1302, "low": 0.1121, "high": 0.1483},
            "brierScore": {"mean": -0.0901, "low": -0.0987, "high": -0.0815},
            "auc": 0.1412,
        },
        "verdict": {"logLoss": "better", "accuracy": "better", "brierScore": "better"},
        "method": "normal approximation: mean of the per-answer differences ± 1.96 standard errors",
        "dataCutoff": 1203344,
    },
    response_only=True,
)


class CompareView(APIView):
    @extend_schema(
        summary="Compare two versions on the same answers",
        description=(
            "Both versions scored on the same answers: by default the most recent answers neither trained on "
            "(widened to the newer version's held-out set below MLOPS_MIN_COMPARISON_ANSWERS, with the share each "
            "version trained on). `difference` is a minus b, per answer, with a 95 % interval. Cached per pair and "
            "newest answer."
        ),
        operation_id="mlops_version_compare",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR, 409: ERROR},
        examples=[COMPARE_EXAMPLE],
    )
    def get(self, request, version_id, other_id):
        a, b = selectors.version_get(version_id), selectors.version_get(other_id)
        return Response(compare_cached(a, b).as_json())


class DeployView(APIView):
    permission_classes = [IsAdminUser, permissions.may(permissions.DEPLOY)]

    @extend_schema(
        summary="Deploy a version (or roll back to it)",
        request=None,
        responses={200: OpenApiTypes.OBJECT, 404: ERROR, 409: ERROR},
        examples=[
            OpenApiExample(
                "Deployed",
                value={"success": True, "version": "v2", "deployedAt": "2024-01-15T10:30:00Z"},
                response_only=True,
            )
        ],
    )
    def post(self, request, version_id):
        version = selectors.version_get(version_id)
        services.version_deploy(version=version, actor=request.user, reason="deployed through the API")
        return Response(
            {
                "success": True,
                "version": version.version,
                "deployedAt": version.deployed_at.isoformat().replace("+00:00", "Z"),
            }
        )
