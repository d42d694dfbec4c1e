"""Queue pages of the case workers' UI: a department's queue and "Behöver granskning".

Every page costs a fixed handful of queries whatever its size: the rows come with their
department and assignee (select_related), and the text is cut to an excerpt in SQL.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Substr
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ml import taxonomy
from routing.intake.models import Report
from routing.learning.models import Label
from routing.triage import permissions
from routing.triage.detail_forms import display_name
from routing.triage.forms import QueueFilterForm, filter_reports
from routing.triage.models import ADMINISTRATORS, COORDINATORS
from routing.triage.permissions import (
    departments_of,
    sees_everything,
    visible_reports,
)

# Queue choices beside the department codes, for those who see everything.
ALL = "alla"
UNROUTED = "ofordelade"
SPECIAL_QUEUES = {ALL: gettext_lazy("Alla"), UNROUTED: gettext_lazy("Ofördelade")}

# The columns a queue row shows; everything else (raw source, full text) stays in the database.
ROW_FIELDS = (
    "case_number",
    "received_at",
    "subject",
    "case_type",
    "severity",
    "severity_score",
    "sentiment",
    "tag_codes",
    "routing_confidence",
    "status",
    "department__code",
    "department__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)
EXCERPT_CHARS = 160
SUMMARY_WORDS = 12
# A report received this long ago and still not routed has been missed by the pipeline.
UNROUTED_AFTER = timedelta(minutes=1)


triage_view = permissions.triage_required


def queue_order():
    """Most severe first, unknown severity last, then oldest first; pk keeps pages stable."""
    return [F("severity_score").desc(nulls_last=True), "received_at", "pk"]


def rows_of(queryset):
    """The page's columns only, with related rows joined and the text cut in SQL."""
    return (
        queryset.select_related("department", "assignee")
        .only(*ROW_FIELDS)
        .annotate(excerpt=Substr("text", 1, EXCERPT_CHARS))
    )


def decorate(reports) -> list:
    """Add what the template shows but the model does not have: links, names, percentages."""
    for report in reports:
        report.url = reverse("triage:detail", args=[report.case_number])
        words = report.subject or report.excerpt
        report.summary = Truncator(" ".join(words.split())).words(SUMMARY_WORDS)
        report.tag_names = [taxonomy.TAGS.get(tag, tag) for tag in report.tags]
        report.confidence_percent = (
            None if report.routing_confidence is None else round(report.routing_confidence * 100)
        )
        report.assignee_name = display_name(report.assignee) if report.assignee else ""
    return reports


def paginate(request, queryset, order, notices: list, count: int | None = None):
    """The requested page (the first for a bad number, the last past the end).

    The page's ids are found first, ordered through an index alone (an index-only scan
    even deep into the queue); then only those rows are read with their columns.
    """
    ids = queryset.order_by(*order).values_list("pk", flat=True)
    paginator = Paginator(ids, settings.QUEUE_PAGE_SIZE)
    if count is not None:
        # Already known from the counters: saves a COUNT(*) over the queue.
        paginator.count = count
    raw = request.GET.get("sida", "")
    page = paginator.get_page(raw)
    if raw and str(page.number) != raw.strip():
        notices.append(
            _("Sidan ”%(page)s” finns inte; visar sida %(number)s.")
            % {"page": raw[:20], "number": page.number}
        )
    page_ids = list(page.object_list)
    chosen = rows_of(Report.objects.filter(pk__in=page_ids)).order_by()
    rows = {report.pk: report for report in chosen}
    page.object_list = decorate([rows[pk] for pk in page_ids if pk in rows])
    return page


def colleagues_of(department):
    """Who a queue's reports can be assigned to: its case workers, or all triage staff."""
    users = get_user_model().objects.filter(is_active=True)
    if department is not None:
        users = users.filter(case_worker__departments=department)
    else:
        users = users.filter(
            Q(case_worker__departments__isnull=False)
            | Q(groups__name__in=[COORDINATORS, ADMINISTRATORS])
            | Q(is_superuser=True)
        )
    return users.distinct().order_by("first_name", "last_name", "username")


