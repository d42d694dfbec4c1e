"""The Celery application: `celery -A routing worker` and `celery -A routing beat`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routing.settings")

app = Celery("routing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Tasks are sent by name where the sender's app must not import the task's app
# (intake never imports learning).
ROUTE_REPORT_TASK = "routing.learning.tasks.route_report"
