"""`manage.py ingest_email [FILE.eml | FILE.mbox | -]`: file mail from a file or stdin.

A mail server can pipe each delivery into this command (Postfix pipe(8), sendmail, exim).
One line is printed per message, and the exit status follows sysexits(3), which those
servers read: 0 when every message is stored, 75 (EX_TEMPFAIL) when one could not be
stored for now (the server keeps the mail and retries), 1 when one was rejected for good.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from routing.intake.email import is_mbox, split_mbox
from routing.intake.mail_intake import MailResult, ingest_email

log = logging.getLogger(__name__)

EXIT_REJECTED = 1
# sysexits.h: "temporary failure; the user is invited to retry". Postfix defers the mail.
EXIT_TEMPFAIL = os.EX_TEMPFAIL


class Command(BaseCommand):
    help = (
        "Ingest RFC 822 email (one .eml message or an mbox file) from a file or stdin. "
        "Exit status: 0 when every message was stored (or had been before); "
        f"{EXIT_TEMPFAIL} (EX_TEMPFAIL) when a message could not be stored for now "
        "(database unavailable, unexpected error; the mail server should retry it later); "
        f"{EXIT_REJECTED} when a message was rejected for good (malformed, too large, an "
        "auto-reply) or the file cannot be read. The other messages of an mbox are stored "
        f"either way; {EXIT_TEMPFAIL} wins over {EXIT_REJECTED}."
    )
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
        rejected = deferred = 0
        for number, raw in enumerate(messages, start=1):
            try:
                outcome = ingest_email(raw)
            except Exception as exc:
                # Nothing of the mail was stored (each store is one transaction), so a
                # retry by the mail server files it whole; the rest go on meanwhile.
                log.exception("email %d of %d not stored, to be retried", number, len(messages))
                deferred += 1
                name = type(exc).__name__
                self.stdout.write(f"deferred message {number} of {len(messages)}: {name}")
                continue
            rejected += outcome.result == MailResult.REJECTED
            self.stdout.write(outcome.describe())
        if deferred:
            raise CommandError(
                f"{deferred} of {len(messages)} messages not stored for now (retry later), "
                f"{rejected} rejected",
                returncode=EXIT_TEMPFAIL,
            )
        if rejected:
            raise CommandError(
                f"{rejected} of {len(messages)} messages rejected", returncode=EXIT_REJECTED
            )
