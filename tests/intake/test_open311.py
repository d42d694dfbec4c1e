"""Open311 GeoReport v2: services, filing requests with an api_key, public request search."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from routing.intake import services
from routing.intake.models import ApiClient, Department, Report
from routing.intake.services import NewReport

BASE = "/open311/v2"
LAMP = "Gatlampan utanför Storgatan 14 har varit släckt i två veckor, det är kolsvart på kvällen."


@pytest.fixture
def api_key(db):
    _client, key = ApiClient.create_with_key("felanmälningsappen")
    return key


@pytest.fixture
def post_request(client, api_key):
    """POST requests form-encoded: a valid lamp report unless fields say otherwise (None drops)."""

    def post(fmt="json", **fields):
        data = {"api_key": api_key, "description": LAMP, "lat": "59.329300", "long": "18.068600"}
        data.update(fields)
        data = {name: value for name, value in data.items() if value is not None}
        return client.post(
            f"{BASE}/requests.{fmt}",
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
        )

    return post


def make_report(
    department="belysning", status=Report.Status.ROUTED, days_ago=0.0, channel="api", **fields
):
    """A stored report, routed to `department` and received `days_ago` days back."""
    report = services.ingest_report(NewReport(text=LAMP, channel=channel, **fields))
    Report.objects.filter(pk=report.pk).update(
        department=Department.objects.get(code=department) if department else None,
        status=status,
        received_at=timezone.now() - timedelta(days=days_ago),
    )
    return Report.objects.get(pk=report.pk)


def xml_items(response):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return ET.fromstring(response.content)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["service_request_id"] for row in response.json())


def assert_error(response, status, message):
    assert response.status_code == status
    errors = response.json() if response["Content-Type"] == "application/json" else None
    if errors is None:
        root = xml_items(response)
        assert root.tag == "errors"
        errors = [{child.tag: child.text for child in error} for error in root]
        errors[0]["code"] = int(errors[0]["code"])
    assert errors[0]["code"] == status
    assert message in errors[0]["description"]


# Services


@pytest.mark.django_db
def test_services_are_the_active_departments_in_xml(client):
    Department.objects.filter(code="bygg").update(active=False)

    root = xml_items(client.get(f"{BASE}/services.xml"))

    assert root.tag == "services"
    services_by_code = {s.findtext("service_code"): s for s in root.findall("service")}
    assert len(services_by_code) == 13
    assert "bygg" not in services_by_code
    lamp = services_by_code["belysning"]
    assert lamp.findtext("service_name") == "Gatubelysning"
    assert lamp.findtext("metadata") == "false"
    assert lamp.findtext("type") == "realtime"
    assert "gatlykta" in lamp.findtext("keywords").split(",")
    assert lamp.findtext("group") == "Gata och park"
    assert lamp.findtext("description")


@pytest.mark.django_db
def test_services_in_json(client):
    response = client.get(f"{BASE}/services.json")

    assert response["Content-Type"] == "application/json"
    assert all(service["description"] and service["group"] for service in response.json())
    lamp = next(s for s in response.json() if s["service_code"] == "belysning")
    assert lamp["metadata"] is False
    assert set(lamp) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }


@pytest.mark.django_db
def test_service_definition_of_a_known_code_has_no_attributes(client):
    root = xml_items(client.get(f"{BASE}/services/belysning.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "belysning"

    response = client.get(f"{BASE}/services/belysning.json")
    assert response.json() == {"service_code": "belysning", "attributes": []}


@pytest.mark.django_db
def test_an_unknown_service_is_a_standard_404(client):
    assert_error(client.get(f"{BASE}/services/okand.xml"), 404, "Okänd tjänst")
    assert_error(client.get(f"{BASE}/services/okand.json"), 404, "Okänd tjänst")


@pytest.mark.django_db
def test_an_unknown_format_is_404_and_other_methods_405(client):
    assert_error(client.get(f"{BASE}/services.csv"), 404, "Okänt format")
    response = client.delete(f"{BASE}/requests.json")
    assert_error(response, 405, "stöds inte")
    assert response["Allow"] == "GET, POST"
    assert client.post(f"{BASE}/services.json").status_code == 405


# Filing a request


@pytest.mark.django_db
def test_a_request_with_lat_long_is_filed(post_request):
    response = post_request(
        email="anna@example.se", first_name="Anna", last_name="Svensson", account_id="a-17"
    )

    assert response.status_code == 200
    [row] = response.json()
    report = Report.objects.get(case_number=row["service_request_id"])
    assert row["account_id"] == "a-17"
    assert row["service_notice"]
    assert report.channel == "api"
    assert report.api_client.name == "felanmälningsappen"
    assert (float(report.latitude), float(report.longitude)) == (59.3293, 18.0686)
    assert (report.reporter_name, report.reporter_email) == ("Anna Svensson", "anna@example.se")
    source = json.loads(report.raw_source)
    assert source["account_id"] == "a-17"
    assert "api_key" not in source  # a secret has no place in the audit copy


@pytest.mark.django_db
def test_a_request_with_an_address_is_filed_from_a_multipart_form(client, api_key):
    response = client.post(
        f"{BASE}/requests.xml",
        {"api_key": api_key, "description": LAMP, "address_string": "Storgatan 14"},
    )

    assert response.status_code == 200
    request = xml_items(response).find("request")
    report = Report.objects.get(case_number=request.findtext("service_request_id"))
    assert report.location_text == "Storgatan 14"
    assert report.latitude is None


@pytest.mark.parametrize("key", [None, "", "inte-en-nyckel", "inactive"])
@pytest.mark.django_db
def test_a_missing_or_bad_api_key_is_refused(post_request, key):
    if key == "inactive":
        client, key = ApiClient.create_with_key("avstängd")
        ApiClient.objects.filter(pk=client.pk).update(active=False)

    assert_error(post_request("xml", api_key=key), 403, "API-nyckel")
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": None}, "Beskriv ärendet"),
        ({"description": "  \n\t "}, "Beskriv ärendet"),
        ({"description": "x" * 20_001}, "för lång"),
        ({"lat": None, "long": None}, "Ange platsen"),
        ({"long": None}, "både latitud och longitud"),
        ({"lat": "nittio"}, "Ogiltig koordinat"),
        ({"service_code": "okand"}, "Okänd tjänst"),
        ({"email": "inte-en-adress"}, "e-postadress"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_a_400_and_nothing_is_saved(post_request, fields, message):
    assert_error(post_request(**fields), 400, message)
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_json_body_is_refused(client, api_key):
    body = json.dumps({"api_key": api_key, "description": LAMP, "address_string": "Torget"})
    response = client.post(f"{BASE}/requests.json", body, content_type="application/json")

    assert_error(response, 400, "formulärkodade")
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_given_service_code_is_recorded_but_the_model_routes(post_request):
    [row] = post_request(service_code="park_natur").json()

    report = Report.objects.get(case_number=row["service_request_id"])
    assert json.loads(report.raw_source)["service_code"] == "park_natur"
    assert report.department is None
    assert "styr inte fördelningen" in row["service_notice"]


@pytest.mark.django_db
def test_html_is_stored_as_text_and_escaped_in_xml(client, post_request):
    text = "<script>alert('x')</script> & lampan är trasig"
    [row] = post_request(description=text).json()
    report = Report.objects.get(case_number=row["service_request_id"])
    assert report.text == text
    report.department = Department.objects.get(code="belysning")
    report.save()

    response = client.get(f"{BASE}/requests/{report.case_number}.xml")

    assert b"&lt;script&gt;" in response.content
    assert b"<script>" not in response.content
    assert xml_items(response).find("request").findtext("description") == text


# Following requests


@pytest.mark.django_db
def test_a_request_is_shown_by_id_with_public_fields_only(client):
    report = make_report(
        location_text="Storgatan 14",
        reporter_name="Anna Svensson",
        reporter_email="anna@example.se",
        reporter_phone="070-1234567",
        raw_source="hemlig källa",
    )

    response = client.get(f"{BASE}/requests/{report.case_number}.json")

    [row] = response.json()
    assert row["service_request_id"] == report.case_number
    assert (row["status"], row["service_code"], row["service_name"]) == (
        "open",
        "belysning",
        "Gatubelysning",
    )
    assert row["description"] == LAMP
    assert row["address"] == "Storgatan 14"
    # ISO 8601 with the offset of Stockholm local time.
    assert row["requested_datetime"] == timezone.localtime(report.received_at).isoformat(
        timespec="seconds"
    )
    assert row["requested_datetime"][-6:] in {"+01:00", "+02:00"}
    body = response.content.decode()
    for private in ("Anna", "anna@example.se", "070-1234567", "hemlig"):
        assert private not in body
    assert "predicted_service_code" not in row  # not routed by the model


@pytest.mark.django_db
def test_an_unknown_request_is_a_standard_404(client):
    assert_error(client.get(f"{BASE}/requests/2026-99999.xml"), 404, "Okänt ärende")


@pytest.mark.django_db
def test_confidential_and_unrouted_requests_withhold_text_and_place(client):
    social = make_report(department="socialtjanst", location_text="Hemgatan 3")
    unrouted = make_report(department=None, status=Report.Status.RECEIVED)

    response = client.get(f"{BASE}/requests.json")

    rows = {row["service_request_id"]: row for row in response.json()}
    assert rows[social.case_number]["description"] == ""
    assert rows[social.case_number]["address"] == ""
    assert rows[unrouted.case_number]["description"] == ""
    assert rows[unrouted.case_number]["service_code"] == ""
    assert "Hemgatan" not in response.content.decode()


@pytest.mark.django_db
def test_requests_are_filtered_by_id_service_code_and_status(client):
    lamp = make_report(department="belysning")
    park = make_report(department="park_natur")
    closed = make_report(department="park_natur", status=Report.Status.CLOSED)
    url = f"{BASE}/requests.json"

    both = {"service_request_id": f"{lamp.case_number}, {park.case_number}", "status": "closed"}
    assert ids(client.get(url, both)) == sorted([lamp.case_number, park.case_number])
    assert ids(client.get(url, {"service_request_id": lamp.case_number})) == [lamp.case_number]
    assert ids(client.get(url, {"service_code": "park_natur"})) == sorted(
        [park.case_number, closed.case_number]
    )
    assert ids(client.get(url, {"service_code": "belysning,park_natur", "status": "open"})) == (
        sorted([lamp.case_number, park.case_number])
    )
    assert ids(client.get(url, {"status": "closed"})) == [closed.case_number]
    assert client.get(url, {"status": "closed"}).json()[0]["status"] == "closed"
    assert_error(client.get(url, {"status": "pågår"}), 400, "Okänd status")


@pytest.mark.django_db
def test_requests_are_filtered_by_date_within_90_days(client):
    recent = make_report(days_ago=1)
    older = make_report(days_ago=30)
    ancient = make_report(days_ago=120)
    url = f"{BASE}/requests.json"
    day = timedelta(days=1)
    now = timezone.localtime()

    # No dates: the last 90 days.
    assert ids(client.get(url)) == sorted([recent.case_number, older.case_number])
    assert ids(client.get(url, {"start_date": (now - 130 * day).isoformat()})) == [
        ancient.case_number
    ]
    window = {"start_date": (now - 40 * day).isoformat(), "end_date": (now - 2 * day).isoformat()}
    assert ids(client.get(url, window)) == [older.case_number]
    # A "+01:00" offset sent unencoded arrives as a space and is still understood.
    start = (now - 2 * day).replace(microsecond=0).isoformat()
    assert ids(client.get(f"{url}?start_date={start}")) == [recent.case_number]
    assert ids(client.get(url, {"end_date": (now - 100 * day).date().isoformat()})) == [
        ancient.case_number
    ]

    too_wide = {"start_date": (now - 91 * day).isoformat(), "end_date": now.isoformat()}
    assert_error(client.get(url, too_wide), 400, "90 dagar")
    backwards = {"start_date": now.isoformat(), "end_date": (now - day).isoformat()}
    assert_error(client.get(url, backwards), 400, "före")
    for bad in ("igår", "2026-13-45", "9999-12-31"):
        assert client.get(url, {"start_date": bad}).status_code == 400


# End to end


@pytest.mark.django_db(transaction=True)
def test_a_filed_request_is_routed_by_the_worker_and_shows_it(
    client, active_model, celery_worker, wait_until
):
    _api_client, key = ApiClient.create_with_key("e2e")
    response = client.post(
        f"{BASE}/requests.json",
        urlencode({"api_key": key, "description": LAMP, "address_string": "Storgatan 14"}),
        content_type="application/x-www-form-urlencoded",
    )
    [row] = response.json()
    case_number = row["service_request_id"]

    report = wait_until(
        lambda: Report.objects.filter(case_number=case_number, status=Report.Status.ROUTED).first()
    )
    [shown] = client.get(f"{BASE}/requests/{case_number}.json").json()

    assert shown["status"] == "open"
    assert shown["service_code"] == report.department.code
    assert shown["predicted_service_code"] == report.prediction.department
    assert 0 < shown["predicted_confidence"] <= 1
    assert shown["description"] == LAMP


@pytest.mark.parametrize("channel", ["web", "email"])
@pytest.mark.django_db
def test_text_sent_by_form_or_email_is_never_published(client, channel):
    report = make_report(channel=channel, location_text="Storgatan 14")
    [row] = client.get(f"{BASE}/requests/{report.case_number}.json").json()
    assert row["description"] == ""
    assert row["address"] == ""
    assert row["service_code"] == "belysning"


@pytest.mark.django_db
def test_a_search_names_at_most_50_ids(client):
    ids = ",".join(f"2026-{n:05d}" for n in range(1, 52))
    response = client.get(f"{BASE}/requests.json", {"service_request_id": ids})
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


@pytest.mark.parametrize(
    "query", [{"service_code": "\x00"}, {"service_request_id": "\x00"}, {"status": "o\x00"}]
)
@pytest.mark.django_db
def test_nul_characters_are_a_400(client, query):
    response = client.get(f"{BASE}/requests.json", query)
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_nul_in_a_posted_field_is_a_400_and_nothing_is_saved(client, api_key):
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": api_key, "description": LAMP, "address_string": "x", "service_code": "\x00"},
    )
    assert response.status_code == 400
    assert not Report.objects.exists()
