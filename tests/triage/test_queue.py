"""The queue pages: who sees which queue, sorting, filters, counters, review, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from routing.intake.models import Department, Report
from routing.learning.models import Label

QUEUE = "/arenden/"
REVIEW = "/arenden/granskning/"


@pytest.fixture
def login(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


def case_numbers(response) -> list[str]:
    return [report.case_number for report in response.context["page"].object_list]


def age(report, **delta):
    """Move a report's received time back by a timedelta's arguments."""
    Report.objects.filter(pk=report.pk).update(received_at=timezone.now() - timedelta(**delta))


def unrouted(text="Något är trasigt vid torget.", minutes=5, **fields):
    """A report filed but never routed, received `minutes` ago."""
    from routing.intake import services

    report = services.ingest_report(services.NewReport(text=text, channel="web", **fields))
    age(report, minutes=minutes)
    return report


# URLs and permissions ---------------------------------------------------------------------


def test_urls_are_named():
    assert reverse("triage:queue") == QUEUE
    assert reverse("triage:review") == REVIEW


@pytest.mark.parametrize("url", [QUEUE, REVIEW])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/login/?next=")


@pytest.mark.parametrize("url", [QUEUE, REVIEW, QUEUE + "?avdelning=belysning"])
def test_outsider_is_refused(login, outsider, url):
    assert login(outsider).get(url).status_code == 403


def test_case_worker_sees_only_own_department(login, belysning_worker, make_routed_report):
    own = make_routed_report(department="belysning")
    other = make_routed_report(department="gata_trafik", text="Potthål på Storgatan.")
    response = login(belysning_worker).get(QUEUE)
    assert response.status_code == 200
    assert case_numbers(response) == [own.case_number]
    assert other.case_number not in response.content.decode()


@pytest.mark.parametrize("queue", ["gata_trafik", "alla", "ofordelade"])
def test_case_worker_cannot_open_another_queue(login, belysning_worker, make_routed_report, queue):
    make_routed_report(department="gata_trafik", text="Potthål på Storgatan.")
    response = login(belysning_worker).get(QUEUE, {"avdelning": queue})
    assert response.status_code in (403, 404)
    assert "Potthål" not in response.content.decode()


def test_case_worker_review_is_limited_to_own_departments(
    login, belysning_worker, make_routed_report
):
    own = make_routed_report(department="belysning", confidence=0.3)
    make_routed_report(department="gata_trafik", confidence=0.2, text="Potthål på Storgatan.")
    unrouted()
    response = login(belysning_worker).get(REVIEW)
    assert response.status_code == 200
    assert case_numbers(response) == [own.case_number]


@pytest.mark.parametrize("persona", ["coordinator", "administrator"])
def test_those_who_see_everything_get_all_and_unrouted(request, login, make_routed_report, persona):
    user = request.getfixturevalue(persona)
    lamp = make_routed_report(department="belysning")
    road = make_routed_report(department="gata_trafik", text="Potthål på Storgatan.")
    waiting = unrouted()
    client = login(user)

    response = client.get(QUEUE)
    assert response.context["queue_code"] == "alla"
    assert set(case_numbers(response)) == {lamp.case_number, road.case_number, waiting.case_number}
    assert case_numbers(client.get(QUEUE, {"avdelning": "ofordelade"})) == [waiting.case_number]
    assert case_numbers(client.get(QUEUE, {"avdelning": "gata_trafik"})) == [road.case_number]
    chooser = [code for code, _name in response.context["queues"]]
    assert chooser[:2] == ["alla", "ofordelade"]
    assert len(chooser) == 2 + Department.objects.count()
    assert client.get(REVIEW).status_code == 200


def test_case_worker_chooser_lists_own_departments_only(login, make_routed_report):
    from routing.triage.models import CASE_WORKERS
    from tests.conftest import make_user

    user = make_user("two", group=CASE_WORKERS, departments=["belysning", "vinter"])
    response = login(user).get(QUEUE)
    codes = [code for code, _name in response.context["queues"]]
    assert sorted(codes) == ["belysning", "vinter"]
    assert response.context["queue_code"] == codes[0]


def test_logout_is_a_post_form_with_csrf(login, belysning_worker):
    html = login(belysning_worker).get(QUEUE).content.decode()
    assert 'action="/konto/logout/"' in html
    assert 'method="post"' in html
    assert "csrfmiddlewaretoken" in html
    assert "Logga ut" in html


def test_login_page_is_swedish_and_leads_to_the_queue(client, belysning_worker):
    page = client.get("/konto/login/")
    assert page.status_code == 200
    assert "Logga in som handläggare" in page.content.decode()
    response = client.post(
        "/konto/login/", {"username": "lena", "password": "lösenord-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == QUEUE
    assert response.status_code == 200


def test_residents_start_page_links_to_login(client, db):
    assert 'href="/konto/login/"' in client.get("/").content.decode()


# Sorting and columns ---------------------------------------------------------------------


def test_most_severe_first_then_oldest(login, belysning_worker, make_routed_report):
    mild = make_routed_report(severity_score=1.2)
    severe_new = make_routed_report(severity_score=4.6)
    severe_old = make_routed_report(severity_score=4.6)
    age(severe_old, days=2)
    unknown = make_routed_report(severity_score=3.0)
    Report.objects.filter(pk=unknown.pk).update(severity_score=None)
    middle = make_routed_report(severity_score=3.1)
    response = login(belysning_worker).get(QUEUE)
    assert case_numbers(response) == [
        severe_old.case_number,
        severe_new.case_number,
        middle.case_number,
        mild.case_number,
        unknown.case_number,
    ]


def test_row_shows_swedish_labels(login, belysning_worker, make_routed_report):
    report = make_routed_report(
        severity_score=4.2,
        confidence=0.873,
        case_type="klagomal",
        sentiment="negativ",
        tags=("barn", "trafiksakerhet"),
        subject="Mörkt vid skolan",
    )
    Report.objects.filter(pk=report.pk).update(assignee=belysning_worker)
    html = login(belysning_worker).get(QUEUE).content.decode()
    for text in ("Mörkt vid skolan", "Klagomål", "Hög (4)", "Negativ", "87 %", "Fördelat"):
        assert text in html
    assert "Trafiksäkerhet, Barn" in html
    assert f'href="/arenden/{report.case_number}/"' in html
    assert '<th scope="col">' in html
    assert "<caption>" in html


def test_text_stands_in_for_a_missing_subject(login, belysning_worker, make_routed_report):
    make_routed_report(text="Lampan vid busshållplatsen blinkar hela natten " + "och mer " * 40)
    html = login(belysning_worker).get(QUEUE).content.decode()
    assert "Lampan vid busshållplatsen blinkar hela natten" in html
    assert "och mer " * 30 not in html


def test_resident_text_is_escaped(login, coordinator, make_routed_report):
    make_routed_report(text="<script>alert(1)</script> lampan", subject="<script>x</script>")
    make_routed_report(text="<script>alert(2)</script> lampan")
    html = login(coordinator).get(QUEUE).content.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


# Filters ----------------------------------------------------------------------------------


def test_filter_by_status(login, belysning_worker, make_routed_report):
    make_routed_report()
    closed = make_routed_report()
    Report.objects.filter(pk=closed.pk).update(status=Report.Status.CLOSED)
    response = login(belysning_worker).get(QUEUE, {"status": "closed"})
    assert case_numbers(response) == [closed.case_number]


def test_filter_by_case_type_severity_and_tag(login, belysning_worker, make_routed_report):
    question = make_routed_report(case_type="fraga", severity_score=1.0)
    child = make_routed_report(tags=("barn", "trygghet"), severity_score=4.0)
    make_routed_report(tags=("trygghet",), severity_score=2.0)
    client = login(belysning_worker)
    assert case_numbers(client.get(QUEUE, {"typ": "fraga"})) == [question.case_number]
    assert case_numbers(client.get(QUEUE, {"allvarlighet": "4"})) == [child.case_number]
    assert case_numbers(client.get(QUEUE, {"tagg": "barn"})) == [child.case_number]


def test_filter_by_local_date_range(login, belysning_worker, make_routed_report):
    old = make_routed_report()
    age(old, days=10)
    new = make_routed_report()
    client = login(belysning_worker)
    today = timezone.localdate()
    since = (today - timedelta(days=1)).isoformat()
    assert case_numbers(client.get(QUEUE, {"fran": since})) == [new.case_number]
    until = (today - timedelta(days=5)).isoformat()
    assert case_numbers(client.get(QUEUE, {"till": until})) == [old.case_number]
    both = {"fran": today.isoformat(), "till": today.isoformat()}
    assert case_numbers(client.get(QUEUE, both)) == [new.case_number]


def test_filter_by_assignee(login, belysning_worker, make_routed_report):
    from routing.triage.models import CASE_WORKERS
    from tests.conftest import make_user

    colleague = make_user("cecilia", group=CASE_WORKERS, departments=["belysning"])
    mine = make_routed_report()
    theirs = make_routed_report()
    nobody = make_routed_report()
    Report.objects.filter(pk=mine.pk).update(assignee=belysning_worker)
    Report.objects.filter(pk=theirs.pk).update(assignee=colleague)
    client = login(belysning_worker)
    assert case_numbers(client.get(QUEUE, {"handlaggare": "mig"})) == [mine.case_number]
    assert case_numbers(client.get(QUEUE, {"handlaggare": "ingen"})) == [nobody.case_number]
    response = client.get(QUEUE, {"handlaggare": str(colleague.pk)})
    assert case_numbers(response) == [theirs.case_number]


def test_assignee_outside_the_department_is_ignored(
    login, belysning_worker, gata_worker, make_routed_report
):
    make_routed_report()
    response = login(belysning_worker).get(QUEUE, {"handlaggare": str(gata_worker.pk)})
    assert response.status_code == 200
    assert len(case_numbers(response)) == 1
    assert "Ogiltigt värde för handläggare" in response.content.decode()


def test_free_text_search_in_subject_and_text(login, belysning_worker, make_routed_report):
    in_text = make_routed_report(text="Gatlampan vid LEKPLATSEN är trasig.")
    in_subject = make_routed_report(subject="Lekplatsen mörk", text="Det är mörkt.")
    make_routed_report(text="Lampan på Storgatan blinkar.")
    response = login(belysning_worker).get(QUEUE, {"q": "lekplatsen"})
    assert set(case_numbers(response)) == {in_text.case_number, in_subject.case_number}
    both_words = login(belysning_worker).get(QUEUE, {"q": "lekplatsen trasig"})
    assert case_numbers(both_words) == [in_text.case_number]


def test_filters_combine_and_stay_in_the_links(login, belysning_worker, make_routed_report):
    for _ in range(3):
        make_routed_report(tags=("barn",), text="Mörkt vid skolan.")
    make_routed_report(text="Mörkt vid skolan.")
    client = login(belysning_worker)
    with pytest.MonkeyPatch.context() as patch:
        from django.conf import settings

        patch.setattr(settings, "QUEUE_PAGE_SIZE", 2)
        response = client.get(QUEUE, {"q": "skolan", "status": "routed", "tagg": "barn"})
    assert response.context["page"].paginator.count == 3
    html = response.content.decode()
    for part in ("tagg=barn", "sida=2", "q=skolan", "status=routed"):
        assert part in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "nonsense"}, "status"),
        ({"typ": "x"}, "ärendetyp"),
        ({"allvarlighet": "9"}, "allvarlighet"),
        ({"allvarlighet": "hög"}, "allvarlighet"),
        ({"tagg": "' OR 1=1 --"}, "tagg"),
        ({"fran": "2024-13-45"}, "från datum"),
        ({"fran": "2024-05-10", "till": "2024-05-01"}, "till datum"),
        ({"handlaggare": "99999"}, "handläggare"),
        ({"q": "x" * 500}, "sökord"),
        ({"q": "lampa\x00"}, "sökord"),
    ],
)
def test_invalid_filter_values_are_ignored_with_a_message(
    login, belysning_worker, make_routed_report, params, field
):
    report = make_routed_report()
    response = login(belysning_worker).get(QUEUE, params)
    assert response.status_code == 200
    assert case_numbers(response) == [report.case_number]
    assert f"Ogiltigt värde för {field}" in response.content.decode()


def test_unknown_queue_and_page_fall_back_with_a_message(
    login, belysning_worker, make_routed_report
):
    report = make_routed_report()
    client = login(belysning_worker)
    response = client.get(QUEUE, {"avdelning": "finns_inte"})
    assert case_numbers(response) == [report.case_number]
    assert "Okänd kö" in response.content.decode()
    response = client.get(QUEUE, {"sida": "abc"})
    assert response.status_code == 200
    assert "finns inte; visar sida 1" in response.content.decode()


# Counters and pagination ------------------------------------------------------------------


def test_counters_per_status_of_the_chosen_queue(login, belysning_worker, make_routed_report):
    for _ in range(3):
        make_routed_report()
    started = make_routed_report()
    Report.objects.filter(pk=started.pk).update(status=Report.Status.IN_PROGRESS)
    make_routed_report(department="gata_trafik")
    response = login(belysning_worker).get(QUEUE, {"status": "in_progress"})
    counts = {c["code"]: c["count"] for c in response.context["counters"]}
    assert counts == {"received": 0, "routed": 3, "in_progress": 1, "closed": 0}
    assert response.context["total"] == 4


def test_pagination(login, belysning_worker, make_routed_report, settings):
    settings.QUEUE_PAGE_SIZE = 3
    reports = [make_routed_report(severity_score=5 - i * 0.5) for i in range(7)]
    client = login(belysning_worker)
    first = client.get(QUEUE)
    assert case_numbers(first) == [r.case_number for r in reports[:3]]
    assert first.context["page"].paginator.num_pages == 3
    assert "Sida 1 av 3" in first.content.decode()
    last = client.get(QUEUE, {"sida": "3"})
    assert case_numbers(last) == [reports[6].case_number]
    beyond = client.get(QUEUE, {"sida": "99"})
    assert beyond.context["page"].number == 3


def _queries_for(client, url, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("persona", ["belysning_worker", "coordinator"])
def test_query_count_does_not_grow_with_the_page(
    request, login, make_routed_report, settings, persona
):
    settings.QUEUE_PAGE_SIZE = 100
    client = login(request.getfixturevalue(persona))
    for _i in range(5):
        report = make_routed_report(tags=("barn",), confidence=0.4)
        Report.objects.filter(pk=report.pk).update(assignee=request.getfixturevalue(persona))
    few, response = _queries_for(client, QUEUE)
    few_filtered, _ = _queries_for(client, QUEUE, q="lampa", tagg="barn", handlaggare="mig")
    few_review, _ = _queries_for(client, REVIEW)
    assert len(case_numbers(response)) == 5
    for i in range(55):
        make_routed_report(tags=("barn",), confidence=0.4, severity_score=1 + i % 4)
    many, response = _queries_for(client, QUEUE)
    many_filtered, _ = _queries_for(client, QUEUE, q="lampa", tagg="barn")
    many_review, review = _queries_for(client, REVIEW)
    assert len(case_numbers(response)) == 60
    assert len(case_numbers(review)) == 60
    assert many == few
    assert many_filtered <= few_filtered
    assert many_review == few_review
    assert many <= 10


# Behöver granskning -----------------------------------------------------------------------


def test_review_lists_low_confidence_and_unrouted_lowest_first(
    login, coordinator, make_routed_report, settings
):
    settings.REVIEW_CONFIDENCE_THRESHOLD = 0.6
    unsure = make_routed_report(confidence=0.55)
    very_unsure = make_routed_report(confidence=0.2, department="gata_trafik")
    make_routed_report(confidence=0.6)
    make_routed_report(confidence=0.95)
    waiting = unrouted(minutes=5)
    unrouted(minutes=0)  # just in: the worker is still on it
    response = login(coordinator).get(REVIEW)
    assert case_numbers(response) == [
        waiting.case_number,
        very_unsure.case_number,
        unsure.case_number,
    ]
    assert "under 60 %" in response.content.decode()


def test_review_threshold_follows_the_setting(login, coordinator, make_routed_report, settings):
    report = make_routed_report(confidence=0.7)
    client = login(coordinator)
    settings.REVIEW_CONFIDENCE_THRESHOLD = 0.6
    assert case_numbers(client.get(REVIEW)) == []
    settings.REVIEW_CONFIDENCE_THRESHOLD = 0.75
    assert case_numbers(client.get(REVIEW)) == [report.case_number]


def test_review_drops_reports_whose_department_a_person_checked(
    login, coordinator, make_routed_report
):
    checked = make_routed_report(confidence=0.3)
    open_one = make_routed_report(confidence=0.4)
    Label.objects.create(report=checked, field="department", value="belysning", confirmed=True)
    assert case_numbers(login(coordinator).get(REVIEW)) == [open_one.case_number]


# Benchmark command ------------------------------------------------------------------------


def test_bench_queue_loads_measures_and_cleans(db, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.QUEUE_PAGE_SIZE = 10
    out = StringIO()
    call_command("bench_queue", reports=60, runs=1, batch=25, stdout=out)
    assert Report.objects.filter(raw_source="bench").count() == 60
    assert Report.objects.filter(raw_source="bench", department__isnull=False).exists()
    table = out.getvalue()
    for name in ("queue Alla, page 1", "search Alla", "review, coordinator", "queue belysning"):
        assert name in table
    call_command("bench_queue", clean=True, stdout=StringIO())
    assert not Report.objects.exists()


def test_bench_queue_refuses_a_database_with_real_reports(make_routed_report):
    from django.core.management import CommandError, call_command

    make_routed_report()
    with pytest.raises(CommandError, match="real reports"):
        call_command("bench_queue", reports=10, runs=1)


# In the browser ---------------------------------------------------------------------------


def focused(page, expression="textContent"):
    return page.evaluate(f"document.activeElement.{expression}")


@pytest.mark.django_db(transaction=True)
def test_a_case_worker_works_the_queue_with_the_keyboard_on_a_laptop_screen(
    page, live_server, make_routed_report, screenshots
):
    from ml import taxonomy
    from routing.triage.models import CASE_WORKERS
    from tests.conftest import make_user

    # Transactional tests flush the seeded departments; put them back.
    for code, name in taxonomy.DEPARTMENTS.items():
        Department.objects.get_or_create(code=code, defaults={"name": name})
    make_user("lena", group=CASE_WORKERS, departments=["belysning"], first_name="Lena")
    severe = make_routed_report(
        severity_score=4.7, subject="Stolpe på väg att falla", tags=("skaderisk", "barn")
    )
    second = make_routed_report(severity_score=3.2, confidence=0.41)
    make_routed_report(severity_score=1.4, case_type="fraga", sentiment="neutral")
    make_routed_report(department="gata_trafik", text="Potthål på Storgatan.")
    page.set_viewport_size({"width": 1366, "height": 768})

    page.goto(live_server.url + QUEUE)
    assert "/konto/login/" in page.url
    page.get_by_label("Användarnamn").fill("lena")
    page.get_by_label("Lösenord").fill("lösenord-123")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + QUEUE)
    assert page.get_by_role("heading", level=1).inner_text() == "Kö: Gatubelysning"
    assert "Potthål" not in page.content()
    # The table fits the laptop's width: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=screenshots / "queue.png", full_page=True)

    # Tab reaches the first row's case number, then the next row's; focus is visible.
    for _ in range(30):
        page.keyboard.press("Tab")
        if focused(page) == severe.case_number:
            break
    assert focused(page) == severe.case_number
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Tab")
    assert focused(page) == second.case_number

    # Filtering by keyboard: open the filters, search, submit; the filter is in the URL.
    page.goto(live_server.url + QUEUE)
    page.locator("summary").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Sök i rubrik och text").focus()
    page.keyboard.type("stolpe")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=stolpe**")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert severe.case_number in rows.first.inner_text()

    page.get_by_role("link", name="Behöver granskning").click()
    assert second.case_number in page.locator("tbody").inner_text()
    page.screenshot(path=screenshots / "review.png", full_page=True)

    page.get_by_role("link", name=second.case_number).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/arenden/{second.case_number}/")

    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(live_server.url + "/")


def test_several_invalid_filters_are_named_together(login, belysning_worker, make_routed_report):
    make_routed_report()
    response = login(belysning_worker).get(QUEUE, {"status": "x", "tagg": "y", "typ": "fraga"})
    assert response.status_code == 200
    assert "Ogiltigt värde för status, tagg; de filtren används inte." in response.content.decode()
    assert response.context["filtered"]  # the valid case-type filter still applies
