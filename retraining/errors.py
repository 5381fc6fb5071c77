"""Business errors raised by the retraining services; each door maps them (HTTP status, exit code)."""


class RetrainingError(Exception):
    """Base of the expected, user-facing errors."""

    code = "retraining_error"


class TrainingInProgress(RetrainingError):
    code = "training_in_progress"

    def __init__(self, message="Training already in progress", *, version=None, started_at=None):
        super().__init__(message)
        self.version = version
        self.started_at = started_at


class NoTrainingData(RetrainingError):
    code = "no_training_data"

    def __init__(self, message="No training data available"):
        super().__init__(message)


class VersionNotFound(RetrainingError):
    code = "version_not_found"


class JobNotFound(RetrainingError):
    code = "job_not_found"


class VersionNotDeployable(RetrainingError):
    code = "version_not_deployable"


class NoProductionModel(RetrainingError):
    code = "no_production_model"

    def __init__(self, message="No production model: train one (retrain) or deploy a version"):
        super().__init__(message)


class NotComparable(RetrainingError):
    """Two versions cannot be compared: the same one twice, one without a model, or no answers."""

    code = "not_comparable"
