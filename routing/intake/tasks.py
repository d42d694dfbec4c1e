"""Intake tasks: thin wrappers that take ids and call the services."""

from __future__ import annotations

from celery import shared_task

from routing.intake import services


@shared_task(name="routing.intake.tasks.sweep_unrouted")
def sweep_unrouted() -> int:
    """Re-enqueue reports left unrouted (run by beat)."""
    return services.sweep_unrouted()


@shared_task(
    name="routing.intake.tasks.send_acknowledgement",
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_acknowledgement(report_id: int) -> bool:
    """Email the resident the case number (at most once)."""
    return services.send_acknowledgement(report_id)


@shared_task(name="routing.intake.tasks.poll_imap")
def poll_imap() -> int:
    """File the IMAP folder's mail not yet filed (run by beat); returns how many were read."""
    from routing.intake import mailbox

    result = mailbox.poll_imap()
    return len(result.outcomes) if result else 0
