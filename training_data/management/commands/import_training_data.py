"""Import historical answers from a CSV/TSV file: our layout (user_id, question_id, correct,
answered_at, module, response_time_ms, difficulty, event_id; the first three required) or the
ASSISTments layout (user_id, item_id, timestamp, correct, skill_id). All-or-nothing and idempotent."""

from django.core.management.base import BaseCommand, CommandError

from training_data.services import ImportFailed, training_data_import


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV or TSV file (with a header line).")
        parser.add_argument(
            "--format", choices=["csv", "tsv"], help="Delimiter; detected from the name and first line when omitted."
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows and report the invalid ones."
        )

    def handle(self, *args, **options):
        try:
            report = training_data_import(
                path=options["file"], file_format=options["format"], skip_invalid=options["skip_invalid"]
            )
        except ImportFailed as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Imported {report.inserted} answers")
            + f" from {report.read} rows ({report.layout} layout): "
            f"{report.duplicates} already present, {report.invalid} invalid."
        )
        for reason, count in report.reasons.most_common(10):
            self.stdout.write(f"  skipped {count}: {reason}")
