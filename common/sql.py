"""Reads made on every serving request, as SQL built once per database and run on a plain cursor.

Building a query through the ORM costs more than running it on SQLite or PostgreSQL. The few
reads every serving request makes (its token's user with a permission, the serving version with
the learner's answers) are built once per database alias and process by :func:`statement` and run by
:func:`fetch_one`/:func:`fetch_all`, whose first read of a request also checks the connection.
Other databases (MongoDB) have no SQL: :func:`compiled` is False there and each caller takes its
ORM path.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

COMPILED_VENDORS = ("sqlite", "postgresql")

_statements: dict[Hashable, Any] = {}


@cache
def compiled() -> bool:
    """Whether the database runs compiled statements (else: the ORM). Asked on every serving request
    several times: the default database's backend is the process's, so the answer is kept
    (``connection.vendor``, a lookup through the thread's connections, cost 3 us each time). These
    reads, and the statements :func:`statement` keeps, are the default database's only."""
    return connections[DEFAULT_DB_ALIAS].vendor in COMPILED_VENDORS


def statement(name: Hashable, build: Callable[[], Any]) -> Any:
    """``build()`` (the SQL, and whatever goes with it) for the database, built once per ``name``
    (a string, or a tuple naming it by the statement texts it is built from: no key text to format
    and hash on every call)."""
    built = _statements.get(name)
    if built is None:
        built = _statements[name] = build()
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


# A read to make in the same statement as the token's user (see :func:`beside_user`).
_beside_user: ContextVar[Callable[[str, list, int], tuple | None] | None] = ContextVar("beside user", default=None)


@contextmanager
def beside_user(read: Callable[[str, list, int], tuple | None]) -> Iterator[None]:
    """Within: the next :func:`user_row` is ``read(sql, params, width)``, which makes the user's
    query part of its own statement (one round trip for both on PostgreSQL) and returns the user's
    ``width`` columns (all None when nobody was found). Once only: a later user read is a read of
    its own."""
    reset = _beside_user.set(read)
    try:
        yield
    finally:
        _beside_user.reset(reset)


def user_row(sql: str, params, width: int) -> tuple | None:
    """The row of a query finding at most one user (``width`` columns), or None; inside
    :func:`beside_user`, read by the statement given there (then all None for nobody)."""
    read = _beside_user.get()
    if read is None:
        return fetch_one(sql, params)
    _beside_user.set(None)
    return read(sql, params, width)


def _read(sql: str, params, fetch):
    """Run a read. On a connection kept from an earlier request, the first read is also the health
    check that Django's ``CONN_HEALTH_CHECKS`` makes with a ``SELECT 1`` of its own, a round trip
    before every request's first query: when this read finds the connection gone (the database
    restarted, the connection timed out) it is closed and the read runs once more on a new one.
    An error on a connection that still works (a timeout, a bad statement) is raised as it is."""
    db = connections[DEFAULT_DB_ALIAS]  # ``connection``'s: each attribute of that proxy is a lookup
    checking = (
        db.connection is not None and db.health_check_enabled and not db.health_check_done and not db.in_atomic_block
    )
    if checking:
        db.health_check_done = True

    def run():
        if db.vendor == "sqlite" and not (db.queries_logged or db.execute_wrappers):
            return _sqlite_read(db, sql, params, fetch)
        with _cursor(db) as cursor:
            cursor.execute(sql, params)
            return fetch(cursor)

    try:
        return run()
    except (InterfaceError, OperationalError):
        if not checking or db.is_usable():
            raise
        db.close()
    return run()


_qmark: dict[str, str] = {}


def _sqlite_read(db, text: str, params, fetch):
    """A read on SQLite's own cursor, its placeholders rewritten once per statement, where Django's
    cursor rewrites them (``%s`` to ``?``) on every execute: a regular expression over the whole
    statement, which with the cursor's wrapping cost about as much as running the token's user.
    Errors are Django's, as on its cursor; a logged or wrapped connection (a test counting queries)
    takes Django's cursor."""
    query = _qmark.get(text)
    if query is None:
        query = _qmark[text] = FORMAT_QMARK_REGEX.sub("?", text).replace("%%", "%")
    db.validate_no_broken_transaction()
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = db.connection.cursor()
        try:
            cursor.execute(query, params)
            return fetch(cursor)
        finally:
            cursor.close()


def _cursor(db):
    """A cursor for these reads on ``db`` (the default connection). On PostgreSQL (unless
    ``SQL_PREPARED_STATEMENTS`` is off) its statements are prepared on the server: planned once per
    connection rather than on every request (planning took most of their time: 0.17 ms, against
    0.03 ms to run the token's user). Django's cursors bind parameters in the client and cannot
    prepare; this one is wrapped as Django wraps its own (errors translated, queries logged when
    logging is on)."""
    if db.vendor != "postgresql" or not settings.SQL_PREPARED_STATEMENTS:
        return db.cursor()
    db.ensure_connection()
    if db.connection.prepare_threshold is None:  # Django's default: nothing is ever prepared
        # Only statements run with prepare=True (below): Django's own cursors bind in the client.
        db.connection.prepare_threshold = ONLY_WHEN_ASKED
        # PostgreSQL plans a prepared statement anew for its parameters unless a plan for any
        # parameters looks as cheap, and for the live read it never did (its key range is unknown
        # then): planned every time, nothing saved. The plan for any parameters reads the same
        # pages (7 when nothing changed, 56 for a learner's newest 94 answers: the learner's GIN
        # index and the key's BRIN index together). Only these statements are prepared.
        db.connection.execute("SET plan_cache_mode = force_generic_plan")
    raw = _prepared_cursor_class()(db.connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


ONLY_WHEN_ASKED = 2**31 - 1  # psycopg's threshold for preparing a statement by itself: never reached


@cache
def _prepared_cursor_class():
    import psycopg

    class PreparedCursor(psycopg.Cursor):
        """Binds parameters on the server and prepares every statement it runs."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor
