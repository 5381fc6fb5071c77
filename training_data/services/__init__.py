"""Writing answers: the fast bulk insert every door uses, file imports, and demo data.

One module per concern: ``insert`` (:func:`answers_insert`), ``ingest`` (:func:`answers_ingest`,
the API's JSON answers), ``file_import``
(:func:`training_data_import`, :func:`answer_file_rows`) and ``demo`` (:func:`demo_data_generate`).
The validation of one raw answer lives in :mod:`training_data.validation`; it is re-exported here
so callers keep their imports.
"""

from ..errors import ImportFailed, InvalidAnswer, TrainingDataError
from ..validation import answer_row, answered_at_check, parse_correct, parse_timestamp
from .demo import MODULES, DemoTruth, demo_data_generate
from .file_import import (
    ASSISTMENTS_COLUMNS,
    OUR_COLUMNS,
    ImportReport,
    answer_file_rows,
    training_data_import,
)
from .ingest import JSON_FIELDS, IngestResult, answers_ingest
from .insert import COLUMNS, answers_insert

__all__ = [
    "ASSISTMENTS_COLUMNS",
    "COLUMNS",
    "JSON_FIELDS",
    "MODULES",
    "OUR_COLUMNS",
    "DemoTruth",
    "ImportFailed",
    "ImportReport",
    "IngestResult",
    "InvalidAnswer",
    "TrainingDataError",
    "answer_file_rows",
    "answer_row",
    "answered_at_check",
    "answers_ingest",
    "answers_insert",
    "demo_data_generate",
    "parse_correct",
    "parse_timestamp",
    "training_data_import",
]
