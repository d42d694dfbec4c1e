"""Save first, route afterwards: a real Celery worker on the real Redis routes reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routing.celery import app
from routing.intake import services
from routing.intake.models import Prediction, Report
from routing.intake.services import NewReport

LAMP = "Gatlampan utanför Storgatan 14 har varit släckt i två veckor, det är kolsvart på kvällen."


def routed(report_id):
    report = Report.objects.get(pk=report_id)
    return report if report.status == Report.Status.ROUTED else None


@pytest.mark.django_db(transaction=True)
def test_a_report_is_routed_by_a_real_worker(active_model, celery_worker, wait_until):
    report = services.ingest_report(NewReport(text=LAMP, channel="web"))
    assert report.case_number.startswith(str(report.received_at.year))

    report = wait_until(lambda: routed(report.pk))
    prediction = Prediction.objects.get(report=report)
    assert report.department.code == prediction.department == prediction.data["department"]["label"]
    assert report.prediction_id == prediction.pk
    assert prediction.model_version == active_model.version
    assert 1 <= report.severity_score <= 5
    assert prediction.data["model"]["kind"] == "baseline"


@pytest.mark.django_db(transaction=True)
def test_routing_twice_changes_nothing(active_model):
    from routing.learning.services import RoutingOutcome, route_report

    report = services.ingest_report(NewReport(text=LAMP, channel="api"))
    assert route_report(report.pk) == RoutingOutcome.ROUTED
    assert route_report(report.pk) == RoutingOutcome.ALREADY_ROUTED
    assert Prediction.objects.filter(report=report).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_report_accepted_while_redis_is_down_is_routed_once_it_returns(
    active_model, celery_worker, wait_until, settings
):
    working_url = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there: the broker is down
    try:
        report = services.ingest_report(NewReport(text=LAMP, channel="web"))
    finally:
        app.conf.broker_url = working_url
    # Saved, not routed, nothing lost.
    assert Report.objects.get(pk=report.pk).status == Report.Status.RECEIVED

    assert services.sweep_unrouted(older_than_seconds=0) == 1
    wait_until(lambda: routed(report.pk))


@pytest.mark.django_db(transaction=True)
def test_a_report_waits_for_a_model_and_is_routed_once_one_is_active(
    baseline_dir, celery_worker, wait_until
):
    from routing.learning import services as learning

    report = services.ingest_report(NewReport(text=LAMP, channel="web"))
    # No active model: the task retries with backoff and the report stays received.
    assert Report.objects.get(pk=report.pk).status == Report.Status.RECEIVED
    learning.activate_model_version(learning.register_model_version(baseline_dir))
    services.sweep_unrouted(older_than_seconds=0)
    wait_until(lambda: routed(report.pk))


@pytest.mark.django_db
def test_case_numbers_count_up_within_the_year():
    first = services.ingest_report(NewReport(text="Hål i vägen vid skolan.", channel="web"))
    second = services.ingest_report(NewReport(text="Trasig gunga i parken.", channel="web"))
    year, number = first.case_number.split("-")
    assert second.case_number == f"{year}-{int(number) + 1:05d}"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Beskriv ärendet"), ("   \n\t ", "Beskriv ärendet"), ("x" * 20_001, "för lång")],
)
@pytest.mark.django_db
def test_bad_text_is_refused_and_nothing_is_saved(text, message):
    with pytest.raises(services.IntakeError, match=message):
        services.ingest_report(NewReport(text=text, channel="web"))
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_html_is_stored_as_text():
    text = "<script>alert('x')</script> Lampan är trasig"
    report = services.ingest_report(NewReport(text=text, channel="api"))
    assert Report.objects.get(pk=report.pk).text == text


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_leaves_a_report_that_was_just_enqueued(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    report = services.ingest_report(NewReport(text=LAMP, channel="web"))
    assert Report.objects.get(pk=report.pk).routing_enqueued_at is not None
    Report.objects.filter(pk=report.pk).update(received_at=report.received_at - timedelta(hours=1))
    assert services.sweep_unrouted(older_than_seconds=60) == 0
    Report.objects.filter(pk=report.pk).update(
        routing_enqueued_at=report.received_at - timedelta(minutes=5)
    )
    assert services.sweep_unrouted(older_than_seconds=60) == 1
    app.control.purge()


@pytest.mark.django_db(transaction=True)
def test_in_process_a_failing_mail_server_does_not_undo_the_report(active_model, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
    report = services.ingest_report(
        NewReport(text=LAMP, channel="web", reporter_email="anna@example.se")
    )
    report.refresh_from_db()
    assert report.status == Report.Status.ROUTED
    assert report.acknowledged_at is None  # released for a later retry


@pytest.mark.django_db
def test_nul_characters_never_reach_the_database():
    report = services.ingest_report(
        NewReport(text="Lampan\x00 är trasig", channel="api", raw_source='{"text": "a\x00b"}')
    )
    report.refresh_from_db()
    assert report.text == "Lampan är trasig"
    assert "\x00" not in report.raw_source
