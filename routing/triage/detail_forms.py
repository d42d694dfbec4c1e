"""Forms of the report detail page's actions: they check the shape of the input; the triage
services check the rest (keywords against the text, inactive departments) and do the work."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ml import taxonomy
from routing.intake.models import Department, Report
from routing.triage.services import ALLOWED_STATUSES

# The label fields of the correction form, in the order they are applied and shown.
LABEL_FIELDS = tuple(field for field in Report.LABEL_FIELDS if field != "department")


def _choices(names: dict, blank: bool = True) -> list[tuple]:
    options = list(names.items())
    return [("", _("– Välj –")), *options] if blank else options


class DepartmentForm(forms.Form):
    """Move the report to another department's queue."""

    department = forms.ChoiceField(
        label=_("Förvaltning"),
        error_messages={
            "required": _("Välj en förvaltning."),
            "invalid_choice": _("Okänd förvaltning."),
        },
    )

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(active=True).order_by("name")
        self.fields["department"].choices = [(d.code, d.name) for d in departments]
        if report.department_id:
            self.fields["department"].initial = report.department.code


class KeywordsField(forms.CharField):
    """Comma-separated keywords in, a list of stripped non-empty keywords out."""

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in text.split(",") if part.strip()]


class CorrectionForm(forms.Form):
    """The report's labels as a case worker sees them; only changed fields are corrected.

    A blank single-choice field means "not set": it is left alone rather than cleared, since
    a label cannot be taken away. Tags and keywords are always submitted, so an empty set is
    a real value.
    """

    case_type = forms.ChoiceField(
        label=_("Ärendetyp"),
        required=False,
        choices=_choices(taxonomy.CASE_TYPES),
        error_messages={"invalid_choice": _("Okänd ärendetyp.")},
    )
    sentiment = forms.ChoiceField(
        label=_("Ton"),
        required=False,
        choices=_choices(taxonomy.SENTIMENTS),
        error_messages={"invalid_choice": _("Okänd ton.")},
    )
    severity = forms.TypedChoiceField(
        label=_("Allvarlighet"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_choices({code: f"{code} – {name}" for code, name in taxonomy.SEVERITIES.items()}),
        error_messages={"invalid_choice": _("Allvarlighet anges 1–5.")},
    )
    tags = forms.MultipleChoiceField(
        label=_("Taggar"),
        required=False,
        choices=list(taxonomy.TAGS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Okänd tagg: %(value)s")},
    )
    keywords = KeywordsField(
        label=_("Nyckelord"),
        required=False,
        max_length=2000,
        help_text=_("Ord eller fraser ur texten, åtskilda med kommatecken."),
        error_messages={"max_length": _("Nyckelorden är för långa.")},
    )

    def __init__(self, *args, report: Report, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "case_type": report.case_type,
                "sentiment": report.sentiment,
                "severity": report.severity,
                "tags": report.tags,
                "keywords": ", ".join(report.keywords),
            },
        )
        super().__init__(*args, **kwargs)


class AssignForm(forms.Form):
    """Give the report to the user, to a colleague of its department, or to nobody."""

    assignee = forms.ModelChoiceField(
        label=_("Handläggare"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Ingen"),
        error_messages={
            "invalid_choice": _("Välj en handläggare i ärendets förvaltning."),
        },
    )

    def __init__(self, *args, report: Report, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = colleagues(report, user)
        field.label_from_instance = display_name
        field.initial = report.assignee_id


def colleagues(report: Report, user):
    """Who can take the report: its department's active case workers, and the user."""
    who = Q(pk=user.pk)
    if report.department_id:
        who |= Q(case_worker__departments=report.department_id)
    users = get_user_model().objects.filter(who, is_active=True).distinct()
    return users.order_by("first_name", "last_name", "username")


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(status.value, status.label) for status in ALLOWED_STATUSES],
        error_messages={"required": _("Välj en status."), "invalid_choice": _("Ogiltig status.")},
    )

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].initial = report.status


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Intern anteckning"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=_("Syns bara för handläggare, aldrig för den som anmält."),
        error_messages={
            "required": _("Anteckningen är tom."),
            "max_length": _("Anteckningen är för lång (högst 5000 tecken)."),
        },
    )
