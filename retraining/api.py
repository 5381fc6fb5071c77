"""The /api/mlops endpoints: thin doors into the services and selectors, in the seed's JSON shapes."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from training_data.anonymise import hash_user_id

from . import selectors, services
from .errors import NoProductionModel
from .permissions import CanServePredictions
from .representations import production_body, retrain_body, version_detail, version_summary
from .serving import production_model

ERROR = inline_serializer("Error", {"error": serializers.CharField(), "code": serializers.CharField()})
METRICS_EXAMPLE = {"accuracy": 0.8423, "precision": 0.8512, "recall": 0.9034, "f1Score": 0.8765, "rmse": 0.3245}
METRICS_EXAMPLE |= {"mae": 0.2156, "auc": 0.8779, "logLoss": 0.4361, "brierScore": 0.1423, "ece": 0.0183}


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error and not a silent default."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(self.fields)}"
            )
        return attrs


class RetrainRequest(StrictSerializer):
    limit = serializers.IntegerField(required=False, min_value=1, help_text="Most recent answers to use.")
    autoDeploy = serializers.BooleanField(default=True)
    since = serializers.DateField(required=False, allow_null=True, help_text="Only answers on or after this date.")
    algorithm = serializers.ChoiceField(choices=services.ALGORITHMS, default="irt-2pl")
    split = serializers.ChoiceField(choices=services.SPLITS, default="random")
    wait = serializers.BooleanField(default=True, help_text="false: answer 202 at once and train in the background.")

    def validate_limit(self, value):
        if value > settings.MLOPS_MAX_LIMIT:
            raise serializers.ValidationError(f"at most {settings.MLOPS_MAX_LIMIT}")
        return value

    def validate_since(self, value):
        if value and value > date.today():
            raise serializers.ValidationError("must not be in the future")
        return value


RETRAIN_RESPONSE = OpenApiExample(
    "Retrained",
    value={
        "success": True,
        "version": "v2",
        "metrics": METRICS_EXAMPLE,
        "trainingDataCount": 1234,
        "duration": 2.45,
        "deployed": True,
        "decision": {"deploy": True, "reason": "accuracy 84.23% is above the 75.00% threshold and ..."},
    },
    response_only=True,
    status_codes=["200"],
)


class RetrainView(APIView):
    @extend_schema(
        summary="Trigger retraining",
        request=RetrainRequest,
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: ERROR, 409: ERROR, 422: ERROR},
        examples=[
            OpenApiExample(
                "Request", value={"limit": 10000, "autoDeploy": True, "since": "2024-01-01"}, request_only=True
            ),
            RETRAIN_RESPONSE,
            OpenApiExample(
                "Started",
                value={"success": True, "version": "v3", "status": "training", "statusUrl": "/api/mlops/status"},
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )
    def post(self, request):
        params = RetrainRequest(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        options = {
            "limit": data.get("limit"),
            "since": data.get("since"),
            "auto_deploy": data["autoDeploy"],
            "algorithm": data["algorithm"],
            "split": data["split"],
            "actor": request.user,
        }
        if not data["wait"]:
            version = services.retrain_start(**options)
            body = {"success": True, "version": version.version if version else None, "status": "training"}
            return Response({**body, "statusUrl": "/api/mlops/status"}, status=status.HTTP_202_ACCEPTED)
        return Response(retrain_body(services.retrain(**options)))


class StatusView(APIView):
    @extend_schema(
        summary="Retraining status",
        responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("Idle", value={"isTraining": False, "currentVersion": "v2"}, response_only=True)],
    )
    def get(self, request):
        return Response(selectors.training_status())


class VersionListQuery(StrictSerializer):
    status = serializers.ChoiceField(choices=[s.value for s in selectors.ModelVersion.Status], required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    offset = serializers.IntegerField(min_value=0, default=0)


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
        return Response(production_body(_production()))


def _production():
    version = selectors.production_version()
    if version is None:
        raise NoProductionModel()
    return version


class DeployView(APIView):
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


class PredictItem(StrictSerializer):
    userId = serializers.CharField(max_length=255, trim_whitespace=True)
    questionId = serializers.CharField(max_length=255, trim_whitespace=True)


class PredictView(APIView):
    permission_classes = [CanServePredictions]
    max_pairs = 1000

    @extend_schema(
        summary="P(correct) under the production model, for one pair or a list",
        request=PredictItem,
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
        examples=[
            OpenApiExample("One", value={"userId": "learner-42", "questionId": "q0007"}, request_only=True),
            OpenApiExample(
                "Prediction",
                value={
                    "version": "v2",
                    "userId": "learner-42",
                    "questionId": "q0007",
                    "probability": 0.7312,
                    "coldStart": False,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        many = isinstance(request.data, list)
        if many and not 1 <= len(request.data) <= self.max_pairs:
            raise serializers.ValidationError(f"send between 1 and {self.max_pairs} pairs")
        pairs = PredictItem(data=request.data, many=many)
        pairs.is_valid(raise_exception=True)
        items = pairs.validated_data if many else [pairs.validated_data]
        version_name, model = production_model()
        prediction = model.predict(
            [hash_user_id(item["userId"]) for item in items], [item["questionId"] for item in items]
        )
        results = [
            {
                "userId": item["userId"],
                "questionId": item["questionId"],
                "probability": round(float(p), 6),
                "coldStart": bool(cu or cq),
                "coldStartUser": bool(cu),
                "coldStartQuestion": bool(cq),
            }
            for item, p, cu, cq in zip(
                items, prediction.probability, prediction.cold_user, prediction.cold_question, strict=True
            )
        ]
        if many:
            return Response({"version": version_name, "predictions": results})
        return Response({"version": version_name, **results[0]})


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
            writer.writerow([row[k] for k in ("questionId", "difficulty", "discrimination", "answers", "successRate")])
        return out.getvalue().encode()


class ParametersQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=10_000, default=1000)
    offset = serializers.IntegerField(min_value=0, default=0)


class ProductionParametersView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

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
        version = _production()
        questions = (version.parameters or {}).get("questions") or {}
        page = list(questions.items())[offset : offset + limit]
        return Response(
            {
                "version": version.version,
                "count": len(questions),
                "limit": limit,
                "offset": offset,
                "questions": [{"questionId": q, **values} for q, values in page],
            }
        )
