"""Deploy a model version (or roll back to an earlier one), e.g. `manage.py deploy v2`."""

from django.core.management.base import BaseCommand, CommandError

from retraining import selectors, services
from retraining.errors import RetrainingError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("version", help='Version name like "v2" (or its primary key).')
        parser.add_argument("--reason", default="", help="Why; kept in the deployment history.")

    def handle(self, *args, **options):
        try:
            version = selectors.version_get(options["version"])
            deployment = services.version_deploy(
                version=version,
                actor_name="manage.py deploy",
                reason=options["reason"] or "deployed from the command line",
            )
        except RetrainingError as error:
            raise CommandError(str(error)) from None
        if deployment is None:
            self.stdout.write(f"{version.version} already serves as the production model; nothing changed.")
            return
        previous = deployment.previous_version.version if deployment.previous_version else "none"
        self.stdout.write(
            self.style.SUCCESS(f"{version.version} is now the production model")
            + f" ({deployment.action}; previous: {previous}; deployed at {version.deployed_at.isoformat()})."
        )
