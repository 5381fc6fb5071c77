"""Business errors raised by the retraining services; each door maps them (HTTP status, exit code)."""


class RetrainingError(Exception):
    """Base of the expected, user-facing errors; ``default_message`` when raised without one."""

    code = "retraining_error"
    default_message = ""

    def __init__(self, message: str | None = None):
        message = message or self.default_message
        super().__init__(*([message] if message else []))


class TrainingInProgress(RetrainingError):
    code = "training_in_progress"
    default_message = "Training already in progress"

    def __init__(self, message=None, *, version=None, started_at=None):
        super().__init__(message)
        self.version = version
        self.started_at = started_at


class NoTrainingData(RetrainingError):
    code = "no_training_data"
    default_message = "No training data available"


class VersionNotFound(RetrainingError):
    code = "version_not_found"


class JobNotFound(RetrainingError):
    code = "job_not_found"


class VersionNotDeployable(RetrainingError):
    code = "version_not_deployable"


class NoProductionModel(RetrainingError):
    code = "no_production_model"
    default_message = "No production model: train one (retrain) or deploy a version"


class NotComparable(RetrainingError):
    """Two versions cannot be compared: the same one twice, one without a model, or no answers."""

    code = "not_comparable"
