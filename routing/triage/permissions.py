"""Who may see and act on which reports; every triage view and action asks here.

Case workers see the reports of their departments; coordinators (kundtjänst) and
administrators see all reports, including the unrouted ones.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from routing.intake.models import Department, Report
from routing.triage.models import ADMINISTRATORS, COORDINATORS


def _in_group(user, name: str) -> bool:
    cache = getattr(user, "_triage_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._triage_groups = cache
    return name in cache


def is_admin(user) -> bool:
    return user.is_active and (user.is_superuser or _in_group(user, ADMINISTRATORS))


def sees_everything(user) -> bool:
    return is_admin(user) or (user.is_active and _in_group(user, COORDINATORS))


def departments_of(user) -> QuerySet[Department]:
    """The departments whose queues the user may open."""
    if not user.is_authenticated or not user.is_active:
        return Department.objects.none()
    if sees_everything(user):
        return Department.objects.all()
    return Department.objects.filter(case_workers__user=user)


def is_triage_user(user) -> bool:
    return user.is_authenticated and (sees_everything(user) or departments_of(user).exists())


def visible_reports(user) -> QuerySet[Report]:
    """The reports the user may list and open."""
    if not user.is_authenticated or not user.is_active:
        return Report.objects.none()
    if sees_everything(user):
        return Report.objects.all()
    return Report.objects.filter(department__case_workers__user=user)


def get_report_for(user, case_number: str) -> Report:
    """The report if the user may see it; 404 otherwise, so existence is not revealed."""
    from django.http import Http404

    report = visible_reports(user).filter(case_number=case_number).first()
    if report is None:
        raise Http404
    return report


def check_can_move_to(department: Department) -> None:
    """Any triage user may move a report to any department (that is how misroutes are fixed);
    only an inactive department is refused."""
    if not department.active:
        raise PermissionDenied


def require(allowed):
    """A view decorator: login required, and a logged-in user for whom `allowed(user)` is
    false gets 403 (the Swedish 403 page)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not allowed(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


# The case workers' pages, and the administrators' ("Modeller").
triage_required = require(is_triage_user)
admin_required = require(is_admin)
