"""`manage.py runlocal` prepares a working product; without a broker tasks run in-process."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

from routing.intake import services
from routing.intake.models import Report
from routing.learning.models import ModelVersion


@pytest.mark.django_db(transaction=True)
def test_runlocal_trains_a_model_files_demo_reports_and_prints_working_logins(
    settings, tmp_path, corpus_slice, capsys
):
    settings.MODEL_DIR = tmp_path / "models"
    settings.TRAINING_DATA = corpus_slice
    settings.CELERY_TASK_ALWAYS_EAGER = True  # route the demo reports here, not in a worker
    call_command("runlocal", "--no-serve")
    out = capsys.readouterr().out

    active = ModelVersion.objects.get(is_active=True)
    assert active.kind == "baseline"
    assert active.directory.startswith(str(tmp_path))
    reports = Report.objects.all()
    assert reports.count() == 12
    assert all(r.status == Report.Status.ROUTED for r in reports)
    for username, page in [("handlaggare", 200), ("kundtjanst", 200), ("admin", 200)]:
        password = re.search(rf"^\s+{username}\s+(\S+)$", out, re.M).group(1)
        client = Client()
        assert client.login(username=username, password=password)
        assert client.get("/arenden/").status_code == page
    assert Client().get("/admin/").status_code == 302

    # A second run keeps the model and the reports, and prints new passwords.
    call_command("runlocal", "--no-serve")
    assert ModelVersion.objects.count() == 1
    assert Report.objects.count() == 12


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_report_is_routed_in_process(active_model, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    report = services.ingest_report(
        services.NewReport(text="Soptunnan har inte tömts på två veckor.", channel="web")
    )
    report.refresh_from_db()
    assert report.status == Report.Status.ROUTED
    assert report.department is not None
