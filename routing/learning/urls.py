"""The administrators' "Modeller" pages (mounted at /modeller/)."""

from django.urls import include, path

from routing.learning import views

app_name = "learning"

urlpatterns = [
    path("", views.models_page, name="models"),
    path("traning/", views.run_progress, name="run_progress"),
    path("trana/", views.start_training, name="train"),
    path("<int:pk>/aktivera/", views.activate, name="activate"),
    path("<int:pk>/aterstall/", views.rollback, name="rollback"),
    path("statistik/", include("routing.learning.stats_urls")),
]
