"""Forms of the "Modeller" page."""

from __future__ import annotations

from django import forms

from routing.learning.models import TrainingRun


class TrainForm(forms.Form):
    kind = forms.ChoiceField(choices=TrainingRun.Kind.choices)
