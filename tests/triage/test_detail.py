"""The report detail page and its actions: who may do what, what each action stores, and
that the resident's text reaches the page escaped."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from routing.intake.models import Attachment, Message, Prediction, Report
from routing.learning.models import Label
from routing.triage.models import CASE_WORKERS, ReportEvent
from routing.triage.templatetags.triage_detail import highlight_keywords
from tests.conftest import make_user

# One valid POST per action, keyed by URL name.
ACTIONS = {
    "confirm": {},
    "correct": {"case_type": "klagomal", "sentiment": "negativ", "severity": "2"},
    "move": {"department": "gata_trafik"},
    "assign": {"assignee": ""},
    "status": {"status": "in_progress"},
    "note": {"text": "Ringde upp."},
}
ALLOWED = ["belysning_worker", "coordinator", "administrator"]


def url(name: str, report: Report) -> str:
    return reverse(f"triage:{name}", kwargs={"case_number": report.case_number})


def detail_url(report: Report) -> str:
    return url("detail", report)


def login(client, user):
    client.force_login(user)
    return client


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def correction(report: Report, **changes) -> dict:
    """The correction form as the page fills it in, with some fields changed."""
    data = {
        "case_type": report.case_type,
        "sentiment": report.sentiment,
        "severity": str(report.severity or ""),
        "tags": report.tags,
        "keywords": ", ".join(report.keywords),
    }
    data.update(changes)
    return data


def nothing_stored(report: Report) -> bool:
    return not Label.objects.filter(report=report).exists() and not (
        ReportEvent.objects.filter(report=report).exists()
    )


@pytest.fixture
def report(make_routed_report):
    return make_routed_report(subject="Släckt gatlampa", location_text="Storgatan 14")


# Who may see and act -----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client, report):
    response = client.get(detail_url(report))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    for name, data in ACTIONS.items():
        response = client.post(url(name, report), data)
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("login")), name
    assert nothing_stored(report)


def test_users_outside_triage_get_403(client, report, outsider):
    login(client, outsider)
    assert client.get(detail_url(report)).status_code == 403
    for name, data in ACTIONS.items():
        assert client.post(url(name, report), data).status_code == 403, name
    assert nothing_stored(report)


def test_a_worker_of_another_department_gets_404_for_every_view_and_action(
    client, report, gata_worker
):
    login(client, gata_worker)
    assert client.get(detail_url(report)).status_code == 404
    for name, data in ACTIONS.items():
        assert client.post(url(name, report), data).status_code == 404, name
    report.refresh_from_db()
    assert report.department.code == "belysning"
    assert report.status == Report.Status.ROUTED
    assert nothing_stored(report)


@pytest.mark.parametrize("persona", ALLOWED)
def test_the_department_coordinators_and_admins_see_the_page(client, report, request, persona):
    login(client, request.getfixturevalue(persona))
    response = client.get(detail_url(report))
    assert response.status_code == 200
    assert report.case_number in response.content.decode()


@pytest.mark.parametrize("persona", ALLOWED)
def test_actions_are_post_only(client, report, request, persona):
    login(client, request.getfixturevalue(persona))
    for name in ACTIONS:
        assert client.get(url(name, report)).status_code == 405, name
    assert nothing_stored(report)


def test_an_unknown_or_malformed_case_number_is_404(client, coordinator):
    login(client, coordinator)
    assert client.get("/arenden/2025-99999/").status_code == 404
    assert client.get("/arenden/../admin/").status_code == 404
    assert client.get("/arenden/1999-00001/").status_code == 404


def test_actions_need_the_csrf_token(report, belysning_worker):
    client = login(Client(enforce_csrf_checks=True), belysning_worker)
    for name, data in ACTIONS.items():
        assert client.post(url(name, report), data).status_code == 403, name
    assert nothing_stored(report)


def test_unrouted_reports_are_for_coordinators_only(client, belysning_worker, coordinator):
    from routing.intake import services

    report = services.ingest_report(
        services.NewReport(text="Vem ansvarar för bron?", channel="web")
    )
    login(client, belysning_worker)
    assert client.get(detail_url(report)).status_code == 404
    login(client, coordinator)
    response = client.get(detail_url(report))
    assert response.status_code == 200
    assert "Inte fördelat" in response.content.decode()


# Confirm ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALLOWED)
def test_confirming_stores_a_confirmed_label_per_field(
    client, make_routed_report, request, persona
):
    user = request.getfixturevalue(persona)
    report = make_routed_report(tags=["trygghet"])
    login(client, user)

    response = client.post(url("confirm", report))

    assert response.status_code == 302
    assert response.url == detail_url(report)
    labels = {label.field: label for label in Label.objects.filter(report=report)}
    assert set(labels) == {"department", "case_type", "sentiment", "severity", "tags", "keywords"}
    assert all(label.confirmed and label.user == user for label in labels.values())
    assert all(label.model_version == "test-version" for label in labels.values())
    assert (labels["department"].predicted_value, labels["department"].value) == (
        "belysning",
        "belysning",
    )
    assert labels["severity"].value == 2
    assert labels["tags"].value == ["trygghet"]
    event = ReportEvent.objects.get(report=report)
    assert (event.kind, event.user) == (ReportEvent.Kind.CONFIRMED, user)
    assert "Prediktionen är bekräftad." in shown_messages(response)


def test_an_unrouted_report_cannot_be_confirmed(client, coordinator):
    from routing.intake import services

    report = services.ingest_report(
        services.NewReport(text="Vem ansvarar för bron?", channel="web")
    )
    login(client, coordinator)
    response = client.post(url("confirm", report), follow=True)
    assert "Ärendet har ingen förvaltning att bekräfta." in response.content.decode()
    assert nothing_stored(report)


# Correct labels -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALLOWED)
def test_correcting_labels_stores_a_label_and_an_event_for_each_changed_field(
    client, report, request, persona
):
    user = request.getfixturevalue(persona)
    login(client, user)
    data = correction(report, case_type="klagomal", severity="4", tags=["trygghet", "barn"])

    response = client.post(url("correct", report), data)

    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.case_type, report.severity, report.tags) == ("klagomal", 4, ["barn", "trygghet"])
    assert report.sentiment == "negativ"
    labels = {label.field: label for label in Label.objects.filter(report=report)}
    assert set(labels) == {"case_type", "severity", "tags"}
    case_type = labels["case_type"]
    assert (case_type.predicted_value, case_type.value) == ("felanmalan", "klagomal")
    assert (case_type.user, case_type.model_version, case_type.confirmed) == (
        user,
        "test-version",
        False,
    )
    assert (labels["severity"].predicted_value, labels["severity"].value) == (2, 4)
    assert labels["tags"].value == ["barn", "trygghet"]
    events = ReportEvent.objects.filter(report=report, kind=ReportEvent.Kind.CORRECTED)
    assert {(e.field, str(e.old_value), str(e.new_value)) for e in events} == {
        ("case_type", "felanmalan", "klagomal"),
        ("severity", "2", "4"),
        ("tags", "[]", "['barn', 'trygghet']"),
    }
    assert all(event.user == user for event in events)


def test_correcting_keywords_and_sentiment(client, report, belysning_worker):
    login(client, belysning_worker)
    data = correction(report, sentiment="neutral", keywords="Storgatan 14 ,  släckt, ")
    client.post(url("correct", report), data)
    report.refresh_from_db()
    assert report.sentiment == "neutral"
    assert report.keywords == ["Storgatan 14", "släckt"]
    label = Label.objects.get(report=report, field="keywords")
    assert (label.predicted_value, label.value) == (["Gatlampan", "Storgatan 14"], report.keywords)


def test_keywords_typed_in_another_case_are_stored_as_the_text_has_them(
    client, report, belysning_worker
):
    login(client, belysning_worker)
    client.post(url("correct", report), correction(report, keywords="gatlampan, STORGATAN 14"))
    report.refresh_from_db()
    assert report.keywords == ["Gatlampan", "Storgatan 14"]
    assert nothing_stored(report)


def test_an_unchanged_form_stores_nothing(client, make_routed_report, belysning_worker):
    report = make_routed_report(tags=["trafiksakerhet", "barn"])
    login(client, belysning_worker)
    # The same tags in another order are the same tags.
    data = correction(report, tags=["trafiksakerhet", "barn"])
    response = client.post(url("correct", report), data, follow=True)
    assert "Inget ändrades." in response.content.decode()
    assert nothing_stored(report)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"severity": "9"}, "Allvarlighet anges 1–5."),
        ({"case_type": "okand"}, "Okänd ärendetyp."),
        ({"sentiment": "arg"}, "Okänd ton."),
        ({"tags": ["ufo"]}, "Okänd tagg"),
        ({"keywords": "cykelbanan"}, "finns inte i texten"),
        # A good change beside a bad one is not stored either: all or nothing.
        ({"case_type": "klagomal", "keywords": "Gatlampan, cykelbanan"}, "cykelbanan"),
    ],
)
def test_bad_corrections_show_a_message_and_change_nothing(
    client, report, belysning_worker, changes, message
):
    login(client, belysning_worker)
    response = client.post(url("correct", report), correction(report, **changes), follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert any(message in shown for shown in [str(m) for m in response.context["messages"]])
    fresh = Report.objects.get(pk=report.pk)
    assert (fresh.case_type, fresh.sentiment, fresh.severity, fresh.keywords) == (
        report.case_type,
        report.sentiment,
        report.severity,
        report.keywords,
    )
    assert nothing_stored(report)


# Move to another department -------------------------------------------------------------


def test_moving_the_report_hands_it_to_the_other_department(
    client, report, belysning_worker, gata_worker
):
    login(client, belysning_worker)

    response = client.post(url("move", report), {"department": "gata_trafik"})

    # The worker can no longer see it: back to the queue, with a word why.
    assert response.status_code == 302
    assert response.url == reverse("triage:queue")
    assert any("syns inte längre" in message for message in shown_messages(response))
    report.refresh_from_db()
    assert report.department.code == "gata_trafik"
    label = Label.objects.get(report=report)
    assert (label.field, label.predicted_value, label.value) == (
        "department",
        "belysning",
        "gata_trafik",
    )
    assert (label.user, label.model_version, label.confirmed) == (
        belysning_worker,
        "test-version",
        False,
    )
    event = ReportEvent.objects.get(report=report)
    assert (event.kind, event.old_value, event.new_value) == (
        ReportEvent.Kind.REASSIGNED,
        "belysning",
        "gata_trafik",
    )
    assert client.get(detail_url(report)).status_code == 404
    assert client.post(url("note", report), {"text": "Hallå?"}).status_code == 404

    login(client, gata_worker)
    response = client.get(detail_url(report))
    assert response.status_code == 200
    assert "Flyttade från Gatubelysning till Gata och trafik" in response.content.decode()


@pytest.mark.parametrize("persona", ["coordinator", "administrator"])
def test_those_who_see_everything_stay_on_the_moved_report(client, report, request, persona):
    login(client, request.getfixturevalue(persona))
    response = client.post(url("move", report), {"department": "gata_trafik"})
    assert response.url == detail_url(report)
    assert Report.objects.get(pk=report.pk).department.code == "gata_trafik"


def test_an_unknown_department_changes_nothing(client, report, belysning_worker):
    login(client, belysning_worker)
    response = client.post(url("move", report), {"department": "okand"}, follow=True)
    assert "Okänd förvaltning." in response.content.decode()
    assert Report.objects.get(pk=report.pk).department.code == "belysning"
    assert nothing_stored(report)


def test_an_inactive_department_is_not_offered(client, report, belysning_worker):
    from routing.intake.models import Department

    Department.objects.filter(code="vinter").update(active=False)
    login(client, belysning_worker)
    assert 'value="vinter"' not in client.get(detail_url(report)).content.decode()
    response = client.post(url("move", report), {"department": "vinter"}, follow=True)
    assert "Okänd förvaltning." in response.content.decode()
    assert nothing_stored(report)


# Assign ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALLOWED)
def test_assigning_to_myself(client, report, request, persona):
    user = request.getfixturevalue(persona)
    login(client, user)
    response = client.post(url("assign", report), {"assignee": user.pk})
    assert response.url == detail_url(report)
    assert Report.objects.get(pk=report.pk).assignee == user
    event = ReportEvent.objects.get(report=report)
    assert (event.kind, event.user, event.new_value) == (
        ReportEvent.Kind.ASSIGNED,
        user,
        user.get_username(),
    )


def test_assigning_to_a_colleague_and_to_nobody(client, report, belysning_worker):
    colleague = make_user(
        "berit", group=CASE_WORKERS, departments=["belysning"], first_name="Berit"
    )
    login(client, belysning_worker)
    page = client.get(detail_url(report)).content.decode()
    assert f'<option value="{colleague.pk}">Berit</option>' in page

    client.post(url("assign", report), {"assignee": colleague.pk})
    assert Report.objects.get(pk=report.pk).assignee == colleague

    client.post(url("assign", report), {"assignee": ""})
    assert Report.objects.get(pk=report.pk).assignee is None
    kinds = list(ReportEvent.objects.filter(report=report).values_list("new_value", flat=True))
    assert kinds == ["berit", None]


def test_a_worker_of_another_department_cannot_be_assigned(
    client, report, belysning_worker, gata_worker
):
    login(client, belysning_worker)
    page = client.get(detail_url(report)).content.decode()
    assert f'value="{gata_worker.pk}"' not in page
    response = client.post(url("assign", report), {"assignee": gata_worker.pk}, follow=True)
    assert "Välj en handläggare i ärendets förvaltning." in response.content.decode()
    assert Report.objects.get(pk=report.pk).assignee is None
    assert nothing_stored(report)


# Status ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALLOWED)
def test_changing_the_status(client, report, request, persona):
    user = request.getfixturevalue(persona)
    login(client, user)
    client.post(url("status", report), {"status": "in_progress"})
    client.post(url("status", report), {"status": "closed"})
    assert Report.objects.get(pk=report.pk).status == Report.Status.CLOSED
    events = ReportEvent.objects.filter(report=report, kind=ReportEvent.Kind.STATUS)
    assert [(e.old_value, e.new_value, e.user) for e in events] == [
        ("routed", "in_progress", user),
        ("in_progress", "closed", user),
    ]
    page = client.get(detail_url(report)).content.decode()
    assert "Ändrade status från Pågår till Avslutat" in page


@pytest.mark.parametrize("status", ["received", "deleted", ""])
def test_a_status_outside_the_choices_changes_nothing(client, report, belysning_worker, status):
    login(client, belysning_worker)
    response = client.post(url("status", report), {"status": status}, follow=True)
    assert response.context["messages"]
    assert Report.objects.get(pk=report.pk).status == Report.Status.ROUTED
    assert nothing_stored(report)


# Notes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALLOWED)
def test_adding_a_note(client, report, request, persona):
    user = request.getfixturevalue(persona)
    login(client, user)
    response = client.post(url("note", report), {"text": "  Ringde upp anmälaren.  "})
    assert response.url == detail_url(report) + "#historik"
    event = ReportEvent.objects.get(report=report)
    assert (event.kind, event.user, event.text) == (
        ReportEvent.Kind.NOTE,
        user,
        "Ringde upp anmälaren.",
    )
    assert "Ringde upp anmälaren." in client.get(detail_url(report)).content.decode()


@pytest.mark.parametrize("text", ["", "   \n "])
def test_an_empty_note_is_refused(client, report, belysning_worker, text):
    login(client, belysning_worker)
    response = client.post(url("note", report), {"text": text}, follow=True)
    assert "Anteckningen är tom." in response.content.decode()
    assert nothing_stored(report)


def test_an_overlong_note_is_refused(client, report, belysning_worker):
    login(client, belysning_worker)
    response = client.post(url("note", report), {"text": "a" * 5001}, follow=True)
    assert "för lång" in response.content.decode()
    assert nothing_stored(report)


# What the page shows --------------------------------------------------------------------


def test_the_page_shows_the_report_its_labels_and_its_history(client, report, belysning_worker):
    login(client, belysning_worker)
    client.post(url("correct", report), correction(report, case_type="klagomal"))
    response = client.get(detail_url(report))
    page = response.content.decode()
    for text in [
        "Släckt gatlampa",
        "Storgatan 14",
        "Webbformulär",
        "Gatubelysning",
        "Fördelat",
        "Klagomål",
        "Negativ",
        "2 – Normal",
        "Mottaget",
        "Fördelat av modellen test-version",
        "Rättade ärendetyp: Felanmälan → Klagomål",
        "lena",
    ]:
        assert text in page, text
    # The history is in time order: received, routed, then the correction.
    history = [entry.what for entry in response.context["history"]]
    assert history == [
        "Mottaget",
        "Fördelat av modellen test-version",
        "Rättade ärendetyp: Felanmälan → Klagomål",
    ]
    # The two sections other parts of the page fill in.
    assert '<section id="explanation"' in page
    assert '<section id="similar"' in page


def test_every_control_has_a_label(client, report, belysning_worker):
    import re

    login(client, belysning_worker)
    page = client.get(detail_url(report)).content.decode()
    ids = re.findall(r'<(?:select|textarea|input)[^>]*\bid="([^"]+)"', page)
    assert ids
    for control in ids:
        assert f'for="{control}"' in page, control


def test_all_predictions_newest_first_with_the_top_three_departments(
    client, report, belysning_worker
):
    data = dict(report.prediction.data)
    data["department"] = {
        "label": "gata_trafik",
        "confidence": 0.61,
        "top": [["gata_trafik", 0.61], ["belysning", 0.3], ["vinter", 0.05], ["bygg", 0.01]],
    }
    Prediction.objects.create(
        report=report,
        model_version="newer-version",
        model_kind="transformer",
        data=data,
        department="gata_trafik",
        department_confidence=0.61,
        severity_score=2.0,
        created_at=timezone.now() + timedelta(minutes=5),
    )
    login(client, belysning_worker)
    response = client.get(detail_url(report))
    page = response.content.decode()
    assert [p.model_version for p in response.context["predictions"]] == [
        "newer-version",
        "test-version",
    ]
    assert page.index("newer-version") < page.index("Modell test-version")
    assert "fördelade ärendet" in page
    assert "Vinterväghållning (5 %)" in page
    assert "Bygg och stadsbyggnad (1 %)" not in page  # only the top three
    assert "61 %" in page
    assert "90 %" in page


def test_the_original_email_messages_and_attachments(client, report, belysning_worker):
    Report.objects.filter(pk=report.pk).update(
        channel="email", raw_source="From: <a@example.se>\n\n<script>alert(1)</script>"
    )
    message = Message.objects.create(
        report=report, sender="a@example.se", subject="Svar", text="Fortfarande <i>släckt</i>."
    )
    Attachment.objects.create(
        report=report,
        message=message,
        filename="lampa<1>.jpg",
        content_type="image/jpeg",
        size=2048,
    )
    login(client, belysning_worker)
    page = client.get(detail_url(report)).content.decode()
    assert "<details>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Fortfarande &lt;i&gt;släckt&lt;/i&gt;." in page
    assert "lampa&lt;1&gt;.jpg" in page
    assert "image/jpeg" in page
    assert "2,0\xa0kB" in page


# Escaping and highlighting ----------------------------------------------------------------


def test_the_residents_text_subject_and_notes_are_escaped(
    client, make_routed_report, belysning_worker
):
    report = make_routed_report(
        text="Lampan <script>alert('text')</script> är släckt.",
        subject="<script>alert('subject')</script>",
        location_text="<img src=x onerror=alert(1)>",
        keywords=["Lampan"],
    )
    login(client, belysning_worker)
    client.post(url("note", report), {"text": "<script>alert('note')</script>"})
    page = client.get(detail_url(report)).content.decode()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;text&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;note&#x27;)&lt;/script&gt;" in page


def test_keywords_are_highlighted_on_the_page(client, make_routed_report, belysning_worker):
    report = make_routed_report(
        text="Gatlampan på Storgatan 14 är släckt. GATLAMPAN blinkar, gatlamporna också.",
        keywords=["Gatlampan", "Storgatan 14"],
    )
    login(client, belysning_worker)
    page = client.get(detail_url(report)).content.decode()
    assert "<mark>Gatlampan</mark> på <mark>Storgatan 14</mark>" in page
    assert "<mark>GATLAMPAN</mark> blinkar, gatlamporna" in page


@pytest.mark.parametrize(
    ("text", "keywords", "expected"),
    [
        ("Lampan lyser", ["lampan"], "<mark>Lampan</mark> lyser"),
        # Whole words only.
        ("Lamporna lyser", ["lampa"], "Lamporna lyser"),
        ("Ärendet om ÅSKA", ["åska"], "Ärendet om <mark>ÅSKA</mark>"),
        # The longer keyword wins where two overlap.
        ("Storgatan 14 igen", ["Storgatan", "Storgatan 14"], "<mark>Storgatan 14</mark> igen"),
        # Markup in a keyword is text, not markup.
        ("Se <b> här", ["<b>"], "Se <mark>&lt;b&gt;</mark> här"),
        ("Se <b>fet</b>", ["fet"], "Se &lt;b&gt;<mark>fet</mark>&lt;/b&gt;"),
        # Regular-expression characters match literally.
        ("Pris (a+b)* kr", ["(a+b)*"], "Pris <mark>(a+b)*</mark> kr"),
        ("aaab", ["a+b"], "aaab"),
        ("x.y xzy", ["x.y"], "<mark>x.y</mark> xzy"),
        # A keyword never matches inside an entity of the escaped text.
        ("Tom & Jerry", ["amp"], "Tom &amp; Jerry"),
        ("a < b", ["lt"], "a &lt; b"),
        ("ingen", [], "ingen"),
        ("ingen", None, "ingen"),
        ("<script>", ["", "  "], "&lt;script&gt;"),
    ],
)
def test_highlighting_escapes_first_and_marks_whole_words(text, keywords, expected):
    assert highlight_keywords(text, keywords) == expected


# Cost ------------------------------------------------------------------------------------


def test_the_page_costs_the_same_few_queries_however_much_history_it_has(
    client, report, belysning_worker, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, belysning_worker)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(detail_url(report)).status_code == 200
        return len(queries)

    few = count()
    for n in range(10):
        colleague = make_user(f"kollega{n}", group=CASE_WORKERS, departments=["belysning"])
        ReportEvent.objects.create(
            report=report, kind=ReportEvent.Kind.NOTE, user=colleague, text=f"Not {n}"
        )
        message = Message.objects.create(report=report, text=f"Svar {n}")
        Attachment.objects.create(
            report=report, message=message, filename=f"{n}.jpg", content_type="image/jpeg", size=n
        )
        Prediction.objects.create(
            report=report,
            model_version=f"v{n}",
            model_kind="baseline",
            data=report.prediction.data,
            department="belysning",
            department_confidence=0.5,
            severity_score=1.0,
        )
    assert count() == few
    with django_assert_max_num_queries(16):
        client.get(detail_url(report))


# In the browser --------------------------------------------------------------------------


def tab_to(page, predicate: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches a JS predicate on `el`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {predicate})(document.activeElement)"):
            return
    raise AssertionError(f"no focusable element matched {predicate}")


@pytest.mark.django_db(transaction=True)
def test_a_report_is_triaged_with_the_keyboard_alone(
    page, live_server, make_routed_report, belysning_worker, screenshots
):
    report = make_routed_report(
        text="Gatlampan på Storgatan 14 är släckt sedan en vecka. <b>Mörkt</b> vid skolan.",
        subject="Släckt gatlampa",
    )
    page.goto(live_server.url + reverse("login") + "?next=" + detail_url(report))
    # The login form focuses the user name field itself.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'username'")
    page.keyboard.type("lena")
    page.keyboard.press("Tab")
    page.keyboard.type("lösenord-123")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda address: urlsplit(address).path == detail_url(report))
    assert page.locator(".report-text mark").all_inner_texts() == ["Gatlampan", "Storgatan 14"]
    assert "<b>Mörkt</b>" in page.locator(".report-text").inner_text()
    page.screenshot(path=screenshots / "detail_keyboard.png", full_page=True)

    # Severity: focus the select, choose "4 – Hög" with the arrow keys, save the form.
    tab_to(page, "el.name === 'severity'")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "4"
    tab_to(page, "el.type === 'submit'")
    assert page.evaluate("document.activeElement.textContent") == "Spara rättelser"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Rättat: allvarlighet." in page.locator(".messages").inner_text()
    assert Label.objects.get(report=report, field="severity").value == 4

    # Move the report to another department: it leaves this worker's reach.
    tab_to(page, "el.name === 'department'")
    page.keyboard.type("Gata och")
    tab_to(page, "el.type === 'submit'")
    assert page.evaluate("document.activeElement.textContent") == "Flytta"
    page.keyboard.press("Enter")
    page.wait_for_url(lambda address: urlsplit(address).path == reverse("triage:queue"))
    assert Report.objects.get(pk=report.pk).department.code == "gata_trafik"
