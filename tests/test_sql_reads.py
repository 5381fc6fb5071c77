"""The serving reads of common.sql behave as reads on Django's own cursor: the same placeholders,
Django's errors, the same refusal inside a broken transaction, and logged when queries are
captured (on SQLite they run on the sqlite3 cursor itself)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from common import sql

pytestmark = pytest.mark.django_db


def test_placeholders_and_a_literal_percent_read_as_on_djangos_cursor():
    text = "SELECT 'a%%b', %s, %s"
    with connection.cursor() as cursor:
        cursor.execute(text, ["x", 7])
        expected = cursor.fetchone()
    assert sql.fetch_one(text, ["x", 7]) == tuple(expected) == ("a%b", "x", 7)
    assert sql.fetch_all(text, ["y", 8]) == [("a%b", "y", 8)]


def test_a_bad_statement_raises_djangos_error():
    with pytest.raises(DatabaseError) as raised:
        sql.fetch_all("SELECT no_such_column FROM no_such_table WHERE 1 = %s", [1])
    assert type(raised.value).__module__ == "django.db.utils"  # translated, not the driver's own


def test_a_read_inside_a_broken_transaction_is_refused():
    with transaction.atomic():
        connection.needs_rollback = True  # as after an error caught inside the block
        with pytest.raises(TransactionManagementError):
            sql.fetch_one("SELECT %s", [1])
        connection.needs_rollback = False


def test_reads_show_in_captured_queries():
    with CaptureQueriesContext(connection) as captured:
        assert sql.fetch_one("SELECT %s + 1", [41]) == (42,)
    assert len(captured) == 1
