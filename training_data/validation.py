"""Validation of one raw answer: every door (API, file import) turns input into a stored row here."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from .anonymise import hash_user_id
from .errors import InvalidAnswer

__all__ = ["InvalidAnswer", "answer_row", "answered_at_check", "parse_correct", "parse_timestamp"]

_MAX_TEXT = 255
# Every stored answer is dated inside this window, whichever door it came through (API, import, demo).
EARLIEST_ANSWER = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of the quiz app's servers may run a little ahead


def parse_correct(value) -> bool:
    if value is None:
        raise InvalidAnswer("correct is missing")
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "1.0"):
        return True
    if text in ("0", "false", "no", "0.0"):
        return False
    raise InvalidAnswer(f"correct must be 0 or 1 (or true/false), got {value!r}")


def parse_timestamp(value, default: datetime) -> datetime:
    """ISO 8601 date/datetime (naive = UTC) or Unix seconds; empty or 0 (unknown) -> ``default``."""
    if value is None:
        return default
    text = str(value).strip()
    if text in ("", "0"):
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidAnswer(f"timestamp must be a date or positive Unix seconds, got {value!r}")
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidAnswer(f"answered_at {value!r} (Unix seconds) is {_WINDOW}") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidAnswer(f"answered_at must be an ISO 8601 date or datetime, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_WINDOW = "outside the accepted window: answers are dated from 1970-01-01T00:00:00Z to 5 minutes past now"


def answered_at_check(when: datetime, *, now: datetime) -> datetime:
    """The one window every answer's time must lie in (1970 to 5 minutes past ``now``), in UTC.

    Older dates are typos or placeholder values (year 1 even breaks PostgreSQL's timestamp
    arithmetic), later ones clocks gone wrong; both would poison retraining and the admin.
    """
    if when < EARLIEST_ANSWER or when > now + FUTURE_TOLERANCE:
        where = "before 1970" if when < EARLIEST_ANSWER else "in the future"
        raise InvalidAnswer(
            f"answered_at {when.isoformat()} is {where}, {_WINDOW} (now: {now.isoformat(timespec='seconds')})"
        )
    return when.astimezone(UTC)


def _text(value, name, required=False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidAnswer(f"{name} is missing")
    if len(text) > _MAX_TEXT:
        raise InvalidAnswer(f"{name} is longer than {_MAX_TEXT} characters")
    if "\x00" in text:
        raise InvalidAnswer(f"{name} contains a NUL character")
    return text


def _optional_float(value, name):
    text = "" if value is None else str(value).strip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidAnswer(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InvalidAnswer(f"{name} must be a finite number, got {value!r}")
    return number


def answer_row(
    *,
    user_id,
    question_id,
    correct,
    answered_at=None,
    module="",
    response_time_ms=None,
    difficulty=None,
    event_id="",
    now: datetime,
) -> tuple:
    """Validate one raw answer and return its row for :func:`answers_insert` (user id hashed)."""
    user = _text(user_id, "user_id", required=True)
    question = _text(question_id, "question_id", required=True)
    time_ms = _optional_float(response_time_ms, "response_time_ms")
    if time_ms is not None and (time_ms < 0 or time_ms > 2**31 - 1):
        raise InvalidAnswer(f"response_time_ms must be between 0 and {2**31 - 1}, got {response_time_ms!r}")
    when = answered_at_check(parse_timestamp(answered_at, now), now=now)
    return (
        hash_user_id(user),
        question,
        _text(module, "module"),
        _optional_float(difficulty, "difficulty"),
        parse_correct(correct),
        None if time_ms is None else int(time_ms),
        when,
        _text(event_id, "event_id"),
        now,
    )
