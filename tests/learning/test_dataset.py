"""Training data: the corpus plus case workers' labels, exportable in the corpus format."""

from __future__ import annotations

import json

from django.core.management import call_command

from ml import data
from routing.learning import dataset, services
from routing.triage import services as triage
from tests.ml.test_validate import run_cli

LAMP = "Lampan på Storgatan 14 är släckt sedan i fredags och det är mörkt vid skolan."


def test_a_report_becomes_a_training_record_once_its_department_is_labelled(
    make_routed_report, belysning_worker
):
    report = make_routed_report(text=LAMP, keywords=["Lampan", "Storgatan 14"])
    assert dataset.labelled_records() == []

    triage.correct(report, belysning_worker, "severity", 4)
    assert dataset.labelled_records() == []  # the department is not yet verified

    triage.correct(report, belysning_worker, "department", "gata_trafik")
    [record] = dataset.labelled_records()
    assert record == {
        "id": f"case-{report.case_number}",
        "channel": "web",
        "subject": None,
        "text": LAMP,
        "department": "gata_trafik",
        "case_type": "felanmalan",
        "sentiment": "negativ",
        "severity": 4,
        "tags": [],
        "keywords": ["Lampan", "Storgatan 14"],
    }


def test_a_labelled_report_replaces_the_corpus_record_with_the_same_text(
    make_routed_report, coordinator, settings
):
    corpus = data.load_records(settings.TRAINING_DATA)
    test_ids = dataset.corpus_test_ids(corpus)
    original = next(r for r in corpus if r["id"] not in test_ids)  # a training record
    report = make_routed_report(
        text=original["text"], department=original["department"], keywords=original["keywords"]
    )
    other = next(code for code in ("avfall", "vinter") if code != original["department"])
    triage.correct(report, coordinator, "department", other)

    records, stats = dataset.training_records()
    assert stats == {
        "corpus": len(corpus),
        "labelled": 1,
        "replaced": 1,
        "withheld": 0,
        "total": len(corpus),
    }
    [mine] = [r for r in records if r["text"] == original["text"]]
    assert mine["department"] == other


def test_the_export_validates_as_corpus_data(make_routed_report, belysning_worker, tmp_path):
    report = make_routed_report(text=LAMP, keywords=["Lampan", "Storgatan 14"])
    triage.confirm(report, belysning_worker)
    out = tmp_path / "labels.jsonl"
    call_command("export_labels", str(out))
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["department"] == "belysning"
    result = run_cli("validate", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


def test_training_reads_the_corpus_plus_labels(
    make_routed_report, belysning_worker, settings, tmp_path, corpus_slice
):
    settings.MODEL_DIR = tmp_path / "models"
    settings.TRAINING_DATA = corpus_slice
    triage.confirm(make_routed_report(text=LAMP), belysning_worker)
    version = services.train_model_version("baseline")
    n_corpus = len(data.load_records(corpus_slice))
    assert version.meta["data"]["n_reports"] == n_corpus + 1
    [data_file] = (tmp_path / "models" / "training-data").iterdir()
    assert LAMP in data_file.read_text()
