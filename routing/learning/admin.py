"""Admin page for model versions, with an action that activates one."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from routing.learning import services
from routing.learning.models import ModelVersion
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
