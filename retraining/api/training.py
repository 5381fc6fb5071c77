"""Retrain (at once or queued as a job), the job's state and the training status."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import permissions, selectors, services
from ..representations import job_body, retrain_body
from .common import ERROR, METRICS_EXAMPLE, StrictSerializer


class RetrainRequest(StrictSerializer):
    limit = serializers.IntegerField(required=False, min_value=1, help_text="Most recent answers to use.")
    autoDeploy = serializers.BooleanField(default=True)
    since = serializers.DateField(required=False, allow_null=True, help_text="Only answers on or after this date.")
    algorithm = serializers.ChoiceField(choices=services.ALGORITHMS, default="irt-2pl")
    split = serializers.ChoiceField(choices=services.SPLITS, default="random")
    wait = serializers.BooleanField(
        default=True, help_text="false: queue the retrain as a job for the worker and answer 202 at once."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["algorithm"].choices = list(services.ALGORITHMS)  # the registry, as it is now

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
    permission_classes = [IsAdminUser, permissions.may(permissions.RETRAIN)]

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
                "Queued",
                value={
                    "success": True,
                    "jobId": "5f0c8a4e-3f7b-4a8e-9a55-2b1d0c9e7f11",
                    "status": "queued",
                    "version": None,
                    "error": None,
                    "enqueuedAt": "2024-01-15T10:29:45Z",
                    "startedAt": None,
                    "finishedAt": None,
                    "statusUrl": "/api/mlops/jobs/5f0c8a4e-3f7b-4a8e-9a55-2b1d0c9e7f11",
                },
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
            job = services.retrain_enqueue(**options)
            return Response({"success": True, **job_body(job)}, status=status.HTTP_202_ACCEPTED)
        return Response(retrain_body(services.retrain(**options)))


class JobView(APIView):
    @extend_schema(summary="A queued retrain's state", responses={200: OpenApiTypes.OBJECT, 404: ERROR})
    def get(self, request, job_id):
        """status: queued, running, succeeded or failed; version once the job created it; error."""
        return Response(job_body(services.retrain_job_get(job_id)))


class StatusView(APIView):
    @extend_schema(
        summary="Retraining status",
        responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("Idle", value={"isTraining": False, "currentVersion": "v2"}, response_only=True)],
    )
    def get(self, request):
        return Response(selectors.training_status())
