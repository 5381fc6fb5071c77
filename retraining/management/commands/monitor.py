"""Score the production version on each day's answers that arrived after its training cutoff, store the
days, and say whether it is degraded against its deploy-time log-loss (for cron; exit 0 either way,
1 on error)."""

import json

from django.core.management.base import BaseCommand, CommandError

from retraining.errors import RetrainingError
from retraining.services import monitoring


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Days shown in the report (default 30).")
        parser.add_argument(
            "--json", action="store_true", help="Print the body of GET /api/mlops/production/monitoring."
        )

    def handle(self, *args, **options):
        if not 1 <= options["days"] <= 365:
            raise CommandError(f"--days must be between 1 and 365, got {options['days']}")
        try:
            result = monitoring.monitor()
        except RetrainingError as error:
            raise CommandError(str(error)) from None
        if result is None:
            message = "No production model: nothing to monitor."
            self.stdout.write(json.dumps({"version": None, "reason": message}) if options["json"] else message)
            return
        result = monitoring.health(monitoring.production_version(), days=options["days"])
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        base = result.baseline
        self.stdout.write(
            f"Production {result.version}: at deploy log-loss {base['logLoss']:.4f}, "
            f"accuracy {base['accuracy']:.2%} on {base['answers']} held-out answers"
        )
        self.stdout.write(f"{'date':<12}{'answers':>9}{'accuracy':>10}{'log-loss':>10}{'AUC':>8}{'ECE':>8}")
        for day in result.days:
            auc = f"{day.auc:.3f}" if day.auc is not None else "-"
            self.stdout.write(
                f"{day.date.isoformat():<12}{day.answers:>9}{day.accuracy:>10.2%}{day.log_loss:>10.4f}{auc:>8}"
                f"{day.ece:>8.3f}"
            )
        style = self.style.ERROR if result.degraded else self.style.SUCCESS
        self.stdout.write(style(("DEGRADED: " if result.degraded else "") + result.reason))
