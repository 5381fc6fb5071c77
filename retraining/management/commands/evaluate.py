import json

from django.core.management.base import BaseCommand, CommandError

from retraining import selectors
from retraining.errors import RetrainingError
from retraining.irt import metrics
from retraining.serving import StoredModel
from training_data.services import ImportFailed, answer_file_rows


class Command(BaseCommand):
    help = (
        "Backtest a stored model version on an answers file (the import layouts): its held-out metrics on "
        "those answers, without storing anything."
    )

    def add_arguments(self, parser):
        parser.add_argument("version", help='Version name like "v2" (or its primary key).')
        parser.add_argument("file", help="CSV/TSV answers file in one of the import layouts.")
        parser.add_argument("--format", choices=["csv", "tsv"], help="Delimiter; detected when omitted.")
        parser.add_argument("--json", action="store_true", help="Print the metrics as JSON.")

    def handle(self, *args, **options):
        try:
            version = selectors.version_get(options["version"])
            rows = list(answer_file_rows(options["file"], file_format=options["format"]))
        except (RetrainingError, ImportFailed) as error:
            raise CommandError(str(error)) from None
        if not rows:
            raise CommandError(f"{options['file']} holds no answers to evaluate")
        if version.status in ("training", "failed"):
            raise CommandError(f"Version {version.version} has no usable model (status {version.status})")
        prediction = StoredModel.from_version(version).predict([r[0] for r in rows], [r[1] for r in rows])
        scores = metrics.evaluate([r[4] for r in rows], prediction.probability)
        cold = float((prediction.cold_user | prediction.cold_question).mean())
        if options["json"]:
            body = {"version": version.version, "answers": len(rows), "coldStartShare": cold, "metrics": scores}
            self.stdout.write(json.dumps(body, indent=2))
            return
        self.stdout.write(
            f"Model {version.version} ({version.model_type}) on {len(rows)} answers from {options['file']}:"
        )
        for key, label in (
            ("accuracy", "Accuracy"),
            ("precision", "Precision"),
            ("recall", "Recall"),
            ("f1Score", "F1 Score"),
        ):
            self.stdout.write(f"   {label}: {scores[key]:.2%}")
        for key, label in (
            ("rmse", "RMSE"),
            ("mae", "MAE"),
            ("auc", "AUC"),
            ("logLoss", "Log-loss"),
            ("brierScore", "Brier"),
        ):
            if scores[key] is not None:
                self.stdout.write(f"   {label}: {scores[key]:.4f}")
        self.stdout.write(f"   Cold starts (unknown user or question): {cold:.1%}")
