"""Answers loaded into numpy arrays, without a Python object per answer kept.

The database returns integer columns only (answer key, learner key, question key, correct, and
the app's difficulty label when asked) into numpy: SQLite in chunks through a cursor, PostgreSQL
as one array per column by binary ``COPY``. Learner and question keys become dense indices with
numpy; then only the distinct learners' hashes and questions' ids are looked up.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import numpy as np
from django.db import connection
from django.db.models import BigIntegerField, ExpressionWrapper, FloatField, IntegerField, Q, Value
from django.db.models.functions import Cast, Coalesce

from common.memory import gc_paused
from training_data.models import Learner, Question, TrainingData

from .answers import AnswerArrays, _digest, _encode, answers_queryset
from .cutoff import Cutoff

_CHUNK = 100_000  # rows fetched at a time (SQLite)
_IN_LIMIT = 500  # keys per IN (...): SQLite may allow only 999 parameters


def answers_load(
    *,
    limit: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    keys: Q | None = None,
    with_labels: bool = True,
) -> AnswerArrays:
    """Load the selected answers straight into numpy arrays, newest first.

    No timestamp is kept per answer (PostgreSQL sends them only to put the rows in order): only
    the first and last answers' are looked up; the app's difficulty labels only ``with_labels``
    (the heuristic starts from them; IRT does not).
    """
    with gc_paused():  # no Python object per answer survives, but chunks of rows pass through
        if connection.vendor == "postgresql":
            selection = answers_queryset(since=since, until=until, keys=keys)
            return _to_arrays(*_columns_copy(selection, limit, with_labels))
        answers = answers_queryset(limit=limit, since=since, until=until, keys=keys)
        if with_labels:
            answers = answers.annotate(label=_LABEL)
        fields = ["id", "learner_id", "question_id", "correct", *(["label"] if with_labels else [])]
        queryset = answers.values_list(*fields)
        if connection.vendor == "sqlite":
            columns = _columns_cursor(queryset, with_labels)
        else:
            columns = _columns_orm(queryset, with_labels)
        return _to_arrays(*columns)


_LABEL = Coalesce("difficulty", Value(float("nan")), output_field=FloatField())


def _packed():
    """learner << 32 | question << 1 | correct, one 64-bit integer per answer (keys below 2^31)."""
    learner = Cast("learner_id", BigIntegerField()).bitleftshift(32)
    question = Cast("question_id", BigIntegerField()).bitleftshift(1)
    return ExpressionWrapper(learner.bitor(question).bitor(Cast("correct", IntegerField())), BigIntegerField())


def _unpacked(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return packed >> 32, (packed >> 1) & 0x7FFFFFFF, (packed & 1).astype(np.int8)


def _columns_cursor(queryset, with_labels: bool) -> tuple:
    """(ids, learner keys, question keys, correct, labels or None) through a cursor, in chunks.

    Without labels each row is two integers, the keys and the outcome packed into one by the
    database (learner << 32 | question << 1 | correct): half the Python objects per answer.
    """
    if not with_labels:
        queryset = queryset.annotate(packed=_packed()).values_list("id", "packed")
    sql, params = queryset.query.sql_with_params()
    blocks = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_CHUNK):
            blocks.append(np.array(rows, dtype=np.float64 if with_labels else np.int64))
    if not with_labels:
        table = np.concatenate(blocks) if blocks else np.zeros((0, 2), dtype=np.int64)
        return table[:, 0], *_unpacked(table[:, 1]), None
    table = np.concatenate(blocks) if blocks else np.zeros((0, 5))
    keys = table[:, :3].astype(np.int64)
    return keys[:, 0], keys[:, 1], keys[:, 2], table[:, 3].astype(np.int8), table[:, 4]


ONE_ROW = 10_000_000  # answers aggregated into one COPY row at most: 360-480 MB, under PostgreSQL's 1 GB a value


def _columns_copy(selection, limit: int | None, with_labels: bool) -> tuple:
    """The same columns from PostgreSQL as a few arrays: numpy reads them without a Python object per answer.

    The database aggregates each column of the selection into one array (``array_agg``), sent by a
    binary COPY as a single row: PostgreSQL sends a message per row, and a million messages cost
    more in Python than the query itself. Each answer's time comes too, and numpy puts them newest
    first (answered_at, then key). When the whole selection is wanted (no limit, or no more answers
    than it), the database reads it in table order; only a selection larger than ``limit`` is
    ordered there, through the index on the day, to find its newest answers. Past ``ONE_ROW``
    answers, rows are streamed one message each, as the database orders them.
    """
    most = min(limit or ONE_ROW, ONE_ROW)
    if not selection.order_by()[most : most + 1].exists():
        answers = selection.order_by()  # all of it: no more than the limit
    elif limit is not None and limit <= ONE_ROW:
        answers = selection[:limit]
    else:
        return _columns_streamed(selection[:limit] if limit else selection, with_labels)
    answers = answers.annotate(packed=_packed())
    columns = [("id", ">i8"), ("packed", ">i8"), ("answered_at", ">i8")]  # a timestamptz: microseconds
    if with_labels:
        answers = answers.annotate(label=_LABEL)
        columns.append(("label", ">f8"))
    inner, params = answers.values_list(*(name for name, _ in columns)).query.sql_with_params()
    aggregated = ", ".join(f"array_agg(s.{connection.ops.quote_name(name)})" for name, _ in columns)
    with connection.cursor() as cursor:
        sql = f"COPY (SELECT {aggregated} FROM ({inner}) s) TO STDOUT (FORMAT binary)"
        with cursor.cursor.copy(sql, params) as copy:
            blocks = list(copy)
    # The header and the row arrive as one message, the 2-byte trailer as another: no copy to join them.
    data = blocks[0] if sum(map(len, blocks[1:])) <= 2 else b"".join(blocks)
    del blocks
    table = _arrays(data, columns)
    del data  # the arrays are converted copies
    order = np.lexsort((table["id"], table.pop("answered_at")))[::-1]
    ids = table.pop("id")[order]
    learners, questions, correct = _unpacked(table.pop("packed")[order])
    return ids, learners, questions, correct, table.pop("label")[order] if with_labels else None


def _columns_streamed(answers, with_labels: bool) -> tuple:
    """The columns of ``answers`` (in their order) through a binary COPY, a message per row."""
    fields = [("id", ">i8"), ("packed", ">i8")] + ([("label", ">f8")] if with_labels else [])
    answers = answers.annotate(packed=_packed(), **({"label": _LABEL} if with_labels else {}))
    row = np.dtype(
        [("count", ">i2")] + [item for name, kind in fields for item in ((f"{name}_size", ">i4"), (name, kind))]
    )
    sql, params = answers.values_list(*(name for name, _ in fields)).query.sql_with_params()
    parts, pending, skip = [], bytearray(), _HEADER
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
        for block in copy:
            pending += block
            usable = (len(pending) - skip) // row.itemsize * row.itemsize
            if usable > 4 * 1024 * 1024:
                parts.append(np.frombuffer(bytes(pending[skip : skip + usable]), dtype=row))
                del pending[: skip + usable]
                skip = 0
    usable = (len(pending) - skip - 2) // row.itemsize * row.itemsize  # the trailer: -1 as a 16-bit count
    parts.append(np.frombuffer(bytes(pending[skip : skip + usable]), dtype=row))
    table = np.concatenate(parts)
    if table.size and (table["count"] != len(fields)).any():
        raise RuntimeError("unexpected row layout in COPY output")  # the column types changed
    labels = table["label"].astype(np.float64) if with_labels else None
    return table["id"].astype(np.int64), *_unpacked(table["packed"].astype(np.int64)), labels


_HEADER = 19  # PGCOPY signature, flags and header extension length


def _arrays(data: bytes, columns: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The one-dimensional arrays of a binary COPY's single row (NULL, from no rows: empty arrays)."""
    if np.frombuffer(data, ">i2", 1, _HEADER)[0] != len(columns):
        raise RuntimeError("unexpected row layout in COPY output")  # the query changed
    offset, out = _HEADER + 2, {}
    for name, kind in columns:
        size = int(np.frombuffer(data, ">i4", 1, offset)[0])
        offset += 4
        if size < 0:  # array_agg of no rows
            out[name] = np.zeros(0, np.dtype(kind).newbyteorder("="))
            continue
        dims, _, _ = np.frombuffer(data, ">i4", 3, offset)
        if dims != 1:
            raise RuntimeError("unexpected array in COPY output")
        count = int(np.frombuffer(data, ">i4", 1, offset + 12)[0])
        cells = np.frombuffer(data, np.dtype([("size", ">i4"), ("value", kind)]), count, offset + 20)
        if count and (cells["size"] != np.dtype(kind).itemsize).any():
            raise RuntimeError(f"unexpected NULL or width in COPY output ({name})")
        out[name] = cells["value"].astype(np.dtype(kind).newbyteorder("="))
        offset += size
    return out


