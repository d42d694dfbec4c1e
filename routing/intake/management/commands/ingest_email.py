"""`manage.py ingest_email [FILE.eml | FILE.mbox | -]`: file mail from a file or stdin.

A mail server can pipe each delivery into this command. One line is printed per message;
the exit status is non-zero when any message was rejected (the others are still stored).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from routing.intake.email import is_mbox, split_mbox
from routing.intake.mail_intake import MailResult, ingest_email


class Command(BaseCommand):
    help = "Ingest RFC 822 email (one .eml message or an mbox file) from a file or stdin."
    # call_command(..., stdin=BytesIO(...)) stands in for the pipe in tests.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "source", nargs="?", default="-", help="an .eml or mbox file; '-' or none: stdin"
        )

    def handle(self, *args, source, **options):
        if source == "-":
            stream = options.get("stdin") or sys.stdin.buffer
            data = stream.read()
        else:
            try:
                data = Path(source).read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {source}: {exc.strerror}") from None
        messages = split_mbox(data) if is_mbox(data) else [data]
        rejected = 0
        for raw in messages:
            outcome = ingest_email(raw)
            rejected += outcome.result == MailResult.REJECTED
            self.stdout.write(outcome.describe())
        if rejected:
            raise CommandError(f"{rejected} of {len(messages)} messages rejected")
