"""The feedback-loop benchmark runs end to end on a corpus slice (its figures are the
README's; here only that it works and refuses a database in use)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from routing.learning.models import Label, ModelVersion, TrainingRun


@pytest.mark.django_db(transaction=True)
def test_a_short_week_of_corrections_is_retrained_compared_and_decided(
    settings, corpus_slice, tmp_path
):
    from routing.celery import app

    settings.TRAINING_DATA = corpus_slice
    settings.MODEL_DIR = tmp_path / "models"
    settings.LEARNING_CURVE_SIZES = []
    out = io.StringIO()
    call_command("bench_feedback", "--week", "30", "--margin", "0.0", stdout=out)
    text = out.getvalue()
    assert "week: 30 reports routed and labelled" in text
    assert "| department macro_f1 |" in text
    assert "decision (margin 0.0): " in text
    assert Label.objects.filter(field="department").values("report").distinct().count() == 30
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED
    assert run.data_stats["labelled"] == 30
    assert ModelVersion.objects.count() == 2
    assert app.conf.task_always_eager is False  # restored for everything after it

    with pytest.raises(CommandError, match="scratch database"):
        call_command("bench_feedback", "--week", "5", stdout=io.StringIO())
