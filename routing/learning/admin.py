"""Admin pages for model versions (with an action that activates one), runs and activations."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.learning import services
from routing.learning.models import ActivationLog, Comparison, ModelVersion, TrainingRun
from routing.learning.predictor import ModelNotReady


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "kind",
        "base_model",
        "department_macro_f1",
        "training_records",
        "training_seconds",
        "created_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False  # versions are registered by training

    @admin.action(description=_("Aktivera vald modellversion"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Välj exakt en version."), messages.ERROR)
            return
        try:
            version = services.activate_model_version(queryset.get(), user=request.user)
        except ModelNotReady as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, _("%(version)s är nu aktiv.") % {"version": version.version})


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "status", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields]
    actions = ["mark_failed"]

    def has_add_permission(self, request):
        return False  # runs are started from the "Modeller" page

    @admin.action(description=_("Markera som misslyckad (en arbetare som dog mitt i)"))
    def mark_failed(self, request, queryset):
        # A worker killed outright leaves its run "running", and a redelivered task does not
        # take over a running run; this frees the one-run-at-a-time slot by hand.
        changed = queryset.filter(status__in=TrainingRun.ACTIVE_STATUSES).update(
            status=TrainingRun.Status.FAILED,
            finished_at=timezone.now(),
            error=str(_("Avbruten av en administratör.")),
        )
        self.message_user(request, _("%(n)d körningar markerade som misslyckade.") % {"n": changed})


@admin.register(ActivationLog)
class ActivationLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "model_version", "previous", "user"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in ActivationLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # an audit log


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["pk", "candidate", "active", "baseline", "status", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Comparison._meta.fields]

    def has_add_permission(self, request):
        return False  # comparisons are started from the "Modeller" page or by a run
