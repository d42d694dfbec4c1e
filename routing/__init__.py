"""The Django side of Ärendeflöde: settings, URLs, the Celery app and the apps."""

from routing.celery import app as celery_app

__all__ = ["celery_app"]
