"""Structured logs: one JSON object per line (settings.LOGGING's formatter, gunicorn's access log)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from gunicorn.glogging import Logger, SafeAtoms


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra fields}`` on one line."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class JsonSafeAtoms(SafeAtoms):
    """gunicorn's access-log values escaped for a JSON string: quotes, backslashes, newlines, NULs and
    every other control character a client can put into a path, a query or a header."""

    def __init__(self, atoms):
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value


class GunicornLogger(Logger):
    """gunicorn's logger, whose access lines (``access_log_format`` in gunicorn.conf.py) stay valid JSON."""

    atoms_wrapper_class = JsonSafeAtoms
