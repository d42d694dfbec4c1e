"""The residents' web form: what a report needs, with Swedish labels and a honeypot."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from routing.intake.services import clean_text, max_length

HONEYPOT_FIELD = "website"

# `IntakeError.field` (the NewReport/API name) -> the form field that shows the error.
INTAKE_FIELDS = {
    "text": "text",
    "subject": "subject",
    "location": "location",
    "reporter_email": "email",
}


class ReportForm(forms.Form):
    """A resident's report; `ingest_report` validates again, this gives friendly errors first."""

    text = forms.CharField(
        label=_("Beskriv ärendet"),
        help_text=_("Vad har hänt, och sedan när? Skriv inga känsliga personuppgifter."),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        error_messages={"required": _("Beskriv ärendet med några ord.")},
    )
    subject = forms.CharField(
        label=_("Rubrik"),
        required=False,
        max_length=max_length("subject"),
        help_text=_("Några ord som sammanfattar ärendet."),
    )
    location = forms.CharField(
        label=_("Plats"),
        required=False,
        max_length=max_length("location_text"),
        help_text=_("Adress, gata, park eller annan plats, om ärendet gäller en plats."),
    )
    name = forms.CharField(
        label=_("Namn"),
        required=False,
        max_length=max_length("reporter_name"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-post"),
        required=False,
        help_text=_("Om du anger din e-postadress får du en bekräftelse med ärendenumret."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": _("Ange en giltig e-postadress, till exempel namn@example.se.")},
    )
    phone = forms.CharField(
        label=_("Telefon"),
        required=False,
        max_length=max_length("reporter_phone"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    # A trap for bots that fill in every field: hidden from people (CSS, aria-hidden on its
    # wrapper, out of the tab order), so a value here means the post was not made by a person.
    website = forms.CharField(
        label=_("Lämna det här fältet tomt"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read at instantiation, not import, so that the limit follows the settings.
        self.text_limit = settings.REPORT_TEXT_MAX_CHARS
        self.fields["text"].widget.attrs["maxlength"] = str(self.text_limit)

    @property
    def is_spam(self) -> bool:
        """Whether the honeypot was filled in (call after `is_valid`)."""
        return bool(self.cleaned_data.get(HONEYPOT_FIELD))

    def clean_text(self) -> str:
        # Count the text the way `ingest_report` stores it (CRLF as one character), so that
        # a text the browser allowed is not refused for its line breaks.
        text = clean_text(self.cleaned_data["text"])
        if not text:
            raise forms.ValidationError(self.fields["text"].error_messages["required"])
        if len(text) > self.text_limit:
            raise forms.ValidationError(
                _("Texten är för lång: %(length)s tecken (högst %(limit)s)."),
                params={"length": len(text), "limit": self.text_limit},
            )
        return text
