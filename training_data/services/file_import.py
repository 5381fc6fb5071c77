"""Importing answers files (our CSV/TSV layout or ASSISTments'), streamed and all-or-nothing."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from ..errors import ImportFailed
from ..postgresql_layout import answer_keys_summarize, learner_totals_deferred
from ..validation import InvalidAnswer, answer_row
from .insert import answers_insert

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
        with transaction.atomic(), learner_totals_deferred():  # the learners' rows locked at the end only
            for row in answer_file_rows(path, report=report, file_format=file_format, skip_invalid=skip_invalid):
                chunk.append(row)
                if len(chunk) >= chunk_size:
                    flush()
            flush()
    except ImportFailed as error:
        raise ImportFailed(f"{error}; nothing was imported") from None
    answer_keys_summarize()
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
