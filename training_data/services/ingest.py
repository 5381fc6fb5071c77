"""Ingest of answers sent as JSON (the quiz app's camelCase), all-or-nothing and idempotent by eventId."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..validation import InvalidAnswer, answer_row
from .insert import answers_insert

# The JSON field names of an answer (the quiz app's camelCase) -> answer_row's arguments.
JSON_FIELDS = {
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


@dataclass(frozen=True)
class IngestResult:
    received: int
    inserted: int

    @property
    def duplicates(self) -> int:
        return self.received - self.inserted


def answers_ingest(*, answers, max_answers: int, now: datetime | None = None) -> IngestResult:
    """Validate every JSON answer, then store them all or none; idempotent by ``eventId``.

    Raises :class:`InvalidAnswer` listing each bad row (index and reason, in the JSON field names)
    when any row is invalid: nothing is stored then.
    """
    if not isinstance(answers, list) or not 1 <= len(answers) <= max_answers:
        raise InvalidAnswer(f"send a list of 1 to {max_answers} answers")
    now = now or timezone.now()
    rows, errors = [], []
    for index, raw in enumerate(answers):
        try:
            _json_types_check(raw)
            rows.append(answer_row(**{JSON_FIELDS[k]: v for k, v in raw.items()}, now=now))
        except InvalidAnswer as error:
            errors.append({"index": index, "error": _json_names(str(error))})
    if errors:
        raise InvalidAnswer(
            f"{len(errors)} of {len(answers)} answers are invalid; nothing was stored",
            errors=errors[:_MAX_LISTED_ERRORS],
        )
    with transaction.atomic():
        inserted = answers_insert(rows)
    return IngestResult(received=len(rows), inserted=inserted)


def _json_types_check(raw) -> None:
    """JSON types of one answer (answer_row then checks the values themselves)."""
    if not isinstance(raw, dict):
        raise InvalidAnswer("each answer must be a JSON object")
    unknown = sorted(set(raw) - set(JSON_FIELDS))
    if unknown:
        raise InvalidAnswer(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(JSON_FIELDS)}")
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


def _json_names(message: str) -> str:
    """Speak of the fields by the names the client sent (questionId, not question_id)."""
    for json_name, internal in JSON_FIELDS.items():
        if json_name != internal:
            message = message.replace(internal, json_name)
    return message
