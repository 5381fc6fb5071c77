"""Writing answers: the fast bulk insert every door uses, file imports, and demo data.

One module per concern: ``insert`` (:func:`answers_insert`), ``file_import``
(:func:`training_data_import`, :func:`answer_file_rows`) and ``demo`` (:func:`demo_data_generate`).
The validation of one raw answer lives in :mod:`training_data.validation`; it is re-exported here
so callers keep their imports.
"""

from ..validation import InvalidAnswer, answer_row, parse_correct, parse_timestamp
from .demo import MODULES, DemoTruth, demo_data_generate
from .file_import import (
    ASSISTMENTS_COLUMNS,
    OUR_COLUMNS,
    ImportFailed,
    ImportReport,
    answer_file_rows,
    training_data_import,
)
from .insert import COLUMNS, answers_insert

__all__ = [
    "ASSISTMENTS_COLUMNS",
    "COLUMNS",
    "MODULES",
    "OUR_COLUMNS",
    "DemoTruth",
    "ImportFailed",
    "ImportReport",
    "InvalidAnswer",
    "answer_file_rows",
    "answer_row",
    "answers_insert",
    "demo_data_generate",
    "parse_correct",
    "parse_timestamp",
    "training_data_import",
]
