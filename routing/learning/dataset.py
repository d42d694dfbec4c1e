"""The labelled data that training reads: the corpus plus the case workers' labels.

A report becomes a training record once a person has confirmed or corrected its
department. Its other fields take the latest label given for them, else the report's
current value (the routing prediction). A labelled report whose text is also in the corpus
replaces that corpus record: the case worker's labels win.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch

from ml import data, taxonomy
from ml.validate import normalise
from routing.intake.models import Report
from routing.learning.models import Label

SINGLE_FIELDS = (*taxonomy.SINGLE_LABEL_FIELDS, "severity")


# Reports are read this many at a time (with their labels), so an export or a training run
# over years of labels never holds every report in memory at once.
CHUNK_SIZE = 2000


def iter_labelled_records(until=None) -> Iterator[dict]:
    """Corpus-format records of every report whose department a person has confirmed
    (only the labels given up to `until`, when given), read in chunks."""
    labels = Label.objects.order_by("created_at", "pk")
    department_labels = Label.objects.filter(field="department")
    if until is not None:
        labels = labels.filter(created_at__lte=until)
        department_labels = department_labels.filter(created_at__lte=until)
    reports = (
        Report.objects.filter(pk__in=department_labels.values("report_id"))
        .select_related("department")
        .prefetch_related(Prefetch("labels", queryset=labels, to_attr="ordered_labels"))
        .order_by("received_at", "pk")
    )
    for report in reports.iterator(chunk_size=CHUNK_SIZE):
        latest = {label.field: label.value for label in report.ordered_labels}
        record = {
            "id": f"case-{report.case_number}",
            "channel": report.channel,
            "subject": report.subject or None,
            "text": report.text,
        }
        for field in Report.LABEL_FIELDS:
            record[field] = latest.get(field, report.label_value(field))
        if any(record[field] is None for field in SINGLE_FIELDS):
            continue  # a field never predicted nor labelled: not a complete example
        yield record


def labelled_records(until=None) -> list[dict]:
    """`iter_labelled_records` as a list."""
    return list(iter_labelled_records(until))


def corpus_test_ids(corpus: list[dict] | None = None) -> set[str]:
    """The ids of the corpus's fixed test split, drawn from the corpus alone: adding labelled
    reports never moves a record in or out of it, so every version is measured on it."""
    if corpus is None:
        corpus = data.load_records(settings.TRAINING_DATA)
    return data.held_out_ids(corpus)


def training_records(corpus_path: Path | str | None = None, until=None) -> tuple[list[dict], dict]:
    """The corpus with labelled reports added (replacing corpus training records of the same
    text). The corpus's test split stays as it is and unseen: a labelled report with the
    text of a test record is withheld, not trained on."""
    corpus = data.load_records(corpus_path or settings.TRAINING_DATA)
    test_ids = corpus_test_ids(corpus)
    test_texts = {normalise(r["text"]) for r in corpus if r["id"] in test_ids}
    labelled = labelled_records(until)
    usable = [r for r in labelled if normalise(r["text"]) not in test_texts]
    texts = {normalise(r["text"]) for r in usable}
    kept = [r for r in corpus if r["id"] in test_ids or normalise(r["text"]) not in texts]
    stats = {
        "corpus": len(corpus),
        "labelled": len(usable),
        "replaced": len(corpus) - len(kept),
        "withheld": len(labelled) - len(usable),
        "total": len(kept) + len(usable),
    }
    return kept + usable, stats


def export_records(*, with_corpus: bool = False) -> Iterable[dict]:
    """What an export holds (`export_labels`, the statistics page): the labelled reports,
    or with the corpus the whole training data."""
    return training_records()[0] if with_corpus else iter_labelled_records()


def jsonl_lines(records: Iterable[dict]) -> Iterator[str]:
    """Records as JSON Lines, one line each, in UTF-8 as the corpus is written."""
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl(records: list[dict], path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.writelines(jsonl_lines(records))
    return path


def write_training_data(path: Path | str, until=None) -> dict:
    """Write the training data (corpus plus labels up to `until`) to `path`; return the counts."""
    records, stats = training_records(until=until)
    write_jsonl(records, path)
    return stats
