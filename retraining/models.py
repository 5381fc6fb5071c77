from django.conf import settings
from django.db import models
from django.db.models import Q

from .cutoff import Cutoff


def algorithm_choices() -> list[tuple[str, str]]:
    """The registered algorithms and their labels (``services/algorithms.py``, the one list):
    read when the choices are, so registering one needs no migration."""
    from .services.algorithms import ALGORITHMS

    return [(algorithm.name, algorithm.label) for algorithm in ALGORITHMS.values()]


class ModelVersionQuerySet(models.QuerySet):
    def finished(self):
        """Versions whose training ended with a model (failed and running ones excluded)."""
        return self.filter(status__in=ModelVersion.FINISHED)

    def deployable(self):
        """Versions that may be deployed now: finished, and not the one serving."""
        return self.filter(status__in=ModelVersion.DEPLOYABLE)


class ModelVersion(models.Model):
    """One training run and the model it produced."""

    class Status(models.TextChoices):
        TRAINING = "training"
        COMPLETED = "completed"
        FAILED = "failed"
        DEPLOYED = "deployed"
        ARCHIVED = "archived"

    #: Statuses of a version whose training ended with a model.
    FINISHED = (Status.COMPLETED, Status.DEPLOYED, Status.ARCHIVED)
    #: Statuses of a version that may be deployed now (finished, not serving).
    DEPLOYABLE = (Status.COMPLETED, Status.ARCHIVED)

    version = models.CharField(max_length=32, unique=True, help_text='"v1", "v2", ...; never reused.')
    number = models.PositiveIntegerField(unique=True, editable=False)
    model_type = models.CharField(max_length=16, choices=algorithm_choices, default="irt-2pl")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    is_production = models.BooleanField(default=False)
    summaries = models.JSONField(
        default=dict,
        blank=True,
        help_text="Parameter summaries, cold start, fit and module spreads. The per-question and per-learner "
        "parameters are in ParameterChunk rows (see parameters).",
    )
    metrics = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    decision = models.JSONField(default=dict, blank=True, help_text="The auto-deploy gate's decision and reason.")
    training_data_count = models.PositiveIntegerField(default=0)
    data_first_answer_at = models.DateTimeField(null=True, blank=True)
    data_last_answer_at = models.DateTimeField(null=True, blank=True)
    data_digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the answer ids used.")
    data_cutoff_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Training cutoff: the largest answer key in its data. Keys grow in arrival order, so answers "
        "with a larger key arrived later and this version never saw them.",
    )
    data_cutoff_at = models.DateTimeField(
        null=True, blank=True, help_text="Arrival time of that answer (the cutoff where keys are not integers)."
    )
    training_started_at = models.DateTimeField(null=True, blank=True)
    training_completed_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds from start to completion.")
    deployed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_production"], condition=Q(is_production=True), name="one_production_version"
            ),
            models.CheckConstraint(
                condition=Q(is_production=False) | Q(status="deployed"), name="production_version_is_deployed"
            ),
        ]
        permissions = [
            ("deploy_modelversion", "Can deploy (or roll back to) a model version"),
            ("retrain_model", "Can start a retraining run"),
            ("serve_predictions", "Can read predictions, live abilities and next questions (the quiz app)"),
        ]

    def __str__(self) -> str:
        return self.version

    @property
    def is_finished(self) -> bool:
        """Its training ended with a model (it can predict, be backtested, be deployed)."""
        return self.status in self.FINISHED

    @property
    def is_deployable(self) -> bool:
        """It may be deployed now: finished, and not the one serving."""
        return self.status in self.DEPLOYABLE

    @property
    def cutoff(self) -> Cutoff:
        return Cutoff(self.data_cutoff_id, self.data_cutoff_at)

    @property
    def parameters(self) -> dict:
        """Every parameter as one dict, in the shape once stored in this row: the summaries plus
        ``questions``, ``users`` and module deviations read from its chunks ({} without a model).
        Loads every learner: serving reads the arrays instead (:mod:`retraining.serving`)."""
        from .parameter_store import parameters_json

        return parameters_json(self)


class ParameterChunk(models.Model):
    """A piece of one version's per-question and per-learner parameters (:mod:`retraining.parameter_set`
    bytes, cut into pieces of at most ``parameter_store.CHUNK_BYTES``): rows of a few MB fit every
    database, MongoDB's 16 MB document limit included, whatever the learner count."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="parameter_chunks")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["version", "index"]
        constraints = [models.UniqueConstraint(fields=["version", "index"], name="one_parameter_chunk_per_index")]

    def __str__(self) -> str:
        return f"{self.version_id} parameters, part {self.index}"


class Deployment(models.Model):
    """Audit trail: every deploy, rollback and auto-deploy."""

    class Action(models.TextChoices):
        AUTO_DEPLOY = "auto-deploy"
        DEPLOY = "deploy"
        ROLLBACK = "rollback"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="deployments")
    previous_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, help_text="Who acted, kept if the user is deleted.")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "deployment"

    def __str__(self) -> str:
        return f"{self.action} {self.version} (was {self.previous_version or 'none'})"


class TrainingLock(models.Model):
    """The one-training-at-a-time lock: a row claimed under a unique name, held by a lease.

    The trainer renews ``expires_at`` (heartbeat) while it works; a process killed mid-run stops
    renewing, the lease runs out, and the next run takes the row over and fails the orphan version.
    """

    name = models.CharField(max_length=32, unique=True)
    owner = models.CharField(max_length=64)
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    acquired_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    progress = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner}"


class MonitoringDay(models.Model):
    """The serving version scored on one day's answers that arrived after its training cutoff."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="monitoring_days")
    date = models.DateField(help_text="Day the answers were given (UTC).")
    answers = models.PositiveIntegerField()
    accuracy = models.FloatField()
    log_loss = models.FloatField()
    log_loss_square = models.FloatField(help_text="Mean squared per-answer log-loss, to pool days' variances.")
    brier_score = models.FloatField()
    auc = models.FloatField(null=True, blank=True, help_text="None when the day's answers are all right or all wrong.")
    ece = models.FloatField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "date"]
        constraints = [models.UniqueConstraint(fields=["version", "date"], name="one_monitoring_row_per_day")]

    def __str__(self) -> str:
        return f"{self.version} on {self.date}"
