"""The label statistics pages (mounted at /modeller/statistik/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
