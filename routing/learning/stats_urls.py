"""The label statistics pages (mounted at /modeller/statistik/)."""

from django.urls import path

from routing.learning import stats_views

urlpatterns = [
    path("", stats_views.stats_page, name="stats"),
    path("diagram/<slug:chart>.png", stats_views.stats_chart, name="stats_chart"),
    path("export/", stats_views.export_labels, name="export_labels"),
]
