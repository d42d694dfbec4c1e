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


def test_a_comparison_whose_worker_died_is_marked_failed(active_model, settings):
    from routing.learning.models import Comparison

    settings.TRAINING_STALE_MINUTES = 30
    hour_ago = timezone.now() - timedelta(hours=1)
    stuck = Comparison.objects.create(
        candidate=active_model, status=Comparison.Status.RUNNING, started_at=hour_ago
    )
    # Queued an hour ago, behind a long training run: still waiting its turn.
    waiting = Comparison.objects.create(candidate=active_model, created_at=hour_ago)
    forgotten = Comparison.objects.create(
        candidate=active_model, created_at=timezone.now() - timedelta(days=2)
    )
    services.fail_stale_training_runs()
    for item in (stuck, waiting, forgotten):
        item.refresh_from_db()
    assert stuck.status == Comparison.Status.FAILED
    assert "the worker stopped" in stuck.error
    assert waiting.status == Comparison.Status.QUEUED
    assert forgotten.status == Comparison.Status.FAILED


def test_a_run_no_worker_ever_took_stops_blocking_new_runs(administrator, settings):
    settings.TRAINING_STALE_MINUTES = 30
    never = TrainingRun.objects.create(kind="both", created_at=timezone.now() - timedelta(hours=1))
    assert services.fail_stale_training_runs() == 1
    never.refresh_from_db()
    assert never.status == TrainingRun.Status.FAILED
    assert "training queue" in never.error
