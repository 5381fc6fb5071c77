import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create (or update) a non-staff account that may only ingest answers through POST /api/training-data, "
        "and print its password once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="Account name, e.g. quiz-app.")

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=options["username"])
        if not created and (user.is_staff or user.is_superuser):
            raise CommandError(f"{user.username} is a staff account; pick another name for the ingest account")
        password = secrets.token_urlsafe(24)
        user.set_password(password)
        user.save()
        user.user_permissions.add(
            Permission.objects.get(codename="add_trainingdata", content_type__app_label="training_data")
        )
        self.stdout.write(
            self.style.SUCCESS(f"{'Created' if created else 'Updated'} {user.username}")
            + f"; it may ingest answers only. Password (shown once): {password}"
        )
