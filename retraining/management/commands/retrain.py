"""Retrain the IRT model on the latest answers, evaluate it on held-out answers and deploy it when it
passes the gate. Exit codes: 0 done (deployed or not, or skipped by --min-new-answers), 1 error, 3
training already in progress."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from retraining import progress, selectors, services
from retraining.errors import RetrainingError, TrainingInProgress
from retraining.irt.metrics import METRIC, METRICS
from retraining.management.text import difference_lines, trained_shares
from retraining.representations import job_body, retrain_body
from retraining.services import monitoring

RULE = "=" * 60
EXIT_ERROR = 1
EXIT_IN_PROGRESS = 3


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since must be a date like 2024-01-31, got {text!r}") from None


def _progress_printer(write):
    """The run's reported steps as the report's ``[tag] text`` lines."""

    def print_step(step: str, facts: dict) -> None:
        for tag, text in progress.lines(step, facts):
            write(f"[{tag}] {text}")

    return print_step


def _request(options: dict) -> dict:
    """What to train, from the command's options (the same for a run and a queued job)."""
    return {
        "limit": options["limit"],
        "since": options["since"],
        "auto_deploy": not options["no_auto_deploy"],
        "algorithm": options["algorithm"],
        "split": options["split"],
    }


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, help="Use at most the N most recent answers (default 10000).")
        parser.add_argument("--since", type=_date, help="Use only answers given on or after this date (YYYY-MM-DD).")
        parser.add_argument(
            "--no-auto-deploy", action="store_true", help="Never deploy the new version, whatever its metrics."
        )
        parser.add_argument(
            "--algorithm", choices=list(services.ALGORITHMS), default="irt-2pl", help="Model to fit (default irt-2pl)."
        )
        parser.add_argument(
            "--split", choices=services.SPLITS, default="random", help="Hold out random answers or each user's latest."
        )
        parser.add_argument(
            "--min-new-answers",
            type=int,
            metavar="N",
            help="Skip (exit 0) unless at least N answers arrived since the last trained version.",
        )
        parser.add_argument(
            "--if-degraded",
            action="store_true",
            help="Run the monitor first; retrain only when production is degraded (exit 0 when healthy).",
        )
        parser.add_argument("--json", action="store_true", help="Print only the JSON body of POST /api/mlops/retrain.")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue the retrain as a job for the worker (manage.py db_worker) and exit, as the API's "
            '"wait": false does; prints the job id.',
        )

    def handle(self, *args, **options):
        as_json = options["json"]
        skipped = self._skip_reason(options)
        if skipped:
            self.stdout.write(json.dumps({"success": True, "skipped": True, "reason": skipped}) if as_json else skipped)
            return
        write = (lambda line: None) if as_json else self.stdout.write
        if options["enqueue"]:
            return self._enqueue(options, as_json)
        self._banner(write)
        try:
            result = services.retrain(
                **_request(options),
                actor_name="manage.py retrain",
                progress=_progress_printer(write),
            )
        except TrainingInProgress as error:
            raise CommandError(self._failure(write, f"{error}"), returncode=EXIT_IN_PROGRESS) from None
        except RetrainingError as error:
            raise CommandError(self._failure(write, str(error)), returncode=EXIT_ERROR) from None
        except Exception as error:
            # A bug, not an expected failure: say so on the console and keep its traceback (the
            # version is already marked failed with the error by the service).
            self._failure(write, f"{type(error).__name__}: {error}")
            raise
        if as_json:
            self.stdout.write(json.dumps(retrain_body(result), indent=2))
        else:
            self._report(write, result)

    def _skip_reason(self, options) -> str | None:
        """Why this run is skipped (--if-degraded, --min-new-answers), or None to train."""
        if options["if_degraded"]:
            health = monitoring.monitor()
            if health is None or not health.degraded:
                why = "no production model to watch" if health is None else health.reason
                return f"Skipped: production is not degraded ({why})."
            if not options["json"]:
                self.stdout.write(f"Production {health.version} is degraded: {health.reason}")
        if options["min_new_answers"] is not None:
            fresh = selectors.new_answers_count()
            if fresh is not None and fresh < options["min_new_answers"]:
                return f"Skipped: {fresh} new answers since the last version, fewer than {options['min_new_answers']}."
        return None

    def _enqueue(self, options, as_json):
        try:
            job = services.retrain_enqueue(**_request(options))
        except TrainingInProgress as error:
            raise CommandError(str(error), returncode=EXIT_IN_PROGRESS) from None
        except RetrainingError as error:
            raise CommandError(str(error), returncode=EXIT_ERROR) from None
        if as_json:
            self.stdout.write(json.dumps({"success": True, **job_body(job)}, indent=2))
        else:
            self.stdout.write(f"Queued retrain job {job.id}: manage.py db_worker runs it (status: {job.status}).")

    def _banner(self, write):
        write(RULE)
        write("ML OPS: AUTOMATED MODEL RETRAINING")
        write(RULE)
        write("")
        write(f"Connecting to {connection.vendor} database...")
        connection.ensure_connection()
        write("✅ Connected to database")
        write("")
        production = selectors.production_version()
        if production is None:
            write("Current production model: none")
        else:
            write(f"Current production model: {production.version}")
            accuracy = (production.metrics or {}).get("accuracy")
            if accuracy is not None:
                write(f"   {METRIC['accuracy'].label}: {METRIC['accuracy'].format(accuracy)}")
            write(f"   Deployed: {production.deployed_at.isoformat() if production.deployed_at else '-'}")
        write("")

    def _failure(self, write, message):
        write("")
        write(RULE)
        write(f"❌ RETRAINING FAILED: {message}")
        write(RULE)
        return message

    def _report(self, write, result):
        version = result.version
        m = version.metrics
        write("")
        write(RULE)
        write(self.style.SUCCESS("✅ RETRAINING COMPLETED SUCCESSFULLY"))
        write("")
        write("Results:")
        write(f"   Version: {version.version}")
        write(f"   Algorithm: {version.model_type}")
        write(f"   Training samples: {version.training_data_count}")
        write(f"   Duration: {version.duration:.2f}s")
        write("")
        write("Performance Metrics:")
        for metric in METRICS:
            if m.get(metric.key) is not None:
                write(f"   {metric.label}: {metric.format(m[metric.key])}")
        write(f"   Held-out answers: {m['validationCount']} (trained on {m['trainCount']})")
        baseline = m.get("baseline")
        if baseline:
            auc = f"AUC {METRIC['auc'].format(baseline['auc'])}, " if baseline.get("auc") is not None else ""
            accuracy = METRIC["accuracy"].format(baseline["accuracy"])
            write(
                f"   Heuristic baseline on the same answers: accuracy {accuracy}, "
                f"{auc}log-loss {METRIC['logLoss'].format(baseline['logLoss'])}"
            )
        compared = result.decision.get("comparison")
        if compared:
            self._comparison(write, compared)
        write("")
        if result.deployed:
            write(self.style.SUCCESS("Model deployed to production!"))
            write(f"   Why: {result.decision['reason']}")
        else:
            write(f"Model not deployed: {result.decision['reason']}.")
        if result.decision.get("needsReview"):
            write(self.style.WARNING("⚠️ NEEDS REVIEW: only the accuracy floor held back a better model."))
        write(RULE)
        write("")
        write("Database connection closed")

    def _comparison(self, write, compared: dict) -> None:
        write("")
        write(
            f"Compared with production {compared['b']} on {compared['answers']} {compared['selection']} answers "
            f"(share each trained on: {trained_shares(compared)}):"
        )
        for line in difference_lines(compared):
            write(line)
