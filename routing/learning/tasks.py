"""Learning tasks: routing a report with the active model runs on the inference queue."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from routing.learning import services
from routing.learning.predictor import ModelNotReady

log = logging.getLogger(__name__)


def enqueue_or_fail(task, job_model, job_id: int) -> None:
    """Send a job's task (a training run, a comparison); a job that cannot reach the broker
    is failed at once, with the reason on its page and in the log, not left queued."""
    try:
        task.delay(job_id)
    except Exception as exc:
        log.exception("%s %s could not be enqueued", job_model.__name__, job_id)
        job_model.objects.filter(pk=job_id).update(
            status=job_model.Status.FAILED,
            finished_at=timezone.now(),
            error=f"could not enqueue the task: {exc}",
        )


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
    """Predict and route one report; safe to run twice. Versions in shadow mode then
    predict it too, in their own task, so they never delay routing."""
    outcome = services.route_report(report_id)
    if outcome == services.RoutingOutcome.ROUTED and services.shadow_versions().exists():
        try:
            shadow_predict.delay(report_id)
        except Exception:
            # The report is routed; a lost shadow prediction only thins the comparison.
            log.warning("shadow prediction of report %s not enqueued", report_id, exc_info=True)
    return outcome


@shared_task(name="routing.learning.tasks.train_model", acks_late=True)
def train_model(run_id: int) -> str:
    """Do one queued training run (routed to the training queue); safe to run twice."""
    return services.run_training(run_id)


@shared_task(name="routing.learning.tasks.fail_stale_training_runs")
def fail_stale_training_runs() -> int:
    """Free the training slot of a run whose worker died (run by beat)."""
    return services.fail_stale_training_runs()


@shared_task(name="routing.learning.tasks.shadow_predict")
def shadow_predict(report_id: int) -> int:
    """Predict a routed report with the version in shadow mode (its own queue, so a backlog
    of shadow work never sits in front of routing)."""
    return services.shadow_predict(report_id)


@shared_task(name="routing.learning.tasks.compare_versions", acks_late=True)
def compare_versions(comparison_id: int) -> str:
    """Compare a candidate with the active version and the baseline (training queue)."""
    from routing.learning import comparison

    return comparison.run_comparison(comparison_id)


@shared_task(name="routing.learning.tasks.retrain_if_enough_labels")
def retrain_if_enough_labels() -> str:
    """Beat's scheduled retraining: a run only when enough new labels arrived."""
    return services.retrain_if_enough_labels()
