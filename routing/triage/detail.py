"""The report detail page and its actions: confirm, correct, move, assign, status, note.

Every view asks the permissions module for the report, so a case worker gets a 404 for a
report of another department however the URL was found. Actions are POST-only, call one
triage service each and redirect back (POST/redirect/GET) with a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import re_path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from ml import taxonomy
from routing.intake.models import Report
from routing.intake.services import CASE_NUMBER
from routing.triage import permissions, services
from routing.triage.detail_forms import (
    LABEL_FIELDS,
    AssignForm,
    CorrectionForm,
    DepartmentForm,
    NoteForm,
    StatusForm,
    display_name,
)
from routing.triage.models import ReportEvent
from routing.triage.services import TriageError
from routing.triage.templatetags.triage_extras import EXPLAIN_PARAMETER

CASE = rf"^(?P<case_number>{CASE_NUMBER})/"


def triage_view(view):
    """Log in, be a triage user (else 403), and see the report (else 404)."""

    @permissions.triage_required
    @wraps(view)
    def wrapper(request, case_number: str):
        return view(request, permissions.get_report_for(request.user, case_number))

    return wrapper


def back(report: Report, anchor: str = ""):
    """Redirect to the report's page, at the section the action came from."""
    url = reverse("triage:detail", kwargs={"case_number": report.case_number})
    return redirect(f"{url}#{anchor}" if anchor else url)


