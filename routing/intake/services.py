"""Intake verbs: every channel (form, API, Open311, email) ends in `ingest_report`.

A report is saved first and routed afterwards: the routing task is enqueued only after
the transaction commits, and a failure to enqueue (Redis down) loses nothing, because the
sweeper enqueues every report left unrouted.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ml import taxonomy
from routing.celery import ROUTE_REPORT_TASK, app
from routing.intake.models import (
    ApiClient,
    Attachment,
    CaseNumberCounter,
    Message,
    Report,
)

log = logging.getLogger(__name__)

# A case number ("2026-00013"): the one pattern of URLs, email subjects and replies.
CASE_NUMBER = r"20\d\d-\d{5,}"
CASE_NUMBER_RE = re.compile(rf"\b({CASE_NUMBER})\b")
# Control characters other than tab and newlines never belong in a report.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class IntakeError(ValueError):
    """Input that cannot become a report; the message is shown to the sender (Swedish)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int


@dataclass
class NewReport:
    """What a channel hands to `ingest_report`; validated there, in one place."""

    text: str
    channel: str
    subject: str = ""
    location_text: str = ""
    latitude: Decimal | float | str | None = None
    longitude: Decimal | float | str | None = None
    reporter_name: str = ""
    reporter_email: str = ""
    reporter_phone: str = ""
    raw_source: str = ""
    message_id: str | None = None
    api_client: ApiClient | None = None
    attachments: list[AttachmentInfo] = field(default_factory=list)


def clean_text(value: str | None) -> str:
    """Normalise line ends, drop control characters and surrounding whitespace."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value).strip()


def max_length(field: str) -> int:
    """The length limit of a Report column: the one place the limits are defined."""
    return Report._meta.get_field(field).max_length


def without_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL; an audit copy shows it as an escape instead."""
    return (value or "").replace("\x00", "\\x00")


def _coordinate(value, name: str, limit: int) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise IntakeError(_("Ogiltig koordinat."), field=name) from None
    if not number.is_finite() or abs(number) > limit:
        raise IntakeError(_("Ogiltig koordinat."), field=name)
    return number.quantize(Decimal("0.000001"))


def validate(new: NewReport) -> NewReport:
    """Check and normalise a report before it is stored; raise IntakeError."""
    text = clean_text(new.text)
    if not text:
        raise IntakeError(_("Beskriv ärendet med några ord."), field="text")
    limit = settings.REPORT_TEXT_MAX_CHARS
    if len(text) > limit:
        raise IntakeError(
            _("Texten är för lång (högst %(limit)s tecken).") % {"limit": limit}, field="text"
        )
    if new.channel not in taxonomy.CHANNELS:
        raise IntakeError(_("Okänd kanal."), field="channel")
    subject = clean_text(new.subject).replace("\n", " ")
    if len(subject) > max_length("subject"):
        raise IntakeError(
            _("Rubriken är för lång (högst %(limit)s tecken).") % {"limit": max_length("subject")},
            field="subject",
        )
    location = clean_text(new.location_text).replace("\n", " ")
    if len(location) > max_length("location_text"):
        raise IntakeError(
            _("Platsen är för lång (högst %(limit)s tecken).")
            % {"limit": max_length("location_text")},
            field="location",
        )
    email = clean_text(new.reporter_email)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise IntakeError(_("Ogiltig e-postadress."), field="reporter_email") from None
        # Django accepts up to 320 characters; the column (RFC 5321 paths) holds 254.
        if len(email) > max_length("reporter_email"):
            raise IntakeError(_("E-postadressen är för lång."), field="reporter_email")
    latitude = _coordinate(new.latitude, "lat", 90)
    longitude = _coordinate(new.longitude, "long", 180)
    if (latitude is None) != (longitude is None):
        raise IntakeError(_("Ange både latitud och longitud."), field="lat")
    return NewReport(
        text=text,
        channel=new.channel,
        subject=subject,
        location_text=location,
        latitude=latitude,
        longitude=longitude,
        reporter_name=clean_text(new.reporter_name)[: max_length("reporter_name")],
        reporter_email=email,
        reporter_phone=clean_text(new.reporter_phone)[: max_length("reporter_phone")],
        raw_source=without_nul(new.raw_source),
        message_id=new.message_id or None,
        api_client=new.api_client,
        attachments=list(new.attachments),
    )


def next_case_number(now=None) -> str:
    """The next public case number of the year, e.g. 2026-00123 (call inside a transaction)."""
    year = timezone.localtime(now).year
    CaseNumberCounter.objects.get_or_create(year=year)
    # The row lock serialises concurrent intake; numbers are never handed out twice.
    counter = CaseNumberCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{year}-{counter.last:0{settings.CASE_NUMBER_DIGITS}d}"


def ingest_report(new: NewReport) -> Report:
    """Validate and store a report, then enqueue its routing after commit.

    An email already stored (same Message-ID) is returned as it is, so ingesting the same
    mail twice files one report.
    """
    new = validate(new)
    if new.message_id:
        existing = Report.objects.filter(message_id=new.message_id).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            report = Report.objects.create(
                case_number=next_case_number(),
                channel=new.channel,
                subject=new.subject,
                text=new.text,
                location_text=new.location_text,
                latitude=new.latitude,
                longitude=new.longitude,
                reporter_name=new.reporter_name,
                reporter_email=new.reporter_email,
                reporter_phone=new.reporter_phone,
                raw_source=new.raw_source,
                message_id=new.message_id,
                api_client=new.api_client,
            )
            Attachment.objects.bulk_create(
                Attachment(
                    report=report, filename=a.filename, content_type=a.content_type, size=a.size
                )
                for a in new.attachments
            )
            transaction.on_commit(lambda: enqueue_routing(report.pk))
            if report.reporter_email:
                transaction.on_commit(lambda: enqueue_acknowledgement(report.pk))
    except IntegrityError:
        # A concurrent delivery of the same email won the race.
        if new.message_id:
            return Report.objects.get(message_id=new.message_id)
        raise
    log.info("report %s received by %s", report.case_number, report.channel)
    return report


