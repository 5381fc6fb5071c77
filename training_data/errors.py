"""Errors raised by the answers' services; each door maps them (the API's exception handler: 400)."""


class TrainingDataError(ValueError):
    """Base of the expected, user-facing errors about answers; the message says how to fix the input."""

    code = "invalid"


class InvalidAnswer(TrainingDataError):
    """Answers that cannot be stored; ``errors`` lists the bad rows as ``{"index", "error"}``."""

    def __init__(self, message: str, *, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


class ImportFailed(TrainingDataError):
    """The file cannot be imported; nothing of it was kept."""
