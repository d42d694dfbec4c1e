"""The case workers' UI under /arenden/: queues (queue.py) and report pages (detail.py)."""

from routing.triage import detail, queue

app_name = "triage"

urlpatterns = [*queue.urlpatterns, *detail.urlpatterns]