def add_message(
    report: Report,
    *,
    text: str,
    sender: str = "",
    subject: str = "",
    raw_source: str = "",
    message_id: str | None = None,
    attachments: list[AttachmentInfo] = (),
) -> Message:
    """Attach a later email (a reply on the case) to an existing report; idempotent."""
    if message_id:
        existing = Message.objects.filter(message_id=message_id).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            message = Message.objects.create(
                report=report,
                text=clean_text(text),
                sender=sender[:300],
                subject=subject[:998],
                raw_source=without_nul(raw_source),
                message_id=message_id or None,
            )
            Attachment.objects.bulk_create(
                Attachment(
                    report=report,
                    message=message,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                )
                for a in attachments
            )
    except IntegrityError:
        # A concurrent delivery of the same mail won the race.
        if message_id:
            return Message.objects.get(message_id=message_id)
        raise
    log.info("message added to report %s", report.case_number)
    return message


def find_case(subject: str) -> Report | None:
    """The report whose case number appears in an email subject, if any."""
    for number in CASE_NUMBER_RE.findall(subject or ""):
        report = Report.objects.filter(case_number=number).first()
        if report:
            return report
    return None


def _send(task_name: str, report_id: int, **options) -> bool:
    """Publish a task by name; a broker outage is logged, never raised (the sweeper retries)."""
    try:
        # A connection of its own, so that a broken pooled connection cannot wedge intake.
        with app.connection_for_write() as connection:
            app.send_task(task_name, args=[report_id], connection=connection, **options)
    except Exception as exc:  # any broker or connection error: the report is safe in the DB
        log.warning("could not enqueue %s for report %s: %s", task_name, report_id, exc)
        return False
    return True


@functools.cache
def _registered_tasks():
    """Celery's task registry with every app's tasks imported (once per process)."""
    app.loader.import_default_modules()
    return app.tasks


def enqueue_routing(report_id: int) -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No broker (local run without Redis): route in-process; failures stay logged.
        try:
            _registered_tasks()[ROUTE_REPORT_TASK].apply(args=[report_id], throw=True)
        except Exception as exc:
            log.warning("in-process routing of report %s failed: %s", report_id, exc)
            return False
        return True
    sent = _send(ROUTE_REPORT_TASK, report_id)
    if sent:
        Report.objects.filter(pk=report_id).update(routing_enqueued_at=timezone.now())
    return sent


def enqueue_acknowledgement(report_id: int) -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            return send_acknowledgement(report_id)
        except Exception as exc:  # the report is saved; a mail failure must not undo that
            log.warning("acknowledgement for report %s not sent: %s", report_id, exc)
            return False
    return _send("routing.intake.tasks.send_acknowledgement", report_id)


def unrouted_reports(older_than_seconds: int | None = None):
    """Reports still waiting for routing that were received more than a while ago."""
    seconds = settings.SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=seconds)
    # A report enqueued recently is probably still in the queue: not again yet.
    return Report.objects.filter(
        Q(routing_enqueued_at__isnull=True) | Q(routing_enqueued_at__lte=cutoff),
        status=Report.Status.RECEIVED,
        received_at__lte=cutoff,
    )


def sweep_unrouted(older_than_seconds: int | None = None) -> int:
    """Enqueue routing again for reports left unrouted (worker or Redis was down)."""
    # Oldest first, so that a long backlog is worked off in the order it arrived.
    waiting = unrouted_reports(older_than_seconds).order_by("received_at")
    ids = list(waiting.values_list("pk", flat=True)[:1000])
    sent = sum(enqueue_routing(pk) for pk in ids)
    if ids:
        log.info("sweeper re-enqueued %d of %d unrouted reports", sent, len(ids))
    return sent


def send_acknowledgement(report_id: int) -> bool:
    """Email the resident the case number, once (claimed by a conditional update)."""
    report = Report.objects.filter(pk=report_id).first()
    if report is None or not report.reporter_email:
        return False
    claimed = Report.objects.filter(pk=report_id, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now()
    )
    if not claimed:
        return False
    subject = _("Vi har tagit emot ditt ärende [%(case)s]") % {"case": report.case_number}
    body = _(
        "Hej!\n\nTack för att du hörde av dig. Ditt ärende har fått nummer %(case)s.\n"
        "Ange numret i ämnesraden om du svarar på det här meddelandet.\n\n"
        "Med vänlig hälsning\nKommunen"
    ) % {"case": report.case_number}
    message = EmailMessage(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [report.reporter_email],
        headers={
            # RFC 3834: an automatic answer, so that auto-responders do not answer it back.
            "Auto-Submitted": "auto-replied",
            # A reply to the acknowledgement then refers to the resident's own mail, which
            # joins it to the case whatever address it comes from.
            **(
                {"In-Reply-To": report.message_id, "References": report.message_id}
                if report.message_id
                else {}
            ),
        },
    )
    try:
        message.send()
    except Exception:
        # Release the claim so that a retry can send it.
        Report.objects.filter(pk=report_id).update(acknowledged_at=None)
        raise
    return True
