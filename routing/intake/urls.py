"""Resident pages at the site root: start page, report form and its receipt."""

from django.urls import path

from routing.intake import views

app_name = "intake"

urlpatterns = [
    path("", views.start, name="start"),
    path("anmal/", views.report_form, name="report"),
    path("anmal/kvitto/", views.receipt, name="receipt"),
]
