"""URL patterns (filled in as the views land)."""

urlpatterns: list = []
