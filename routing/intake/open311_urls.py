"""Open311 GeoReport v2 routes under /open311/v2/; each resource ends in .xml or .json."""

from django.urls import re_path

from routing.intake import open311

app_name = "open311"

# The format is matched loosely so that an unknown one reaches the view and gets the
# standard's 404 error rather than Django's page.
urlpatterns = [
    re_path(r"^services\.(?P<fmt>\w+)$", open311.service_list, name="services"),
    re_path(
        r"^services/(?P<code>[\w-]+)\.(?P<fmt>\w+)$",
        open311.service_definition,
        name="service",
    ),
    re_path(r"^requests\.(?P<fmt>\w+)$", open311.request_list, name="requests"),
    re_path(
        r"^requests/(?P<request_id>[\w-]+)\.(?P<fmt>\w+)$",
        open311.request_detail,
        name="request",
    ),
]
