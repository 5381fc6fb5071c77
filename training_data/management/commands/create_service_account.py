"""Create (or update) a non-staff account for the quiz application and print its password once. It may
ingest answers (POST /api/training-data); with --serve it may also read predictions, live abilities
and next questions. Nothing else."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username", help="Account name, e.g. quiz-app.")
        parser.add_argument(
            "--serve",
            action="store_true",
            help="Also grant retraining.serve_predictions: predict, learner ability and next question.",
        )

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=options["username"])
        if not created and (user.is_staff or user.is_superuser):
            raise CommandError(f"{user.username} is a staff account; pick another name for the service account")
        password = secrets.token_urlsafe(24)
        user.set_password(password)
        user.save()
        grants = [("training_data", "add_trainingdata")]
        if options["serve"]:
            grants.append(("retraining", "serve_predictions"))
        for app_label, codename in grants:
            user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app_label))
        may = (
            "ingest answers and serve predictions, abilities and next questions"
            if options["serve"]
            else "ingest answers"
        )
        self.stdout.write(
            self.style.SUCCESS(f"{'Created' if created else 'Updated'} {user.username}")
            + f"; it may {may} only. Password (shown once): {password}"
        )
