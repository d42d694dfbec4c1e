"""Triage verbs: confirm, correct, assign, change status, add a note.

Each one checks its input, changes the report, writes a history event and, for
confirmations and corrections, stores labels that retraining uses.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ml import taxonomy
from routing.intake.models import Department, Report
from routing.learning.services import record_label
from routing.triage.models import ReportEvent
from routing.triage.permissions import check_can_move_to, sees_everything, visible_reports

FIELDS = Report.LABEL_FIELDS


class TriageError(ValueError):
    """An action that cannot be done; the message is shown to the case worker (Swedish)."""


def clean_value(report: Report, field: str, value):
    """A field's new value checked against the taxonomy (and the text, for keywords)."""
    if field == "department":
        department = Department.objects.filter(code=value).first()
        if department is None:
            raise TriageError(_("Okänd förvaltning."))
        return department
    if field == "case_type":
        if value not in taxonomy.CASE_TYPES:
            raise TriageError(_("Okänd ärendetyp."))
        return value
    if field == "sentiment":
        if value not in taxonomy.SENTIMENTS:
            raise TriageError(_("Okänd ton."))
        return value
    if field == "severity":
        try:
            severity = int(value)
        except (TypeError, ValueError):
            raise TriageError(_("Allvarlighet anges 1–5.")) from None
        if severity not in taxonomy.SEVERITIES:
            raise TriageError(_("Allvarlighet anges 1–5."))
        return severity
    if field == "tags":
        tags = sorted(set(value or []))
        unknown = [tag for tag in tags if tag not in taxonomy.TAGS]
        if unknown:
            raise TriageError(_("Okänd tagg: %(tag)s") % {"tag": unknown[0]})
        return tags
    if field == "keywords":
        keywords = []
        for typed in value or []:
            typed = " ".join(str(typed).split())
            if not typed:
                continue
            # Labels copy keywords verbatim from the text (the corpus rule), whatever case
            # the case worker typed them in.
            found = re.search(rf"(?<!\w){re.escape(typed)}(?!\w)", report.text, re.IGNORECASE)
            if found is None:
                raise TriageError(
                    _("Nyckelordet ”%(keyword)s” finns inte i texten.") % {"keyword": typed}
                )
            keyword = found.group(0)
            if keyword.lower() not in {k.lower() for k in keywords}:
                keywords.append(keyword)
        if len(keywords) > taxonomy.KEYWORDS_MAX:
            raise TriageError(_("Högst %(n)s nyckelord.") % {"n": taxonomy.KEYWORDS_MAX})
        return keywords
    raise TriageError(_("Okänt fält."))


def _apply(report: Report, field: str, value) -> None:
    if field == "department":
        check_can_move_to(value)
        report.department = value
        if report.status == Report.Status.RECEIVED:
            # A person routed it by hand (e.g. while no model was active).
            report.status = Report.Status.ROUTED
            report.routed_at = timezone.now()
    elif field == "tags":
        report.tag_codes = Report.encode_tags(value)
    else:
        setattr(report, field, value)


@transaction.atomic
def correct(report: Report, user, field: str, value) -> bool:
    """Set one field to a person's value; stored as a label. False if nothing changed."""
    if field not in FIELDS:
        raise TriageError(_("Okänt fält."))
    report = Report.objects.select_for_update().get(pk=report.pk)
    cleaned = clean_value(report, field, value)
    label_value = cleaned.code if field == "department" else cleaned
    old = report.label_value(field)
    if old == label_value:
        return False
    _apply(report, field, cleaned)
    report.save()
    record_label(report, field, label_value, user=user, confirmed=False)
    kind = ReportEvent.Kind.REASSIGNED if field == "department" else ReportEvent.Kind.CORRECTED
    ReportEvent.objects.create(
        report=report, kind=kind, user=user, field=field, old_value=old, new_value=label_value
    )
    return True


@transaction.atomic
def confirm(report: Report, user) -> None:
    """A person agrees with every current value: one confirmed label per field."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.department_id is None:
        raise TriageError(_("Ärendet har ingen förvaltning att bekräfta."))
    for field in FIELDS:
        value = report.label_value(field)
        if value is not None:
            record_label(report, field, value, user=user, confirmed=True)
    ReportEvent.objects.create(report=report, kind=ReportEvent.Kind.CONFIRMED, user=user)


@transaction.atomic
def assign(report: Report, user, assignee) -> None:
    """Give the report to a colleague (or to oneself); None takes it off everyone."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if assignee is not None and not (
        sees_everything(assignee) or visible_reports(assignee).filter(pk=report.pk).exists()
    ):
        raise TriageError(
            _("%(user)s arbetar inte med den här förvaltningen.")
            % {"user": assignee.get_username()}
        )
    old = report.assignee.get_username() if report.assignee_id else None
    report.assignee = assignee
    report.save(update_fields=["assignee", "updated_at"])
    ReportEvent.objects.create(
        report=report,
        kind=ReportEvent.Kind.ASSIGNED,
        user=user,
        old_value=old,
        new_value=assignee.get_username() if assignee else None,
    )


ALLOWED_STATUSES = (Report.Status.ROUTED, Report.Status.IN_PROGRESS, Report.Status.CLOSED)


@transaction.atomic
def change_status(report: Report, user, status: str) -> None:
    report = Report.objects.select_for_update().get(pk=report.pk)
    if status not in ALLOWED_STATUSES:
        raise TriageError(_("Ogiltig status."))
    if report.department_id is None:
        raise TriageError(_("Fördela ärendet till en förvaltning först."))
    if report.status == status:
        return
    old = report.status
    report.status = status
    report.save(update_fields=["status", "updated_at"])
    ReportEvent.objects.create(
        report=report, kind=ReportEvent.Kind.STATUS, user=user, old_value=old, new_value=status
    )


def add_note(report: Report, user, text: str) -> ReportEvent:
    text = (text or "").strip()
    if not text:
        raise TriageError(_("Anteckningen är tom."))
    if len(text) > 5000:
        raise TriageError(_("Anteckningen är för lång (högst 5000 tecken)."))
    return ReportEvent.objects.create(
        report=report, kind=ReportEvent.Kind.NOTE, user=user, text=text
    )
