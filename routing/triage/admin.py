"""Admin pages: which departments each case worker works in; the reports' history."""

from __future__ import annotations

from django.contrib import admin

from routing.triage.models import CaseWorker, ReportEvent


@admin.register(CaseWorker)
class CaseWorkerAdmin(admin.ModelAdmin):
    list_display = ["user", "department_names"]
    filter_horizontal = ["departments"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]

    @admin.display(description="förvaltningar")
    def department_names(self, obj):
        return ", ".join(d.name for d in obj.departments.all())


@admin.register(ReportEvent)
class ReportEventAdmin(admin.ModelAdmin):
    list_display = ["report", "kind", "user", "created_at", "field"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in ReportEvent._meta.fields]

    def has_add_permission(self, request):
        return False
