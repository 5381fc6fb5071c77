"""Writing answers: the fast bulk insert every door uses, demo data, and file imports."""

from __future__ import annotations

import csv
import hashlib
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from .anonymise import hash_user_id
from .models import TrainingData

# Column order of the rows handed to answers_insert.
COLUMNS = (
    "user_hash",
    "question_id",
    "module",
    "difficulty",
    "correct",
    "response_time_ms",
    "answered_at",
    "event_id",
    "created_at",
)
_MAX_TEXT = 255


class InvalidAnswer(ValueError):
    """An answer row that cannot be stored; the message says what is wrong."""


def answers_insert(rows: list[tuple]) -> int:
    """Insert validated answer rows (tuples in ``COLUMNS`` order); return how many were new.

    Rows whose ``event_id`` is already stored are skipped (retries never duplicate an answer).
    Uses the fastest path of each backend: one ``executemany`` on SQLite, ``COPY`` into a
    temporary table on PostgreSQL, ``bulk_create`` elsewhere. Call it inside a transaction to
    make a multi-call import all-or-nothing.
    """
    if not rows:
        return 0
    vendor = connection.vendor
    if vendor == "sqlite":
        return _insert_sqlite(rows)
    if vendor == "postgresql":
        return _insert_postgresql(rows)
    return _insert_orm(rows)


def _table_and_columns():
    meta = TrainingData._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in COLUMNS)
    return qn(meta.db_table), columns, qn(meta.get_field("event_id").column)


def _naive_utc_text(value: datetime) -> str:
    # Exactly as Django's SQLite backend writes an aware datetime: naive UTC text.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ")


def _insert_sqlite(rows):
    table, columns, _ = _table_and_columns()
    placeholders = ", ".join(["?"] * len(COLUMNS))
    created = {}  # one batch usually shares its created_at: format it once
    prepared = [
        (
            *row[:6],
            _naive_utc_text(row[6]),
            row[7],
            created.get(row[8]) or created.setdefault(row[8], _naive_utc_text(row[8])),
        )
        for row in rows
    ]
    connection.ensure_connection()
    cursor = connection.connection.cursor()  # the sqlite3 cursor: no per-row placeholder rewriting
    try:
        before = connection.connection.total_changes
        cursor.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({placeholders})", prepared)
        return connection.connection.total_changes - before
    finally:
        cursor.close()


def _insert_postgresql(rows):
    table, columns, event_column = _table_and_columns()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS answers_incoming ON COMMIT DROP "
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE answers_incoming")
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY answers_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM answers_incoming "
            f"ON CONFLICT ({event_column}) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE answers_incoming")
        return inserted


def _insert_orm(rows):
    unique = {}
    for row in rows:
        unique.setdefault(row[7], row)
    existing = set(TrainingData.objects.filter(event_id__in=list(unique)).values_list("event_id", flat=True))
    objects = [
        TrainingData(**dict(zip(COLUMNS, row, strict=True))) for key, row in unique.items() if key not in existing
    ]
    TrainingData.objects.bulk_create(objects, batch_size=5000)
    return len(objects)


