"""How answers are stored compactly: timestamps as integers on SQLite, event ids as fixed digests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import models

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
EVENT_KEY_BYTES = 16


def event_key(event_id: str) -> bytes:
    """The stored idempotency key of an answer event: the first 16 bytes of SHA-256 of its id.

    Fixed-size and exact in practice (a collision needs ~2^64 events), unlike a 64-bit hash.
    """
    return hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).digest()[:EVENT_KEY_BYTES]


def to_micros(value: datetime) -> int:
    """Microseconds since 1970-01-01 UTC (a naive datetime counts as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


class TimestampField(models.DateTimeField):
    """A DateTimeField that SQLite stores as integer microseconds since 1970 UTC.

    SQLite keeps a DateTimeField as 26 characters of text; an integer takes 8 bytes in the row and
    in every index on it, and still sorts in time order. Other databases keep their own timestamp
    type (8 bytes on PostgreSQL). Only plain comparisons are supported (no ``__date``/``__year``).
    """

    def get_internal_type(self):
        # Not "DateTimeField": SQLite's converter for that type would parse the integer as text.
        return "TimestampField"

    def db_type(self, connection):
        if connection.vendor == "sqlite":
            return "integer"
        return connection.data_types["DateTimeField"] % self.db_type_parameters(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        return None if value is None else to_micros(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return from_micros(value)
