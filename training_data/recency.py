"""Answers in time order, and time windows over them, in the form each database's index serves.

SQLite keeps a B-tree on ``answered_at``. PostgreSQL indexes the answer's UTC day instead (a
B-tree whose duplicates are stored as posting lists, a few bytes per answer; see
:mod:`training_data.postgresql_layout`): there, "newest first" orders by that day, then by the
exact time within it, and every range comparison of ``answered_at`` also compares the days, so
that the index bounds the rows read. Both are what they were before, answer for answer.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import DateTimeField, F, Func, Value
from django.db.models.expressions import OrderBy
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual


class AnswerDay(Func):
    """The UTC day of a moment (a timestamp without time zone): ``answers_answered_idx`` on PostgreSQL."""

    template = "date_trunc('day', %(expressions)s AT TIME ZONE 'UTC')"
    output_field = DateTimeField()


def newest_first() -> list:
    """``order_by`` arguments for the most recent answers first (answered_at, then key, descending)."""
    if connection.vendor == "postgresql":
        return [OrderBy(AnswerDay(F("answered_at")), descending=True), "-answered_at", "-id"]
    return ["-answered_at", "-id"]


def oldest_first() -> list:
    if connection.vendor == "postgresql":
        return [OrderBy(AnswerDay(F("answered_at"))), "answered_at", "id"]
    return ["answered_at", "id"]


class _DayBounded:
    """A range comparison of ``answered_at`` that, on PostgreSQL, also compares the UTC days.

    ``day_lookup`` is the comparison the days satisfy whenever the moments do (a < b implies
    day(a) <= day(b)), so no answer is lost; it lets the index on the day bound the scan.
    """

    day_lookup = GreaterThanOrEqual

    def as_postgresql(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection)
        bound = self.rhs if hasattr(self.rhs, "resolve_expression") else Value(self.rhs, DateTimeField())
        day_sql, day_params = compiler.compile(self.day_lookup(AnswerDay(self.lhs), AnswerDay(bound)))
        return f"({sql} AND {day_sql})", (*params, *day_params)


class AnsweredGte(_DayBounded, GreaterThanOrEqual):
    pass


class AnsweredGt(_DayBounded, GreaterThan):
    pass


class AnsweredLt(_DayBounded, LessThan):
    day_lookup = LessThanOrEqual


class AnsweredLte(_DayBounded, LessThanOrEqual):
    day_lookup = LessThanOrEqual


def day_bounded(field) -> None:
    """Register the day-bounded comparisons on this field (``answered_at`` of the answers)."""
    for lookup in (AnsweredGte, AnsweredGt, AnsweredLt, AnsweredLte):
        field.register_lookup(lookup)
