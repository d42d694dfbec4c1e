"""Who works on which department's queue, and the history of what happened to a report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.intake.models import Department, Report

# Django auth groups (created by a migration). Case workers see their departments' queues;
# coordinators (kundtjänst) see everything; administrators also manage users and models.
CASE_WORKERS = "Handläggare"
COORDINATORS = "Kundtjänst"
ADMINISTRATORS = "Administratörer"


class CaseWorker(models.Model):
    """A user's departments: the queues the user works in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_worker"
    )
    departments = models.ManyToManyField(
        Department, verbose_name=_("förvaltningar"), related_name="case_workers", blank=True
    )

    class Meta:
        verbose_name = _("handläggare")
        verbose_name_plural = _("handläggare")

    def __str__(self) -> str:
        return str(self.user)


class ReportEvent(models.Model):
    """One entry of a report's history: who did what, when."""

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", _("Bekräftade prediktionen")
        CORRECTED = "corrected", _("Rättade")
        REASSIGNED = "reassigned", _("Flyttade till annan förvaltning")
        ASSIGNED = "assigned", _("Tilldelade")
        STATUS = "status", _("Ändrade status")
        NOTE = "note", _("Anteckning")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    field = models.CharField(max_length=32, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("händelse")
        verbose_name_plural = _("händelser")

    def __str__(self) -> str:
        return f"{self.report} · {self.get_kind_display()}"