def form_error(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


# The page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str
    what: str
    note: str = ""


FIELD_NAMES = {
    "department": gettext_lazy("förvaltning"),
    "case_type": gettext_lazy("ärendetyp"),
    "sentiment": gettext_lazy("ton"),
    "severity": gettext_lazy("allvarlighet"),
    "tags": gettext_lazy("taggar"),
    "keywords": gettext_lazy("nyckelord"),
}


def value_name(field: str, value) -> str:
    """A stored label value in the words the case workers use."""
    if value is None or value == [] or value == "":
        return "–"
    if field == "department":
        return taxonomy.DEPARTMENTS.get(value, str(value))
    if field == "case_type":
        return taxonomy.CASE_TYPES.get(value, str(value))
    if field == "sentiment":
        return taxonomy.SENTIMENTS.get(value, str(value))
    if field == "severity":
        return f"{value} – {taxonomy.SEVERITIES.get(value, '?')}"
    if field == "tags":
        return ", ".join(taxonomy.TAGS.get(tag, str(tag)) for tag in value)
    if field == "keywords":
        return ", ".join(str(keyword) for keyword in value)
    return str(value)


def describe(event: ReportEvent) -> str:
    kind = ReportEvent.Kind
    if event.kind == kind.CORRECTED:
        return _("Rättade %(field)s: %(old)s → %(new)s") % {
            "field": FIELD_NAMES.get(event.field, event.field),
            "old": value_name(event.field, event.old_value),
            "new": value_name(event.field, event.new_value),
        }
    if event.kind == kind.REASSIGNED:
        return _("Flyttade från %(old)s till %(new)s") % {
            "old": value_name("department", event.old_value),
            "new": value_name("department", event.new_value),
        }
    if event.kind == kind.ASSIGNED:
        if event.new_value is None:
            return _("Tog bort handläggaren")
        return _("Tilldelade %(user)s") % {"user": event.new_value}
    if event.kind == kind.STATUS:
        statuses = dict(Report.Status.choices)
        return _("Ändrade status från %(old)s till %(new)s") % {
            "old": statuses.get(event.old_value, event.old_value),
            "new": statuses.get(event.new_value, event.new_value),
        }
    return event.get_kind_display()


def history(report: Report) -> list[HistoryEntry]:
    """What happened to the report, oldest first: received, routed, then people's events."""
    entries = [HistoryEntry(report.received_at, "", _("Mottaget"))]
    if report.routed_at and report.prediction_id:
        entries.append(
            HistoryEntry(
                report.routed_at,
                "",
                _("Fördelat av modellen %(version)s")
                % {"version": report.prediction.model_version},
            )
        )
    for event in report.events.all():
        who = display_name(event.user) if event.user else _("Okänd användare")
        entries.append(HistoryEntry(event.created_at, who, describe(event), event.text))
    return sorted(entries, key=lambda entry: entry.when)


@require_safe
def _detail(request, report: Report):
    if request.headers.get("HX-Request") and request.GET.get(EXPLAIN_PARAMETER) == "1":
        # htmx asks for the explanation alone: the rest of the page is not built for it.
        return render(request, "triage/_explanation_section.html", {"report": report})
    report = (
        Report.objects.select_related("department", "prediction", "assignee")
        .prefetch_related(
            Prefetch("events", queryset=ReportEvent.objects.select_related("user")),
            "predictions",
            "messages",
            "attachments",
        )
        .get(pk=report.pk)
    )
    context = {
        "report": report,
        "predictions": report.predictions.all(),
        "mail_messages": report.messages.all(),
        "attachments": report.attachments.all(),
        "history": history(report),
        "department_form": DepartmentForm(report=report),
        "correction_form": CorrectionForm(report=report),
        "assign_form": AssignForm(report=report, user=request.user),
        "status_form": StatusForm(report=report),
        "note_form": NoteForm(),
    }
    return render(request, "triage/detail.html", context)


detail = triage_view(_detail)


# The actions ------------------------------------------------------------------------------


def action(view):
    """A POST-only action on a report the user may see."""
    return triage_view(require_POST(view))


@action
def confirm(request, report: Report):
    try:
        services.confirm(report, request.user)
    except TriageError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Prediktionen är bekräftad."))
    return back(report)


@action
def correct(request, report: Report):
    """Correct the labels that changed; all of them or, on an error, none."""
    form = CorrectionForm(request.POST, report=report)
    if not form.is_valid():
        form_error(request, form)
        return back(report, "ratta")
    changed = []
    try:
        with transaction.atomic():
            for field in LABEL_FIELDS:
                value = form.cleaned_data[field]
                if value in (None, ""):
                    continue  # a blank choice leaves an unset label unset
                if services.correct(report, request.user, field, value):
                    changed.append(field)
    except TriageError as error:
        messages.error(request, str(error))
        return back(report, "ratta")
    if changed:
        names = ", ".join(str(FIELD_NAMES[field]) for field in changed)
        messages.success(request, _("Rättat: %(fields)s.") % {"fields": names})
    else:
        messages.info(request, _("Inget ändrades."))
    return back(report)


@action
def move(request, report: Report):
    """Correct the department: the report moves to that department's queue."""
    form = DepartmentForm(request.POST, report=report)
    if not form.is_valid():
        form_error(request, form)
        return back(report, "flytta")
    code = form.cleaned_data["department"]
    try:
        changed = services.correct(report, request.user, "department", code)
    except TriageError as error:
        messages.error(request, str(error))
        return back(report, "flytta")
    if not changed:
        messages.info(request, _("Ärendet ligger redan hos den förvaltningen."))
        return back(report)
    name = taxonomy.DEPARTMENTS.get(code, code)
    if not permissions.visible_reports(request.user).filter(pk=report.pk).exists():
        messages.success(
            request,
            _("Ärende %(case)s är flyttat till %(department)s och syns inte längre för dig.")
            % {"case": report.case_number, "department": name},
        )
        return redirect("triage:queue")
    messages.success(request, _("Ärendet är flyttat till %(department)s.") % {"department": name})
    return back(report)


@action
def assign(request, report: Report):
    form = AssignForm(request.POST, report=report, user=request.user)
    if not form.is_valid():
        form_error(request, form)
        return back(report, "tilldela")
    assignee = form.cleaned_data["assignee"]
    try:
        services.assign(report, request.user, assignee)
    except TriageError as error:
        messages.error(request, str(error))
        return back(report, "tilldela")
    if assignee is None:
        messages.success(request, _("Ärendet har ingen handläggare nu."))
    else:
        messages.success(
            request, _("Ärendet är tilldelat %(name)s.") % {"name": display_name(assignee)}
        )
    return back(report)


@action
def change_status(request, report: Report):
    form = StatusForm(request.POST, report=report)
    if not form.is_valid():
        form_error(request, form)
        return back(report, "status")
    status = form.cleaned_data["status"]
    try:
        services.change_status(report, request.user, status)
    except TriageError as error:
        messages.error(request, str(error))
        return back(report, "status")
    label = Report.Status(status).label
    messages.success(request, _("Status: %(status)s.") % {"status": label})
    return back(report)


@action
def add_note(request, report: Report):
    form = NoteForm(request.POST)
    if not form.is_valid():
        form_error(request, form)
        return back(report, "anteckning")
    try:
        services.add_note(report, request.user, form.cleaned_data["text"])
    except TriageError as error:
        messages.error(request, str(error))
        return back(report, "anteckning")
    messages.success(request, _("Anteckningen är sparad."))
    return back(report, "historik")


urlpatterns = [
    re_path(CASE + r"$", detail, name="detail"),
    re_path(CASE + r"bekrafta/$", confirm, name="confirm"),
    re_path(CASE + r"ratta/$", correct, name="correct"),
    re_path(CASE + r"flytta/$", move, name="move"),
    re_path(CASE + r"tilldela/$", assign, name="assign"),
    re_path(CASE + r"status/$", change_status, name="status"),
    re_path(CASE + r"anteckning/$", add_note, name="note"),
]
