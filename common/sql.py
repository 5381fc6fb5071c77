"""Reads made on every serving request, as SQL built once per database and run on a plain cursor.

Building a query through the ORM costs more than running it on SQLite or PostgreSQL. The few
reads every serving request makes (its token's user with a permission, the serving version with
the learner's answers) are built once per database alias and process by :func:`statement` and run by
:func:`fetch_one`/:func:`fetch_all`, whose first read of a request also checks the connection.
Other databases (MongoDB) have no SQL: :func:`compiled` is False there and each caller takes its
ORM path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connection

COMPILED_VENDORS = ("sqlite", "postgresql")

_statements: dict[tuple[str, str], Any] = {}


def compiled() -> bool:
    """Whether the current database runs compiled statements (else: the ORM)."""
    return connection.vendor in COMPILED_VENDORS


def statement(name: str, build: Callable[[], Any]) -> Any:
    """``build()`` (the SQL, and whatever goes with it) for the current database, built once."""
    key = (connection.alias, name)
    built = _statements.get(key)
    if built is None:
        built = _statements[key] = build()
    return built


def queryset_sql(queryset) -> str:
    """The SQL of a queryset, its parameters left as placeholders (run it with the same number)."""
    return queryset.query.sql_with_params()[0]


def quoted(model, field: str) -> str:
    """A model field's column name, quoted for the current database."""
    return connection.ops.quote_name(model._meta.get_field(field).column)


def table(model) -> str:
    """A model's table name, quoted for the current database."""
    return connection.ops.quote_name(model._meta.db_table)


def fetch_one(sql: str, params) -> tuple | None:
    return _read(sql, params, lambda cursor: cursor.fetchone())


def fetch_all(sql: str, params) -> list[tuple]:
    return _read(sql, params, lambda cursor: cursor.fetchall())


def _read(sql: str, params, fetch):
    """Run a read. On a connection kept from an earlier request, the first read is also the health
    check that Django's ``CONN_HEALTH_CHECKS`` makes with a ``SELECT 1`` of its own, a round trip
    before every request's first query: when this read finds the connection gone (the database
    restarted, the connection timed out) it is closed and the read runs once more on a new one.
    An error on a connection that still works (a timeout, a bad statement) is raised as it is."""
    checking = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if checking:
        connection.health_check_done = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return fetch(cursor)
    except (InterfaceError, OperationalError):
        if not checking or connection.is_usable():
            raise
        connection.close()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return fetch(cursor)
