"""POST /api/training-data: bulk ingest of answers from the quiz application."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from .services import InvalidAnswer, answer_row, answers_insert

FIELDS = {
    "userId": "user_id",
    "questionId": "question_id",
    "correct": "correct",
    "timestamp": "answered_at",
    "module": "module",
    "responseTime": "response_time_ms",
    "difficulty": "difficulty",
    "eventId": "event_id",
}
_MAX_LISTED_ERRORS = 100


class CanAddAnswers(BasePermission):
    """A service account (or any user) holding ``training_data.add_trainingdata``."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("training_data.add_trainingdata"))


def _check_types(raw: dict) -> None:
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidAnswer(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    for name in ("userId", "questionId", "eventId"):
        value = raw.get(name)
        if value is None or value == "":
            raise InvalidAnswer(
                f"{name} is required"
                + (": a unique id per answer event, so that retries never duplicate it" if name == "eventId" else "")
            )
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidAnswer(f"{name} must be a string or an integer")
    correct = raw.get("correct")
    if correct is None:
        raise InvalidAnswer("correct is required (true/false or 1/0)")
    if not (isinstance(correct, bool) or (isinstance(correct, int) and correct in (0, 1))):
        raise InvalidAnswer(f"correct must be true/false or 1/0, got {correct!r}")
    for name in ("difficulty", "responseTime"):
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidAnswer(f"{name} must be a number")
    if raw.get("module") is not None and not isinstance(raw["module"], str):
        raise InvalidAnswer("module must be a string")
    timestamp = raw.get("timestamp")
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, str | int | float)):
        raise InvalidAnswer("timestamp must be an ISO 8601 string or Unix seconds")


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
        answers = request.data.get("answers") if isinstance(request.data, dict) else request.data
        if isinstance(request.data, dict) and set(request.data) != {"answers"}:
            return _invalid('send {"answers": [...]} or a JSON array of answers')
        limit = settings.MLOPS_INGEST_MAX_ANSWERS
        if not isinstance(answers, list) or not 1 <= len(answers) <= limit:
            return _invalid(f"send a list of 1 to {limit} answers")
        now = timezone.now()
        rows, errors = [], []
        for index, raw in enumerate(answers):
            try:
                if not isinstance(raw, dict):
                    raise InvalidAnswer("each answer must be a JSON object")
                _check_types(raw)
                rows.append(answer_row(**{FIELDS[k]: v for k, v in raw.items()}, now=now))
            except InvalidAnswer as error:
                errors.append({"index": index, "error": _api_names(str(error))})
        if errors:
            return Response(
                {
                    "error": f"{len(errors)} of {len(answers)} answers are invalid; nothing was stored",
                    "code": "invalid",
                    "errors": errors[:_MAX_LISTED_ERRORS],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        with transaction.atomic():
            inserted = answers_insert(rows)
        body = {"received": len(rows), "inserted": inserted, "duplicates": len(rows) - inserted}
        return Response(body, status=status.HTTP_201_CREATED if inserted else status.HTTP_200_OK)


def _api_names(message: str) -> str:
    """Speak of the fields by the names the client sent (questionId, not question_id)."""
    for api_name, internal in FIELDS.items():
        if api_name != internal:
            message = message.replace(internal, api_name)
    return message


def _invalid(message: str) -> Response:
    return Response({"error": message, "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
