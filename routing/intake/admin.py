"""Admin pages for intake: departments, reports (read-mostly, with audit source), API clients."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from routing.intake.models import ApiClient, Attachment, Department, Message, Prediction, Report


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "contact_email", "active"]
    list_editable = ["contact_email", "active"]
    readonly_fields = ["code"]
    search_fields = ["name", "code"]

    def has_add_permission(self, request):
        return False  # the departments are the taxonomy's, seeded by a migration

    def has_delete_permission(self, request, obj=None):
        return False


class PredictionInline(admin.TabularInline):
    model = Prediction
    extra = 0
    can_delete = False
    fields = [
        "model_version",
        "department",
        "department_confidence",
        "severity_score",
        "created_at",
    ]
    readonly_fields = fields


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["received_at", "sender", "subject", "text"]
    readonly_fields = fields


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    fields = ["filename", "content_type", "size", "message"]
    readonly_fields = fields


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = [
        "case_number",
        "received_at",
        "channel",
        "summary",
        "department",
        "status",
        "severity_score",
        "routing_confidence",
    ]
    list_filter = ["status", "channel", "department"]
    search_fields = ["case_number", "subject", "text", "reporter_email"]
    date_hierarchy = "received_at"
    list_select_related = ["department"]
    readonly_fields = [
        "case_number",
        "channel",
        "received_at",
        "routed_at",
        "prediction",
        "severity_score",
        "routing_confidence",
        "raw_source",
        "message_id",
        "api_client",
        "acknowledged_at",
    ]
    inlines = [PredictionInline, MessageInline, AttachmentInline]

    @admin.display(description=_("rubrik eller början av texten"))
    def summary(self, report):
        return report.subject or (report.text[:60] + ("…" if len(report.text) > 60 else ""))


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "active", "created_at", "last_used_at"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    fields = ["name", "active", "key_prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are created with `manage.py create_api_client NAME`


admin.site.site_header = _("Ärendeflöde – administration")
admin.site.site_title = _("Ärendeflöde")
