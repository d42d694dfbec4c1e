"""Forms of the "Modeller" page."""

from __future__ import annotations

from django import forms

from routing.learning.models import ModelVersion


class TrainForm(forms.Form):
    kind = forms.ChoiceField(choices=ModelVersion.Kind.choices)
