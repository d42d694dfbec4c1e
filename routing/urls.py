"""Top-level URL configuration: resident pages and case-worker UI, API, Open311, admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("routing.intake.api_urls")),
    path("open311/v2/", include("routing.intake.open311_urls")),
    path("konto/", include("django.contrib.auth.urls")),
    path("arenden/", include("routing.triage.urls")),
    path("modeller/", include("routing.learning.urls")),
    path("", include("routing.intake.urls")),
]
