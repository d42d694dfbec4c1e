"""`manage.py export_labels [FILE]`: the labelled reports as JSON Lines in the corpus format."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from routing.learning.dataset import export_records, jsonl_lines


class Command(BaseCommand):
    help = (
        "Write the reports whose department a case worker confirmed or corrected, in the "
        "corpus format (check with `python -m ml validate`); --with-corpus adds the corpus."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="-", help="output file, - for stdout")
        parser.add_argument("--with-corpus", action="store_true")

    def handle(self, *args, file, with_corpus, **options):
        records = export_records(with_corpus=with_corpus)
        out = sys.stdout if file == "-" else open(file, "w", encoding="utf-8")  # noqa: SIM115
        written = 0
        try:
            for line in jsonl_lines(records):
                out.write(line)
                written += 1
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"{written} records")
