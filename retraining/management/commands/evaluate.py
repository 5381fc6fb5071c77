"""Backtest a stored model version on an answers file (the import layouts): its metrics on those
answers, without storing anything. With --against, compare it with another version on the same
answers (the file's, or by default the stored answers neither trained on): paired differences with
95 % intervals."""

import json

from django.core.management.base import BaseCommand, CommandError

from retraining import selectors, services
from retraining.errors import RetrainingError
from retraining.irt.metrics import METRICS
from retraining.management.text import difference_lines, trained_shares
from retraining.services.comparison import compare, compare_on_file
from training_data.services import ImportFailed


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("version", help='Version name like "v2" (or its primary key).')
        parser.add_argument(
            "file", nargs="?", help="CSV/TSV answers file in one of the import layouts (optional with --against)."
        )
        parser.add_argument("--against", metavar="VERSION", help="Compare with this version on the same answers.")
        parser.add_argument("--format", choices=["csv", "tsv"], help="Delimiter; detected when omitted.")
        parser.add_argument("--json", action="store_true", help="Print the metrics as JSON.")

    def handle(self, *args, **options):
        if options["against"]:
            return self._compare(options)
        if not options["file"]:
            raise CommandError("Give an answers file, or --against VERSION to compare two versions")
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

    def _compare(self, options):
        try:
            version = selectors.version_get(options["version"])
            other = selectors.version_get(options["against"])
            if options["file"]:
                result = compare_on_file(version, other, path=options["file"], file_format=options["format"])
            else:
                result = compare(version, other)
        except (RetrainingError, ImportFailed) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        compared = result.as_json()
        where = f"the answers in {options['file']}" if options["file"] else f"the {result.selection} answers"
        self.stdout.write(f"{result.a} against {result.b} on {where} ({result.answers} answers):")
        self.stdout.write(f"   Share each trained on: {trained_shares(compared)}")
        for line in difference_lines(compared):
            self.stdout.write(line)
        if result.auc_difference is not None:
            self.stdout.write(f"   AUC difference: {result.auc_difference:+.4f}")
        self.stdout.write(f"   Intervals: {result.method}")
