"""Store demo answers drawn from a known 2PL model (deterministic for a seed; re-running adds nothing)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training_data.services import demo_data_generate


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=400, help="Number of learners (default 400).")
        parser.add_argument("--questions", type=int, default=60, help="Number of questions (default 60).")
        parser.add_argument("--answers", type=int, default=20_000, help="Number of answers (default 20,000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--module-sd",
            type=float,
            default=0.0,
            help="SD of each learner's deviation of ability per module (default 0: one ability everywhere).",
        )
        parser.add_argument("--truth", metavar="FILE", help="Write the true abilities and item parameters as JSON.")

    def handle(self, *args, **options):
        try:
            inserted, truth = demo_data_generate(
                users=options["users"],
                questions=options["questions"],
                answers=options["answers"],
                seed=options["seed"],
                module_sd=options["module_sd"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        if options["truth"]:
            Path(options["truth"]).write_text(json.dumps(truth.__dict__, indent=1))
        skipped = options["answers"] - inserted
        self.stdout.write(
            self.style.SUCCESS(f"Generated {inserted} demo answers")
            + (f" ({skipped} already present)" if skipped else "")
            + f" from {options['users']} users and {options['questions']} questions (seed {options['seed']})."
        )
