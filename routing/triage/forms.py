"""The queue's filter form: read from the GET query string, so a filtered queue is a URL."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ml import taxonomy
from routing.intake.models import Report

# Assignee choices that are not a user id.
ASSIGNEE_ME = "mig"
ASSIGNEE_NONE = "ingen"

# Swedish names of the query-string parameters, used in messages about ignored values.
FIELD_NAMES = {
    "status": _("status"),
    "typ": _("ärendetyp"),
    "allvarlighet": _("allvarlighet"),
    "tagg": _("tagg"),
    "fran": _("från datum"),
    "till": _("till datum"),
    "handlaggare": _("handläggare"),
    "q": _("sökord"),
    "sida": _("sida"),
}


ANY = _("Alla")


def _blank(choices):
    return [("", ANY), *choices]


class QueueFilterForm(forms.Form):
    """Filters of the queue; every field is optional and an invalid one is left out."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_blank(Report.Status.choices)
    )
    typ = forms.ChoiceField(
        label=_("Ärendetyp"), required=False, choices=_blank(list(taxonomy.CASE_TYPES.items()))
    )
    allvarlighet = forms.TypedChoiceField(
        label=_("Allvarlighet"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_blank([(str(k), f"{v} ({k})") for k, v in taxonomy.SEVERITIES.items()]),
    )
    tagg = forms.ChoiceField(
        label=_("Tagg"), required=False, choices=_blank(list(taxonomy.TAGS.items()))
    )
    fran = forms.DateField(
        label=_("Mottaget från"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    till = forms.DateField(
        label=_("Mottaget till och med"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    handlaggare = forms.ChoiceField(label=_("Handläggare"), required=False)
    q = forms.CharField(
        label=_("Sök i rubrik och text"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, data=None, *, colleagues=(), **kwargs):
        super().__init__(data, **kwargs)
        self.fields["handlaggare"].choices = [
            ("", ANY),
            (ASSIGNEE_ME, _("Jag")),
            (ASSIGNEE_NONE, _("Ingen (ej tilldelade)")),
            *[(str(user.pk), user.get_full_name() or user.get_username()) for user in colleagues],
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("fran"), cleaned.get("till")
        if start and end and start > end:
            self.add_error("till", _("Slutdatumet ligger före startdatumet."))
            cleaned.pop("fran", None)
        return cleaned

    def valid_filters(self) -> dict:
        """The cleaned values of the valid fields that were given (call after is_valid())."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value not in (None, "") and name not in self.errors
        }

    def ignored_fields(self) -> list[str]:
        """Swedish names of the parameters whose values were not understood."""
        return [str(FIELD_NAMES.get(name, name)) for name in self.errors]


def filter_reports(queryset, filters: dict, user, tz):
    """Apply the valid filters of a QueueFilterForm to a report queryset."""
    if "status" in filters:
        queryset = queryset.filter(status=filters["status"])
    if "typ" in filters:
        queryset = queryset.filter(case_type=filters["typ"])
    if "allvarlighet" in filters:
        queryset = queryset.filter(severity=filters["allvarlighet"])
    if "tagg" in filters:
        queryset = queryset.filter(tag_codes__contains=f" {filters['tagg']} ")
    # Dates are the case worker's local calendar days: from midnight to the next midnight.
    if "fran" in filters:
        start = datetime.combine(filters["fran"], time.min, tzinfo=tz)
        queryset = queryset.filter(received_at__gte=start)
    if "till" in filters:
        end = datetime.combine(filters["till"] + timedelta(days=1), time.min, tzinfo=tz)
        queryset = queryset.filter(received_at__lt=end)
    assignee = filters.get("handlaggare")
    if assignee == ASSIGNEE_ME:
        queryset = queryset.filter(assignee=user)
    elif assignee == ASSIGNEE_NONE:
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee:
        queryset = queryset.filter(assignee_id=int(assignee))
    if "q" in filters and filters["q"].strip():
        words = filters["q"].split()
        # Every word must occur, in the subject or in the text.
        for word in words[:8]:
            queryset = queryset.filter(Q(subject__icontains=word) | Q(text__icontains=word))
    return queryset
