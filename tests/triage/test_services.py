"""Triage verbs: every confirmation and correction is a stored label and a history event."""

from __future__ import annotations

import pytest

from routing.intake.models import Report
from routing.learning.models import Label
from routing.triage import permissions, services
from routing.triage.models import ReportEvent


def test_correcting_the_department_moves_the_report_and_stores_a_label(
    make_routed_report, belysning_worker, gata_worker
):
    report = make_routed_report()
    assert permissions.visible_reports(belysning_worker).filter(pk=report.pk).exists()

    assert services.correct(report, belysning_worker, "department", "gata_trafik")

    report.refresh_from_db()
    assert report.department.code == "gata_trafik"
    label = Label.objects.get(report=report)
    assert (label.field, label.predicted_value, label.value) == (
        "department",
        "belysning",
        "gata_trafik",
    )
    assert label.user == belysning_worker
    assert label.model_version == "test-version"
    assert not label.confirmed
    event = ReportEvent.objects.get(report=report)
    assert event.kind == ReportEvent.Kind.REASSIGNED
    assert (event.old_value, event.new_value) == ("belysning", "gata_trafik")
    assert not permissions.visible_reports(belysning_worker).filter(pk=report.pk).exists()
    assert permissions.visible_reports(gata_worker).filter(pk=report.pk).exists()


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("case_type", "klagomal", "klagomal"),
        ("sentiment", "neutral", "neutral"),
        ("severity", "4", 4),
        ("tags", ["trygghet", "barn"], ["barn", "trygghet"]),
        ("keywords", ["lampan", "storgatan  14"], ["Lampan", "Storgatan 14"]),
    ],
)
def test_each_field_can_be_corrected(make_routed_report, belysning_worker, field, value, stored):
    report = make_routed_report(text="Lampan på Storgatan 14 är släckt.", keywords=["Lampan"])
    assert services.correct(report, belysning_worker, field, value)
    report.refresh_from_db()
    assert report.label_value(field) == stored
    assert Label.objects.get(report=report, field=field).value == stored


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("department", "okand", "Okänd förvaltning"),
        ("severity", "9", "1–5"),
        ("severity", "hög", "1–5"),
        ("tags", ["ufo"], "Okänd tagg"),
        ("keywords", ["cykel"], "finns inte i texten"),
        ("keywords", ["ett", "två", "tre", "fyra", "fem", "sex", "sju"], "Högst"),
        ("priority", "hög", "Okänt fält"),
    ],
)
def test_bad_corrections_change_nothing(
    make_routed_report, belysning_worker, field, value, message
):
    report = make_routed_report(text="ett två tre fyra fem sex sju: Lampan är släckt.")
    with pytest.raises(services.TriageError, match=message):
        services.correct(report, belysning_worker, field, value)
    assert not Label.objects.exists()
    assert not ReportEvent.objects.exists()


def test_a_correction_to_the_same_value_is_not_a_label(make_routed_report, belysning_worker):
    report = make_routed_report()
    assert not services.correct(report, belysning_worker, "department", "belysning")
    assert not Label.objects.exists()


def test_confirming_stores_one_confirmed_label_per_field(make_routed_report, belysning_worker):
    report = make_routed_report(tags=["trygghet"])
    services.confirm(report, belysning_worker)
    labels = {label.field: label for label in Label.objects.filter(report=report)}
    assert set(labels) == {"department", "case_type", "sentiment", "severity", "tags", "keywords"}
    assert all(label.confirmed for label in labels.values())
    assert labels["tags"].value == ["trygghet"] == labels["tags"].predicted_value
    assert labels["severity"].value == 2
    assert ReportEvent.objects.get(report=report).kind == ReportEvent.Kind.CONFIRMED


def test_an_unrouted_report_is_routed_by_hand(db, coordinator):
    from routing.intake import services as intake

    report = intake.ingest_report(intake.NewReport(text="Trasig gunga i parken.", channel="web"))
    with pytest.raises(services.TriageError):
        services.confirm(report, coordinator)
    services.correct(report, coordinator, "department", "park_natur")
    report.refresh_from_db()
    assert report.status == Report.Status.ROUTED
    assert Label.objects.get(report=report).predicted_value is None


def test_assign_status_and_notes_are_history(make_routed_report, belysning_worker):
    report = make_routed_report()
    services.assign(report, belysning_worker, belysning_worker)
    services.change_status(report, belysning_worker, Report.Status.IN_PROGRESS)
    services.add_note(report, belysning_worker, "Ringt elbolaget.")
    with pytest.raises(services.TriageError):
        services.change_status(report, belysning_worker, Report.Status.RECEIVED)
    with pytest.raises(services.TriageError):
        services.add_note(report, belysning_worker, "   ")
    report.refresh_from_db()
    assert report.assignee == belysning_worker
    assert report.status == Report.Status.IN_PROGRESS
    kinds = list(ReportEvent.objects.filter(report=report).values_list("kind", flat=True))
    assert kinds == ["assigned", "status", "note"]
    assert not Label.objects.exists()  # only confirmations and corrections are labels


def test_who_sees_what(make_routed_report, belysning_worker, gata_worker, coordinator, outsider):
    lamp = make_routed_report()
    road = make_routed_report(text="Potthål på Kungsgatan.", department="gata_trafik")
    assert set(permissions.visible_reports(belysning_worker)) == {lamp}
    assert set(permissions.visible_reports(gata_worker)) == {road}
    assert set(permissions.visible_reports(coordinator)) == {lamp, road}
    assert not permissions.visible_reports(outsider).exists()
    assert not permissions.is_triage_user(outsider)
    assert [d.code for d in permissions.departments_of(belysning_worker)] == ["belysning"]


def test_a_report_is_assigned_only_to_someone_who_works_with_it(
    make_routed_report, belysning_worker, gata_worker, coordinator
):
    report = make_routed_report()
    with pytest.raises(services.TriageError, match="arbetar inte"):
        services.assign(report, belysning_worker, gata_worker)
    services.assign(report, belysning_worker, coordinator)
    report.refresh_from_db()
    assert report.assignee == coordinator


def test_confirming_the_same_tags_in_another_order_is_no_correction(
    make_routed_report, belysning_worker
):
    report = make_routed_report(tags=["trygghet", "barn"])
    assert not services.correct(report, belysning_worker, "tags", ["trygghet", "barn"])