def _columns_orm(queryset, with_labels: bool) -> tuple:
    """Other databases (MongoDB: ObjectId keys, kept as Python objects)."""
    rows = list(queryset)
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    as_keys = [np.array(column, dtype=object) for column in columns[:3]]
    if rows and all(isinstance(value, int) for value in columns[0]):
        as_keys = [key.astype(np.int64) for key in as_keys]
    labels = np.array(columns[4], dtype=np.float64) if with_labels else None
    return (*as_keys, np.array(columns[3], dtype=np.int8), labels)


def _dense(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of ``keys`` (0..k-1 in key order) and the distinct keys, sorted."""
    if keys.dtype == np.int64 and keys.size and keys.min() >= 0 and keys.max() < 4 * keys.size + 1_000_000:
        seen = np.zeros(int(keys.max()) + 1, dtype=bool)  # a lookup table no larger than the column
        seen[keys] = True
        distinct = np.flatnonzero(seen)
        code = np.zeros(seen.size, dtype=np.int64)
        code[distinct] = np.arange(distinct.size)
        return code[keys], distinct
    distinct, codes = np.unique(keys, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), distinct


def _lookup(model, fields: tuple[str, ...], keys: np.ndarray) -> list[tuple]:
    """``fields`` of the rows with these (sorted, distinct) keys, in their order."""
    rows = model.objects.order_by().values_list("pk", *fields)
    if keys.dtype == np.int64 and keys.size > _IN_LIMIT:
        found = {row[0]: row[1:] for row in rows.filter(pk__gte=int(keys[0]), pk__lte=int(keys[-1])).iterator()}
    else:
        wanted = keys.tolist()
        found = {}
        for begin in range(0, len(wanted), _IN_LIMIT):
            found.update((row[0], row[1:]) for row in rows.filter(pk__in=wanted[begin : begin + _IN_LIMIT]))
    return [found[key] for key in keys.tolist()]


def _to_arrays(ids, learners, questions, correct, given) -> AnswerArrays:
    if not ids.size:
        empty = np.zeros(0, dtype=np.int64)
        return AnswerArrays(
            empty, empty, empty, [], [], empty, [], np.zeros(0), None, None, hashlib.sha256().hexdigest(), empty,
            Cutoff(None, None),
        )  # fmt: skip
    users, learner_keys = _dense(learners)
    user_list = [hash_ for (hash_,) in _lookup(Learner, ("hash",), learner_keys)]
    question_rows, question_keys = _dense(questions)
    named = _lookup(Question, ("question_id", "module"), question_keys)
    item_of_key, question_list = _encode(question for question, _ in named)
    module_of_key, module_list = _encode(module for _, module in named)
    items, modules = item_of_key[question_rows], module_of_key[question_rows]
    labels = np.full(len(question_list), np.nan)
    if given is not None:
        labelled = np.flatnonzero(~np.isnan(given))[::-1]  # oldest first: the newest label is written last
        labels[items[labelled]] = given[labelled]
    first, last, newest = ids[[-1, 0, int(np.argmax(ids))]].tolist()  # Python ints (or ObjectIds)
    ends = {
        pk: (answered, arrived)
        for pk, answered, arrived in TrainingData.objects.filter(pk__in=[first, last, newest]).values_list(
            "pk", "answered_at", "created_at"
        )
    }
    return AnswerArrays(
        users=users,
        items=items,
        correct=correct,
        user_ids=user_list,
        question_ids=question_list,
        modules=modules,
        module_ids=module_list,
        difficulty_labels=labels,
        first_answer_at=ends[first][0],
        last_answer_at=ends[last][0],
        digest=_digest(ids),
        ids=ids,
        cutoff=Cutoff(newest if ids.dtype == np.int64 else None, ends[newest][1]),
    )
