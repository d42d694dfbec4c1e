"""`manage.py export_labels [FILE]`: the labelled reports as JSON Lines in the corpus format."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from routing.learning.dataset import labelled_records, training_records


class Command(BaseCommand):
    help = (
        "Write the reports whose department a case worker confirmed or corrected, in the "
        "corpus format (check with `python -m ml validate`); --with-corpus adds the corpus."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="-", help="output file, - for stdout")
        parser.add_argument("--with-corpus", action="store_true")

    def handle(self, *args, file, with_corpus, **options):
        records = training_records()[0] if with_corpus else labelled_records()
        out = sys.stdout if file == "-" else open(file, "w", encoding="utf-8")  # noqa: SIM115
        try:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"{len(records)} records")