def choose_queue(request, departments, notices: list):
    """The queue asked for in ?avdelning=, checked against what the user may open.

    Returns (code, department or None). A department or special queue the user may not
    open is a 403; a code that names nothing is ignored with a notice.
    """
    everything = sees_everything(request.user)
    by_code = {department.code: department for department in departments}
    asked = request.GET.get("avdelning", "").strip()
    if asked in SPECIAL_QUEUES:
        if not everything:
            raise PermissionDenied
        return asked, None
    if asked in by_code:
        return asked, by_code[asked]
    if asked in taxonomy.DEPARTMENTS:
        raise PermissionDenied  # another department's queue
    if asked:
        notices.append(_("Okänd kö ”%(queue)s”; visar standardkön.") % {"queue": asked[:40]})
    if everything or not departments:
        return ALL, None
    return departments[0].code, departments[0]


@triage_view
def queue(request):
    """A department's queue, filtered by the GET form, most severe first."""
    notices: list[str] = []
    departments = list(departments_of(request.user))
    code, department = choose_queue(request, departments, notices)

    reports = visible_reports(request.user)
    if department is not None:
        reports = reports.filter(department=department)
    elif code == UNROUTED:
        reports = reports.filter(department__isnull=True)

    # One GROUP BY over an index that starts with (department, status) or with status.
    counts = dict(reports.order_by().values_list("status").annotate(n=Count("*")))
    counters = [
        {"code": value, "label": label, "count": counts.get(value, 0)}
        for value, label in Report.Status.choices
    ]
    total = sum(counts.values())

    form = QueueFilterForm(request.GET, colleagues=colleagues_of(department))
    form.is_valid()
    filters = form.valid_filters()
    ignored = form.ignored_fields()
    if ignored:
        notices.append(
            ngettext(
                "Ogiltigt värde för %(fields)s; det filtret används inte.",
                "Ogiltigt värde för %(fields)s; de filtren används inte.",
                len(ignored),
            )
            % {"fields": ", ".join(ignored)}
        )
    filtered = filter_reports(reports, filters, request.user, timezone.get_current_timezone())

    page = paginate(request, filtered, queue_order(), notices, count=None if filters else total)
    queues = [(d.code, d.name) for d in departments]
    if sees_everything(request.user):
        queues = [(ALL, SPECIAL_QUEUES[ALL]), (UNROUTED, SPECIAL_QUEUES[UNROUTED]), *queues]
    return render(
        request,
        "triage/queue.html",
        {
            "queues": queues,
            "queue_code": code,
            "queue_name": dict(queues).get(code, ""),
            "form": form,
            "filtered": bool(filters),
            "counters": counters,
            "total": total,
            "page": page,
            "notices": notices,
            "nav": "queue",
        },
    )


def needs_review(queryset):
    """Reports the model was unsure of and no person has checked the department of yet,
    and reports still unrouted a minute after they came in."""
    cutoff = timezone.now() - UNROUTED_AFTER
    checked = Label.objects.filter(report=OuterRef("pk"), field="department")
    unsure = Q(routing_confidence__lt=settings.REVIEW_CONFIDENCE_THRESHOLD) & ~Exists(checked)
    unrouted = (Q(department__isnull=True) | Q(status=Report.Status.RECEIVED)) & Q(
        received_at__lte=cutoff
    )
    return queryset.filter(unsure | unrouted)


@triage_view
def review(request):
    """ "Behöver granskning": lowest routing confidence first, unrouted reports at the top."""
    notices: list[str] = []
    reports = needs_review(visible_reports(request.user))
    order = [F("routing_confidence").asc(nulls_first=True), "received_at", "pk"]
    page = paginate(request, reports, order, notices)
    return render(
        request,
        "triage/review.html",
        {
            "page": page,
            "notices": notices,
            "threshold_percent": round(settings.REVIEW_CONFIDENCE_THRESHOLD * 100),
            "everything": sees_everything(request.user),
            "show_department": True,
            "nav": "review",
        },
    )


urlpatterns = [
    path("", queue, name="queue"),
    path("granskning/", review, name="review"),
]