# ------------------------------------------------------------------ validation of one answer
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
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidAnswer(f"answered_at must be an ISO 8601 date or datetime, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    when = parse_timestamp(answered_at, now)
    if when > now + timedelta(minutes=5):
        raise InvalidAnswer(f"answered_at {when.isoformat()} is in the future")
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


# ------------------------------------------------------------------------------ file import
OUR_COLUMNS = (
    "user_id",
    "question_id",
    "correct",
    "answered_at",
    "module",
    "response_time_ms",
    "difficulty",
    "event_id",
)
ASSISTMENTS_COLUMNS = ("user_id", "item_id", "timestamp", "correct", "skill_id")


class ImportFailed(Exception):
    """The file cannot be imported; nothing of it was kept."""


@dataclass
class ImportReport:
    layout: str = ""
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    invalid: int = 0
    reasons: Counter = field(default_factory=Counter)


def _detect_delimiter(path: Path, first_line: str, file_format: str | None) -> str:
    if file_format:
        return {"csv": ",", "tsv": "\t"}[file_format]
    if path.suffix.lower() == ".tsv" or ("\t" in first_line and "," not in first_line):
        return "\t"
    return ","


def _detect_layout(header: list[str]) -> str:
    names = {name.strip().lower() for name in header}
    if {"user_id", "item_id", "correct"} <= names:
        return "assistments"
    if {"user_id", "question_id", "correct"} <= names:
        return "ours"
    raise ImportFailed(
        f"line 1: unknown header {header!r}; expected our layout ({', '.join(OUR_COLUMNS)}; the first three "
        f"required) or the ASSISTments layout ({', '.join(ASSISTMENTS_COLUMNS)})"
    )


def _raw_answer(layout: str, record: dict) -> dict:
    if layout == "assistments":
        return {
            "user_id": record.get("user_id"),
            "question_id": record.get("item_id"),
            "correct": record.get("correct"),
            "answered_at": record.get("timestamp"),
            "module": record.get("skill_id") or "",
        }
    raw = {name: record.get(name) for name in OUR_COLUMNS if record.get(name) not in (None, "")}
    return {"user_id": None, "question_id": None, "correct": None, **raw}


def answer_file_rows(
    path: str | Path, *, report: ImportReport | None = None, file_format: str | None = None, skip_invalid: bool = False
) -> Iterator[tuple]:
    """Validated answer rows of a CSV/TSV file (our layout or ASSISTments'), streamed.

    Raises :class:`ImportFailed` naming the line and the reason at the first bad row, unless
    ``skip_invalid`` (then the row is counted in ``report``). Rows without an event id get one
    derived from their line number and content, so the same file always gives the same ids.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file")
    now = timezone.now()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
        delimiter = _detect_delimiter(path, first_line, file_format)
        header = next(csv.reader([first_line], delimiter=delimiter), [])
        layout = _detect_layout(header)
        names = [name.strip().lower() for name in header]
        report = report if report is not None else ImportReport(layout=layout)
        report.layout = layout
        for line_number, values, raw_line in _numbered_lines(path, delimiter):
            report.read += 1
            try:
                if len(values) > len(names):
                    raise InvalidAnswer(f"{len(values)} fields where the header has {len(names)}")
                raw = _raw_answer(layout, dict(zip(names, values, strict=False)))
                if not raw.get("event_id"):
                    digest = hashlib.sha256(f"{line_number}\x1f{raw_line}".encode()).hexdigest()[:40]
                    raw["event_id"] = f"import-{digest}"
                row = answer_row(**raw, now=now)
            except InvalidAnswer as error:
                if not skip_invalid:
                    raise ImportFailed(f"line {line_number}: {error}") from None
                report.invalid += 1
                report.reasons[str(error)] += 1
                continue
            yield row
    except UnicodeDecodeError as error:
        raise ImportFailed(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); re-save it as UTF-8"
        ) from None
    except csv.Error as error:
        raise ImportFailed(f"{path}: malformed {file_format or 'CSV/TSV'} ({error})") from None


def training_data_import(
    *, path: str | Path, file_format: str | None = None, skip_invalid: bool = False, chunk_size: int = 20_000
) -> ImportReport:
    """Import an answers file; all-or-nothing unless ``skip_invalid``; importing it again adds nothing."""
    report = ImportReport(layout="")
    chunk: list[tuple] = []

    def flush():
        inserted = answers_insert(chunk)
        report.inserted += inserted
        report.duplicates += len(chunk) - inserted
        chunk.clear()

    try:
        with transaction.atomic():
            for row in answer_file_rows(path, report=report, file_format=file_format, skip_invalid=skip_invalid):
                chunk.append(row)
                if len(chunk) >= chunk_size:
                    flush()
            flush()
    except ImportFailed as error:
        raise ImportFailed(f"{error}; nothing was imported") from None
    return report


def _numbered_lines(path: Path, delimiter: str) -> Iterator[tuple[int, list[str], str]]:
    """(line number, fields, raw line) for each data line after the header; blank lines skipped."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        next(handle, None)  # header
        for number, raw_line in enumerate(handle, start=2):
            stripped = raw_line.rstrip("\r\n")
            if not stripped.strip():
                continue
            yield number, next(csv.reader([stripped], delimiter=delimiter)), stripped


# ------------------------------------------------------------------------------- demo data
@dataclass
class DemoTruth:
    ability: dict
    difficulty: dict
    discrimination: dict


MODULES = ("algebra", "geometry", "statistics", "grammar", "vocabulary", "reading")


def demo_data_generate(
    *, users: int, questions: int, answers: int, seed: int, end: datetime | None = None, days: int = 28
) -> tuple[int, DemoTruth]:
    """Answers drawn from a known 2PL model; returns (answers inserted, the true parameters).

    Abilities ~ N(0, 1); difficulties ~ N(0, 1.5^2); discriminations log-normal around 1.5.
    Each user's answers are spread, in order, over the ``days`` before ``end`` (default: today,
    midnight UTC, so a seed gives the same rows all day). Event ids derive from the seed: running
    it twice adds nothing.
    """
    if min(users, questions, answers) < 1:
        raise ValueError("users, questions and answers must all be at least 1")
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, users)
    b = rng.normal(0.0, 1.5, questions)
    a = rng.lognormal(np.log(1.5), 0.25, questions)
    question_module = rng.integers(0, len(MODULES), questions)
    labelled = rng.random(questions) < 0.5
    label = np.round(b + rng.normal(0.0, 0.3, questions), 1)

    user_of = np.sort(rng.integers(0, users, answers))
    item_of = rng.integers(0, questions, answers)
    p = 1.0 / (1.0 + np.exp(-a[item_of] * (theta[user_of] - b[item_of])))
    correct = rng.random(answers) < p
    seconds = np.exp(rng.normal(np.log(15.0), 0.5, answers)) * np.where(correct, 0.8, 1.2)
    end = end or timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    offsets = rng.random(answers) * days * 86400.0
    # user_of is sorted: ordering by (user, time) keeps each user's answers in time order.
    offsets = offsets[np.lexsort((offsets, user_of))]
    # Store them as they would have arrived: in time order.
    arrival = np.argsort(offsets, kind="stable")

    user_hashes = [hash_user_id(f"demo-user-{k}") for k in range(users)]
    question_ids = [f"q{k + 1:04d}" for k in range(questions)]
    modules = [MODULES[m] for m in question_module.tolist()]
    labels = [float(x) if flag else None for x, flag in zip(label.tolist(), labelled.tolist(), strict=True)]
    columns = zip(
        arrival.tolist(),
        user_of[arrival].tolist(),
        item_of[arrival].tolist(),
        correct[arrival].tolist(),
        (seconds[arrival] * 1000).astype(np.int64).tolist(),
        offsets[arrival].tolist(),
        strict=True,
    )
    now = timezone.now()
    rows = [
        (
            user_hashes[u],
            question_ids[q],
            modules[q],
            labels[q],
            right,
            time_ms,
            start + timedelta(seconds=offset),
            f"demo-{seed}-{k}",
            now,
        )
        for k, u, q, right, time_ms, offset in columns
    ]
    inserted = 0
    with transaction.atomic():
        for begin in range(0, answers, 50_000):
            inserted += answers_insert(rows[begin : begin + 50_000])
    truth = DemoTruth(
        ability={f"demo-user-{k}": float(theta[k]) for k in range(users)},
        difficulty={q: float(b[k]) for k, q in enumerate(question_ids)},
        discrimination={q: float(a[k]) for k, q in enumerate(question_ids)},
    )
    return inserted, truth
