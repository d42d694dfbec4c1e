"""Learning tasks: routing a report with the active model runs on the inference queue."""

from __future__ import annotations

from celery import shared_task

from routing.learning import services
from routing.learning.predictor import ModelNotReady


@shared_task(
    name="routing.learning.tasks.route_report",
    autoretry_for=(ModelNotReady,),
    retry_backoff=10,
    retry_backoff_max=300,
    # About ten minutes of retries; after that the sweeper enqueues the report again, so
    # an outage of the model never piles up tasks that retry forever.
    max_retries=6,
)
def route_report(report_id: int) -> str:
    """Predict and route one report; safe to run twice."""
    return services.route_report(report_id)


@shared_task(name="routing.learning.tasks.train_model", acks_late=True)
def train_model(run_id: int) -> str:
    """Do one queued training run (routed to the training queue); safe to run twice."""
    return services.run_training(run_id)


@shared_task(name="routing.learning.tasks.fail_stale_training_runs")
def fail_stale_training_runs() -> int:
    """Free the training slot of a run whose worker died (run by beat)."""
    return services.fail_stale_training_runs()
