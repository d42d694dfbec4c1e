"""`manage.py create_api_client NAME`: print a new API key (shown only once)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from routing.intake.models import ApiClient


class Command(BaseCommand):
    help = "Create an API client (REST API and Open311) and print its key."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        name = name.strip()
        if not name:
            raise CommandError("the client needs a name")
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"an API client named {name!r} already exists")
        _, key = ApiClient.create_with_key(name)
        self.stdout.write(key)
