"""The residents' web form: validation, receipt, honeypot, rate limit, CSRF, end to end."""

from __future__ import annotations

import json
import logging
import re

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from routing.intake.models import Report
from routing.intake.views import RECEIPT_MAX_AGE_SECONDS, RECEIPT_SESSION_KEY

FORM_URL = "/anmal/"
RECEIPT_URL = "/anmal/kvitto/"
LAMP = "Gatlampan utanför Storgatan 14 har varit släckt i två veckor, det är kolsvart på kvällen."


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counts live in Redis and would outlast a test; start each test from zero."""
    cache.clear()


def post(client, ip="192.0.2.10", **fields):
    data = {"text": LAMP, "subject": "", "location": "", "name": "", "email": "", "phone": ""}
    data.update(fields)
    return client.post(FORM_URL, data, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_start_page_links_to_the_form_and_the_login(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="sv"' in response.content.decode()
    assert "Lämna en felanmälan eller synpunkt" in response.content.decode()
    assert f'href="{FORM_URL}"' in response.content.decode()
    assert 'href="/konto/login/"' in response.content.decode()


@pytest.mark.django_db
def test_form_renders_in_swedish_with_a_csrf_token(client):
    response = client.get(FORM_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="sv">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_text">Beskriv ärendet' in html
    assert "(obligatoriskt)" in html
    assert 'aria-describedby="id_text_helptext"' in html
    assert 'id="id_text_helptext"' in html
    # The honeypot is hidden from people and assistive technology, out of the tab order.
    assert '<div class="hp" aria-hidden="true">' in html
    assert 'name="website"' in html
    assert 'tabindex="-1"' in html


@pytest.mark.django_db
def test_a_valid_post_files_one_web_report_and_shows_its_receipt(client):
    response = post(client, subject="Släckt lampa", location="Storgatan 14", email="a@example.se")
    assert response.status_code == 302
    assert response["Location"] == RECEIPT_URL

    report = Report.objects.get()
    assert report.channel == "web"
    assert report.text == LAMP
    assert report.location_text == "Storgatan 14"
    assert report.reporter_email == "a@example.se"
    raw = json.loads(report.raw_source)
    assert raw["subject"] == "Släckt lampa"
    assert "csrfmiddlewaretoken" not in raw
    assert "website" not in raw

    html = client.get(RECEIPT_URL).content.decode()
    assert f"Tack! Ditt ärende har nummer {report.case_number}." in re.sub(r"<[^>]+>", "", html)
    assert "En bekräftelse med ärendenumret är på väg till din e-post." in html
    assert report.case_number not in response["Location"]


@pytest.mark.django_db
def test_receipt_without_an_email_promises_no_confirmation(client):
    post(client)
    html = client.get(RECEIPT_URL).content.decode()
    assert "Tack! Ditt ärende har nummer" in html
    assert "bekräftelse" not in html


@pytest.mark.parametrize("text", ["", "   \n\t  "])
@pytest.mark.django_db
def test_empty_text_is_a_form_error_and_nothing_is_saved(client, text):
    response = post(client, text=text, subject="Kvar", phone="070-123 45 67")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Beskriv ärendet med några ord." in html
    # The error is summarised at the top with a link to the field, and tied to the field.
    assert 'class="error-summary"' in html
    assert 'href="#id_text"' in html
    assert 'id="id_text_error"' in html
    assert 'aria-invalid="true"' in html
    assert "id_text_helptext id_text_error" in html
    # The resident's other input is kept.
    assert 'value="Kvar"' in html
    assert 'value="070-123 45 67"' in html
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_text_over_the_limit_is_a_form_error_and_nothing_is_saved(client):
    response = post(client, text="x" * 20_001)
    assert response.status_code == 200
    assert "Texten är för lång" in response.content.decode()
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_text_at_the_limit_with_windows_line_breaks_is_accepted(client):
    # The browser sends CRLF; stored as LF, the text is exactly at the limit.
    text = ("y" * 99 + "\r\n") * 199 + "y" * 100
    assert len(text) > 20_000
    assert post(client, text=text).status_code == 302
    assert len(Report.objects.get().text) == 20_000


@pytest.mark.django_db
def test_a_bad_email_is_a_form_error_and_the_text_is_kept_escaped(client):
    response = post(client, text="<script>alert('x')</script> Lampan", email="inte-en-adress")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ange en giltig e-postadress" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Lampan" in html
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_filled_honeypot_looks_accepted_but_stores_nothing(client, caplog):
    with caplog.at_level(logging.INFO, logger="routing.intake.views"):
        response = post(client, website="http://spam.example")
    assert response.status_code == 302
    assert not Report.objects.exists()
    assert "honeypot" in caplog.text
    assert "Tack!" in client.get(RECEIPT_URL).content.decode()


@pytest.mark.django_db
def test_script_in_the_text_is_escaped_on_the_receipt(client):
    post(client, text="<script>alert('x')</script> Lampan är trasig", subject="<b>fet</b>")
    html = client.get(RECEIPT_URL).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "<b>fet</b>" not in html
    assert "&lt;b&gt;fet&lt;/b&gt;" in html


@pytest.mark.django_db
def test_the_receipt_without_a_session_shows_no_case(client):
    post(Client())  # someone else's report
    response = client.get(RECEIPT_URL)
    assert response.status_code == 302
    assert response["Location"] == FORM_URL


@pytest.mark.django_db
def test_the_receipt_expires(client):
    post(client)
    assert client.get(RECEIPT_URL).status_code == 200
    session = client.session
    session[RECEIPT_SESSION_KEY]["filed_at"] -= RECEIPT_MAX_AGE_SECONDS + 1
    session.save()
    assert client.get(RECEIPT_URL)["Location"] == FORM_URL


@pytest.mark.django_db
def test_the_rate_limit_refuses_with_429_and_another_ip_is_accepted(client, settings):
    settings.FORM_RATE_LIMIT = 2
    assert post(client, ip="192.0.2.1").status_code == 302
    assert post(client, ip="192.0.2.1").status_code == 302

    refused = post(client, ip="192.0.2.1")
    assert refused.status_code == 429
    assert "Ditt senaste ärende har inte sparats" in refused.content.decode()
    assert LAMP in refused.content.decode()  # the text is shown, so it can be copied
    assert Report.objects.count() == 2

    assert post(client, ip="192.0.2.2").status_code == 302
    assert Report.objects.count() == 3


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_limit_counts_the_forwarded_address(client, settings):
    settings.FORM_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_HOPS = 1
    proxy = "10.0.0.5"

    def via_proxy(forwarded):
        data = {"text": LAMP, "subject": "", "location": "", "name": "", "email": "", "phone": ""}
        return client.post(FORM_URL, data, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded)

    assert via_proxy("192.0.2.1").status_code == 302
    assert via_proxy("192.0.2.2").status_code == 302
    # A forged first entry does not help: the proxy's own entry is the last one.
    assert via_proxy("198.51.100.9, 192.0.2.1").status_code == 429


@pytest.mark.django_db
def test_invalid_posts_do_not_count_towards_the_rate_limit(client, settings):
    settings.FORM_RATE_LIMIT = 1
    assert post(client, text="").status_code == 200
    assert post(client).status_code == 302


@pytest.mark.django_db
def test_the_form_fails_open_when_the_cache_is_down(client, settings, caplog):
    settings.FORM_RATE_LIMIT = 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("probe")  # the cache really is down

    with caplog.at_level(logging.WARNING, logger="routing.intake.views"):
        assert post(client).status_code == 302
        assert post(client).status_code == 302  # over the limit, but it cannot be counted
    assert Report.objects.count() == 2
    assert "cache unavailable" in caplog.text


@pytest.mark.django_db
def test_csrf_is_enforced():
    response = post(Client(enforce_csrf_checks=True))
    assert response.status_code == 403
    assert not Report.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_form_report_is_routed_by_a_real_worker(client, active_model, celery_worker, wait_until):
    assert post(client).status_code == 302
    report = Report.objects.get()
    assert report.channel == "web"

    routed = wait_until(
        lambda: Report.objects.filter(pk=report.pk, status=Report.Status.ROUTED).first()
    )
    assert routed.department is not None
    assert routed.prediction.model_version == active_model.version
