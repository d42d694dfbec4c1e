"""Triage views (filled in as they land)."""

urlpatterns: list = []
