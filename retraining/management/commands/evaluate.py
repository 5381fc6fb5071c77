import json

from django.core.management.base import BaseCommand, CommandError

from retraining import selectors, services
from retraining.errors import RetrainingError
from retraining.irt.metrics import METRICS
from training_data.services import ImportFailed


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
            backtest = services.version_backtest(version=version, path=options["file"], file_format=options["format"])
        except (RetrainingError, ImportFailed) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(backtest.as_json(), indent=2))
            return
        self.stdout.write(
            f"Model {version.version} ({version.model_type}) on {backtest.answers} answers from {options['file']}:"
        )
        for metric in METRICS:
            if backtest.metrics.get(metric.key) is not None:
                self.stdout.write(f"   {metric.label}: {metric.format(backtest.metrics[metric.key])}")
        self.stdout.write(f"   Cold starts (unknown user or question): {backtest.cold_start_share:.1%}")
