"""REST API routes under /api/v1/ (fixed contract: reports; plus schema and docs)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from routing.intake import api, services

app_name = "api"

urlpatterns = [
    path("reports", api.ReportListCreate.as_view(), name="report-list"),
    re_path(
        rf"^reports/(?P<case_number>{services.CASE_NUMBER})$",
        api.ReportDetail.as_view(),
        name="report-detail",
    ),
    path("schema", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[]),
        name="docs",
    ),
]
