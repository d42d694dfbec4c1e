"""The REST API: token auth, filing, following and listing reports, and every bad input."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from routing.intake.models import ApiClient, Report
from tests.ml.test_baseline import PREDICTION_KEYS

LAMP = "Gatlampan vid busshållplatsen på Kyrkvägen är släckt sedan i fredags."


@pytest.fixture
def api_key(db):
    _, key = ApiClient.create_with_key("Felanmälningsappen")
    return key


@pytest.fixture
def api(api_key):
    return Client(HTTP_AUTHORIZATION=f"Token {api_key}")


def post(client, body, **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        "/api/v1/reports", payload, content_type=extra.pop("content_type", "application/json")
    )


def test_create_api_client_prints_a_working_key(db, capsys):
    call_command("create_api_client", "Kundtjänstens chattbot")
    key = capsys.readouterr().out.strip()
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/reports")
    assert response.status_code == 200
    assert ApiClient.objects.get(name="Kundtjänstens chattbot").key_hash != key


def test_a_report_is_filed_and_can_be_followed(api):
    response = post(
        api,
        {
            "text": LAMP,
            "subject": "Släckt lampa",
            "location": {"address": "Kyrkvägen 3", "lat": 59.33, "long": 18.06},
            "reporter_email": "anna@example.se",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "status", "url"}
    assert body["status"] == "received"
    assert response["Location"] == body["url"]

    report = Report.objects.get(case_number=body["id"])
    assert report.channel == "api"
    assert report.location_text == "Kyrkvägen 3"
    assert float(report.latitude) == pytest.approx(59.33)

    detail = api.get(body["url"]).json()
    assert detail["id"] == body["id"]
    assert detail["text"] == LAMP
    assert detail["prediction"] is None


def test_a_routed_report_carries_the_prediction_in_the_ml_shape(api, active_model):
    from routing.learning.services import route_report

    body = post(api, {"text": LAMP}).json()
    route_report(Report.objects.get(case_number=body["id"]).pk)

    detail = api.get(body["url"]).json()
    assert detail["status"] == "routed"
    prediction = detail["prediction"]
    assert set(prediction) == PREDICTION_KEYS
    assert detail["department"] == prediction["department"]["label"]
    assert prediction["model"]["version"] == active_model.version


@pytest.mark.django_db(transaction=True)
def test_the_api_path_ends_in_a_routed_report(api, active_model, celery_worker, wait_until):
    url = post(api, {"text": LAMP}).json()["url"]
    detail = wait_until(lambda: (d := api.get(url).json())["status"] == "routed" and d)
    assert detail["prediction"]["department"]["label"] == detail["department"]


def test_a_client_lists_only_its_own_reports_with_filters(api, db):
    _, other_key = ApiClient.create_with_key("Annan klient")
    other = Client(HTTP_AUTHORIZATION=f"Token {other_key}")
    mine = post(api, {"text": LAMP}).json()["id"]
    post(api, {"text": "Fråga om bygglov för altan.", "channel": "email"})
    theirs = post(other, {"text": "Hål i cykelbanan."}).json()["id"]

    listed = api.get("/api/v1/reports").json()
    ids = {r["id"] for r in listed["results"]}
    assert mine in ids
    assert theirs not in ids
    assert listed["count"] == 2
    assert api.get(f"/api/v1/reports/{theirs}").status_code == 404

    filtered = api.get("/api/v1/reports", {"channel": "email"}).json()
    assert [r["channel"] for r in filtered["results"]] == ["email"]
    assert api.get("/api/v1/reports", {"status": "closed"}).json()["count"] == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Token fel-nyckel"}, {"HTTP_AUTHORIZATION": "Token"}],
)
def test_without_a_valid_key_nothing_is_filed(db, headers):
    response = post(Client(**headers), {"text": LAMP})
    assert response.status_code == 401
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": "x" * 20_001}, "text"),
        ({"subject": "Bara rubrik"}, "text"),
        ({"text": LAMP, "prio": "hög"}, "prio"),
        ({"text": LAMP, "channel": "fax"}, "channel"),
        ({"text": LAMP, "reporter_email": "inte-en-adress"}, "reporter_email"),
        ({"text": LAMP, "location": {"lat": 200}}, "location"),
        ({"text": LAMP, "location": ["Storgatan"]}, "location"),
        ({"text": None}, "text"),
    ],
)
def test_bad_input_is_a_clear_400_and_nothing_is_saved(api, body, field):
    response = post(api, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("payload", "content_type", "code"),
    [
        ("{inte json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("text=hej", "application/x-www-form-urlencoded", 415),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_malformed_bodies_are_refused(api, payload, content_type, code):
    response = post(api, payload, content_type=content_type)
    assert response.status_code == code
    assert "detail" in response.json()
    assert not Report.objects.exists()


def test_a_body_over_the_size_limit_is_413(api, settings):
    response = post(api, {"text": "å" * 200_000})
    assert response.status_code == 413
    assert not Report.objects.exists()


def test_html_in_a_report_is_stored_and_returned_as_text(api):
    text = '<img src=x onerror="alert(1)"> Lampan är trasig'
    body = post(api, {"text": text}).json()
    assert api.get(body["url"]).json()["text"] == text


def test_the_openapi_schema_and_docs_are_served(client, db):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/reports" in schema.json()["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ({"lat": 59.329323499999996, "long": 18.068580800000063}, 201),
        ({"lat": 59.33}, 400),
        ({"address": "x" * 301}, 400),
    ],
)
def test_coordinates_are_checked_in_one_place(api, location, code):
    response = post(api, {"text": LAMP, "location": location})
    assert response.status_code == code
    if code == 400:
        assert "location" in response.json()


def test_an_email_address_too_long_to_store_is_a_400(api):
    address = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".se"
    response = post(api, {"text": LAMP, "reporter_email": address})
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_an_id_that_is_not_a_case_number_is_a_404(api):
    assert api.get("/api/v1/reports/%00").status_code == 404
    assert api.get("/api/v1/reports/2026-1").status_code == 404


def test_case_workers_do_not_read_reports_through_the_api(api, django_user_model):
    post(api, {"text": LAMP})
    worker = django_user_model.objects.create_user("handlaggare", password="x", is_staff=True)
    client = Client()
    client.force_login(worker)
    assert client.get("/api/v1/reports").status_code == 403
