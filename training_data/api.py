"""POST /api/training-data: bulk ingest of answers from the quiz application."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import InvalidAnswer
from .services import answers_ingest


class CanAddAnswers(BasePermission):
    """A service account (or any user) holding ``training_data.add_trainingdata``."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("training_data.add_trainingdata"))


class TrainingDataView(APIView):
    permission_classes = [CanAddAnswers]

    @extend_schema(
        summary="Ingest answers (all-or-nothing, idempotent by eventId)",
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "Answers",
                value={
                    "answers": [
                        {
                            "userId": "learner-42",
                            "questionId": "q0007",
                            "module": "algebra",
                            "difficulty": 0.4,
                            "correct": True,
                            "responseTime": 5200,
                            "timestamp": "2024-01-15T10:29:45Z",
                            "eventId": "quiz-981-answer-3",
                        }
                    ]
                },
                request_only=True,
            ),
            OpenApiExample("Stored", value={"received": 1, "inserted": 1, "duplicates": 0}, response_only=True),
        ],
    )
    def post(self, request):
        answers = request.data
        if isinstance(answers, dict):
            if set(answers) != {"answers"}:
                raise InvalidAnswer('send {"answers": [...]} or a JSON array of answers')
            answers = answers["answers"]
        result = answers_ingest(answers=answers, max_answers=settings.MLOPS_INGEST_MAX_ANSWERS)
        body = {"received": result.received, "inserted": result.inserted, "duplicates": result.duplicates}
        return Response(body, status=status.HTTP_201_CREATED if result.inserted else status.HTTP_200_OK)
