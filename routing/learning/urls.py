"""The administrators' "Modeller" pages (mounted at /modeller/)."""

from django.urls import include, path

from routing.learning import compare_views, views

app_name = "learning"

urlpatterns = [
    path("", views.models_page, name="models"),
    path("traning/", views.run_progress, name="run_progress"),
    path("trana/", views.start_training, name="train"),
    path("<int:pk>/aktivera/", views.activate, name="activate"),
    path("<int:pk>/aterstall/", views.rollback, name="rollback"),
    path("<int:pk>/jamfor/", compare_views.start_comparison, name="compare"),
    path("<int:pk>/skugglage/", compare_views.toggle_shadow, name="shadow"),
    path("jamforelse/<int:pk>/", compare_views.comparison_page, name="comparison"),
    path(
        "jamforelse/<int:pk>/forvaxling/<int:version_pk>/<str:dataset>.png",
        compare_views.confusion_chart,
        name="comparison_confusion",
    ),
    path(
        "jamforelse/<int:pk>/inlarningskurva.png",
        compare_views.learning_curve_chart,
        name="comparison_curve",
    ),
    path("statistik/", include("routing.learning.stats_urls")),
]
