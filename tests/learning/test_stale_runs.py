"""A training run whose worker died is marked failed, so it no longer blocks new runs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from routing.learning import services
from routing.learning.models import TrainingRun


def test_a_run_whose_worker_died_stops_blocking_new_runs(administrator, settings):
    settings.TRAINING_STALE_MINUTES = 30
    long_ago = timezone.now() - timedelta(hours=1)
    dead = TrainingRun.objects.create(
        kind="baseline", status=TrainingRun.Status.RUNNING, started_at=long_ago
    )
    assert services.fail_stale_training_runs() == 1
    dead.refresh_from_db()
    assert dead.status == TrainingRun.Status.FAILED
    assert "no progress" in dead.error

    alive = TrainingRun.objects.create(
        kind="baseline",
        status=TrainingRun.Status.RUNNING,
        started_at=long_ago,
        progress_at=timezone.now(),
    )
    assert services.fail_stale_training_runs() == 0
    alive.refresh_from_db()
    assert alive.status == TrainingRun.Status.RUNNING
