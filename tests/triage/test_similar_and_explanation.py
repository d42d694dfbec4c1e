"""Similar reports and the routing explanation on the report detail page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from routing.intake.models import Report
from routing.learning.predictor import explain_report
from routing.triage.similar import char_wb_counts, similar_reports

LAMP = "Gatlampan på Storgatan 14 är släckt sedan en vecka och det är mörkt på kvällarna."
LAMP_AGAIN = "Gatlampan vid Storgatan 14 har varit släckt i en vecka, mörkt på kvällarna."
UNRELATED = "Parkeringsautomaten vid torget tar inte kort och kvittot skrivs aldrig ut."


def received(report: Report, days_ago: int) -> Report:
    Report.objects.filter(pk=report.pk).update(
        received_at=timezone.now() - timedelta(days=days_ago)
    )
    return Report.objects.get(pk=report.pk)


def render(template: str, report: Report, user, query: str = "") -> str:
    request = RequestFactory().get(f"/arenden/{report.case_number}/{query}")
    request.user = user
    return render_to_string(template, {"report": report, "request": request})


def test_similarities_are_those_of_scikit_learns_char_wb_tfidf():
    from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

    texts = [LAMP, LAMP_AGAIN, UNRELATED, "I Å  ö!\n\tx", "Gatlampan, GATLAMPAN gatlampan."]
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    expected = reference.fit_transform(texts)
    ours = TfidfTransformer(sublinear_tf=True).fit_transform(char_wb_counts(texts))

    assert ours.shape == expected.shape
    assert (ours @ ours.T).toarray() == pytest.approx((expected @ expected.T).toarray())


def test_a_near_duplicate_is_found_and_an_unrelated_report_is_not(
    make_routed_report, belysning_worker
):
    first = make_routed_report(text=LAMP)
    unrelated = make_routed_report(text=UNRELATED)
    duplicate = make_routed_report(text=LAMP_AGAIN)

    found = similar_reports(duplicate, belysning_worker)

    assert [report for report, _ in found] == [first]
    assert 0.3 <= found[0][1] <= 1
    assert unrelated not in [report for report, _ in similar_reports(first, belysning_worker)]


def test_later_reports_count_only_while_recent(make_routed_report, belysning_worker):
    shown = received(make_routed_report(text=LAMP), days_ago=400)
    old_later = received(make_routed_report(text=LAMP_AGAIN), days_ago=200)
    recent = received(make_routed_report(text=LAMP_AGAIN + " Igen!"), days_ago=3)

    found = [report for report, _ in similar_reports(shown, belysning_worker)]

    assert found == [recent]
    assert old_later not in found


def test_reports_of_departments_the_user_cannot_see_are_never_shown(
    make_routed_report, belysning_worker, gata_worker, coordinator
):
    shown = make_routed_report(text=LAMP)
    other = make_routed_report(text=LAMP_AGAIN, department="gata_trafik")
    moved = make_routed_report(text=LAMP_AGAIN)
    Report.objects.filter(pk=moved.pk).update(department=other.department)

    assert similar_reports(shown, belysning_worker) == []
    assert similar_reports(other, gata_worker)[0][0] == moved
    # The coordinator sees every department, yet compares within the report's department.
    assert [r for r, _ in similar_reports(other, coordinator)] == [moved]
    assert "Storgatan" not in render("triage/_similar.html", shown, belysning_worker)


def test_the_similar_list_links_the_reports_and_escapes_their_text(
    make_routed_report, belysning_worker
):
    first = make_routed_report(text="<script>alert(1)</script> " + LAMP)
    shown = make_routed_report(text=LAMP_AGAIN)

    html = render("triage/_similar.html", shown, belysning_worker)

    assert f'href="/arenden/{first.case_number}/"' in html
    assert "Gatubelysning" in html
    assert "Fördelat" in html
    assert "&nbsp;%" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert shown.case_number not in html


def test_explain_report_uses_the_active_model(active_model, make_routed_report):
    explanation = explain_report(make_routed_report(text=LAMP))

    assert explanation["department"] == "belysning"
    assert explanation["model"]["version"] == active_model.version
    assert any("lamp" in word.lower() for word, _ in explanation["words"][:3])


def test_explain_report_is_none_without_an_active_model(make_routed_report):
    assert explain_report(make_routed_report(text=LAMP)) is None


def test_the_explanation_is_computed_only_on_request(
    active_model, make_routed_report, belysning_worker, monkeypatch
):
    report = make_routed_report(text=LAMP)

    def refuse(report):
        raise AssertionError("explained without being asked")

    monkeypatch.setattr("routing.triage.templatetags.triage_extras.explain_report", refuse)
    html = render("triage/_explanation.html", report, belysning_worker, "?sida=2")
    assert "Visa vad som styrde fördelningen" in html
    assert 'href="?sida=2&amp;forklaring=1#explanation"' in html
    monkeypatch.undo()

    html = render("triage/_explanation.html", report, belysning_worker, "?forklaring=1")
    assert "Ord som talade för Gatubelysning" in html
    assert "<mark>Gatlampan</mark>" in html
    assert active_model.version in html
    assert "test-version" in html  # the report was routed by another version than the active


@pytest.mark.django_db
def test_the_explanation_says_when_no_model_is_active(make_routed_report, belysning_worker):
    html = render(
        "triage/_explanation.html", make_routed_report(text=LAMP), belysning_worker, "?forklaring=1"
    )
    assert "Ingen modell är aktiv" in html
