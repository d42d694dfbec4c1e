"""Comparing a candidate with the active version and the baseline; shadow mode; automatic
activation; scheduled retraining. Through real workers where the pipeline is the subject."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from routing.intake import services as intake
from routing.intake.models import Prediction, Report
from routing.learning import comparison, services
from routing.learning import predictor as loaded
from routing.learning.models import ActivationLog, Comparison, ModelVersion, TrainingRun
from routing.triage import services as triage

LAMP = "Gatlampan vid busshållplatsen på Skolvägen 3 har varit släckt i två veckor nu."
BIN = "Soptunnan på Björkvägen 12 har inte tömts på tre veckor och det luktar illa."
FAST = {"epochs": 2, "max_steps": 6, "batch_size": 8, "max_length": 64}


@pytest.fixture
def tiny_training(settings, tmp_path, corpus_slice, tiny_base):
    """Runs train on the corpus slice, the transformer from a tiny base in a few steps."""
    settings.TRAINING_DATA = corpus_slice
    settings.MODEL_DIR = tmp_path / "models"
    settings.ROUTING_BASE_MODELS = [str(tiny_base)]
    settings.TRANSFORMER_TRAINING_OPTIONS = FAST
    settings.LEARNING_CURVE_SIZES = [150]
    settings.AUTO_ACTIVATE_MARGIN = None
    return settings


def second_baseline(active_model, tmp_path, name="candidate"):
    """Another registered baseline version (a copy of the active one's directory)."""
    import json
    import shutil

    copy = tmp_path / name
    shutil.copytree(active_model.directory, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["version"] = f"{meta['version']}-{name}"
    (copy / "meta.json").write_text(json.dumps(meta))
    return services.register_model_version(copy)


# Permissions -------------------------------------------------------------------------------


@pytest.fixture
def finished_comparison(db, active_model, tiny_training, tmp_path):
    candidate = second_baseline(active_model, tmp_path)
    item = comparison.start_comparison(candidate)
    comparison.run_comparison(item.pk)
    item.refresh_from_db()
    return item


def comparison_actions(item):
    version = item.candidate
    return [
        ("get", reverse("learning:comparison", args=[item.pk])),
        ("get", reverse("learning:comparison_curve", args=[item.pk])),
        ("get", reverse("learning:comparison_confusion", args=[item.pk, version.pk, "test"])),
        ("post", reverse("learning:compare", args=[version.pk])),
        ("post", reverse("learning:shadow", args=[version.pk])),
    ]


def test_only_administrators_compare_and_run_shadow_mode(
    client, finished_comparison, belysning_worker, coordinator, outsider
):
    count = Comparison.objects.count()
    for method, url in comparison_actions(finished_comparison):
        response = getattr(client, method)(url, {"on": "1"})
        assert response.status_code == 302, url
        assert "/konto/" in response["Location"], url
    for user in (belysning_worker, coordinator, outsider):
        client.force_login(user)
        for method, url in comparison_actions(finished_comparison):
            assert getattr(client, method)(url, {"on": "1"}).status_code == 403, (user, url)
    assert Comparison.objects.count() == count
    assert not ModelVersion.objects.filter(shadow=True).exists()


def test_the_comparison_page_shows_every_version_on_the_same_data(
    client, administrator, finished_comparison, active_model
):
    item = finished_comparison
    assert item.status == Comparison.Status.SUCCEEDED, item.error
    assert item.active == active_model
    assert item.baseline == item.candidate
    scores = item.results["versions"]
    assert set(scores) == {active_model.version, item.candidate.version}
    test = scores[item.candidate.version]["test"]
    # Same directory, same data: the same figures, and the per-department table adds up.
    assert test["department"] == scores[active_model.version]["test"]["department"]
    supports = [c["support"] for c in test["departments"]["classes"].values()]
    assert sum(supports) == test["n"] == sum(map(sum, test["departments"]["confusion"]))
    sizes = [row["n_train"] for row in item.results["learning_curve"]["baseline"]]
    assert len(sizes) == 2  # about 150, and all of the training part
    assert sizes == sorted(sizes)
    assert abs(sizes[0] - 150) < 15
    assert item.decision == "Automatisk aktivering är avstängd."

    client.force_login(administrator)
    page = client.get(reverse("learning:comparison", args=[item.pk])).content.decode()
    for heading in (
        "Mått på den fasta testdelen",
        "F1 per förvaltning",
        "Förväxlingsmatriser för förvaltning",
        "Inlärningskurva",
        "Inga ärenden har märkts efter",
    ):
        assert heading in page
    assert f"{test['department']['macro_f1']:.3f}".replace(".", ",") in page or (
        f"{test['department']['macro_f1']:.3f}" in page
    )
    for url in (
        reverse("learning:comparison_curve", args=[item.pk]),
        reverse("learning:comparison_confusion", args=[item.pk, item.candidate.pk, "test"]),
    ):
        response = client.get(url)
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
    # No labels after the cut-off: no matrix on them.
    url = reverse("learning:comparison_confusion", args=[item.pk, item.candidate.pk, "labels"])
    assert client.get(url).status_code == 404


# Held-out labels ---------------------------------------------------------------------------


def test_held_out_labels_are_those_given_after_the_cut_and_only_the_fields_people_gave(
    make_routed_report, belysning_worker
):
    before = make_routed_report(text=LAMP)
    triage.confirm(before, belysning_worker)
    since = timezone.now()
    after = make_routed_report(text=BIN, department="belysning")
    triage.correct(after, belysning_worker, "department", "avfall")

    triage.correct(before, belysning_worker, "department", "gata_trafik")  # trained on already

    reports, gold = comparison.held_out_labels(since)
    assert [r.pk for r in reports] == [after.pk]
    assert gold[0]["department"] == "avfall"
    assert gold[0]["case_type"] is None  # nobody labelled it: not scored


# Shadow mode and activation, through real workers ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_of_both_kinds_is_compared_shadowed_and_activated(
    training_worker,
    tiny_training,
    active_model,
    administrator,
    belysning_worker,
    make_routed_report,
    client,
    wait_until,
    wait_finished,
):
    triage.confirm(make_routed_report(text=LAMP), belysning_worker)
    client.force_login(administrator)
    client.post(reverse("learning:train"), {"kind": "both"})
    run = TrainingRun.objects.get()
    finished = wait_finished(run)
    assert finished.status == TrainingRun.Status.SUCCEEDED, finished.log
    baseline, transformer = finished.versions.order_by("created_at")
    assert (baseline.kind, transformer.kind) == ("baseline", "transformer")
    assert baseline.data_until == transformer.data_until
    assert baseline.data_hash == transformer.data_hash  # one data file for both

    # The transformer is compared with the active version and the baseline of its run.
    first = wait_until(
        lambda: (
            Comparison.objects.filter(candidate=transformer)
            .exclude(status__in=["queued", "running"])
            .first()
        ),
        timeout=240,
    )
    assert first.status == Comparison.Status.SUCCEEDED, first.error
    assert (first.active, first.baseline) == (active_model, baseline)
    assert set(first.results["versions"]) == {
        transformer.version,
        active_model.version,
        baseline.version,
    }
    assert first.results["labels"]["n"] == 0  # the one label is in the training data
    assert first.results["learning_curve"]["versions"][0]["history"]

    # Shadow mode: the transformer predicts a new report beside the active baseline.
    response = client.post(reverse("learning:shadow", args=[transformer.pk]), {"on": "1"})
    assert response.status_code == 302
    report = intake.ingest_report(intake.NewReport(text=BIN, channel="web"))
    shadowed = wait_until(
        lambda: Prediction.objects.filter(report=report, model_version=transformer.version).first(),
        timeout=60,
    )
    report.refresh_from_db()
    assert report.prediction.model_version == active_model.version  # routing unchanged
    assert shadowed.pk != report.prediction_id
    assert (shadowed.source, report.prediction.source) == ("shadow", "routing")

    # A case worker decides (corrects, or confirms when the model was right); the next
    # comparison scores both versions on that label.
    if not triage.correct(report, belysning_worker, "department", "avfall"):
        triage.confirm(report, belysning_worker)
    client.post(reverse("learning:compare", args=[transformer.pk]))
    second = Comparison.objects.filter(candidate=transformer).exclude(pk=first.pk).get()
    second = wait_finished(second)
    assert second.status == Comparison.Status.SUCCEEDED, second.error
    assert second.results["labels"]["n"] == 1
    assert second.results["agreement"]["n"] == 1  # the one report predicted in shadow mode
    # The baseline had not predicted that report: the comparison did, and says so.
    assert Prediction.objects.get(report=report, model_version=baseline.version).source == (
        "comparison"
    )
    active_says = report.prediction.department
    assert second.results["versions"][active_model.version]["labels"]["department"]["accuracy"] == (
        1.0 if active_says == "avfall" else 0.0
    )
    page = client.get(reverse("learning:comparison", args=[second.pk])).content.decode()
    assert "Skuggläge: överensstämmelse med den aktiva versionen" in page
    assert "1 ärende märkt efter" in page
    chart = reverse("learning:comparison_confusion", args=[second.pk, transformer.pk, "labels"])
    assert client.get(chart).content.startswith(b"\x89PNG")
    # The version list scores each version on that recent label too, from its stored
    # predictions: routing (active), shadow mode (transformer), the comparison (baseline).
    recent = comparison.recent_label_metrics([active_model, transformer, baseline], 28)
    assert recent[transformer.pk]["department"]["n"] == 1
    assert recent[baseline.pk]["department"]["n"] == 1
    # The active version also routed the first labelled report when the worker was quicker
    # than the test's own routing of it: then it has two.
    assert recent[active_model.pk]["department"]["n"] in (1, 2)
    assert comparison.recent_label_metrics([active_model], 0)[active_model.pk] is None
    models_page = client.get(reverse("learning:models")).content.decode()
    assert models_page.count("av 1") >= 2

    # Activating the candidate: the next report is predicted by it; shadow mode ends.
    client.post(reverse("learning:activate", args=[transformer.pk]))
    transformer.refresh_from_db()
    assert transformer.is_active
    assert not services.shadow_versions().exists()
    report = intake.ingest_report(intake.NewReport(text=LAMP, channel="web"))
    routed = wait_until(
        lambda: Report.objects.filter(pk=report.pk, prediction__isnull=False).first(), timeout=60
    )
    assert routed.prediction.model_version == transformer.version


# Automatic activation ----------------------------------------------------------------------


def test_automatic_activation_needs_the_margin_on_every_primary_metric(
    db, settings, active_model, tiny_training, tmp_path
):
    candidate = second_baseline(active_model, tmp_path)
    settings.LEARNING_CURVE_SIZES = []  # no curve: only the decision matters here
    settings.AUTO_ACTIVATE_MARGIN = 0.01  # an identical copy does not beat the active model
    item = comparison.start_comparison(candidate)
    comparison.run_comparison(item.pk)
    item.refresh_from_db()
    assert item.decision.startswith("Inte aktiverad")
    assert "department.macro_f1" in item.decision
    assert ModelVersion.objects.get(is_active=True) == active_model

    settings.AUTO_ACTIVATE_MARGIN = 0.0  # equal on every primary metric is enough
    item = comparison.start_comparison(candidate)
    comparison.run_comparison(item.pk)
    item.refresh_from_db()
    assert item.decision.startswith("Aktiverad automatiskt")
    assert ModelVersion.objects.get(is_active=True) == candidate
    entry = ActivationLog.objects.get(model_version=candidate)
    assert (entry.action, entry.user, entry.previous) == ("auto", None, active_model)
    assert entry.reason == item.decision

    # A version that has been active before is never brought back automatically.
    active_model.refresh_from_db()
    services.rollback_to(active_model)
    item = comparison.start_comparison(candidate)
    comparison.run_comparison(item.pk)
    item.refresh_from_db()
    assert "tidigare" in item.decision
    assert ModelVersion.objects.get(is_active=True) == active_model


# Scheduled retraining ----------------------------------------------------------------------


def test_scheduled_retraining_waits_for_enough_new_labels(
    db,
    settings,
    active_model,
    make_routed_report,
    belysning_worker,
    django_capture_on_commit_callbacks,
):
    settings.RETRAIN_MIN_NEW_LABELS = 2
    settings.RETRAIN_KIND = "baseline"
    triage.confirm(make_routed_report(text=LAMP), belysning_worker)
    assert services.labels_since_last_training() == 1
    assert services.retrain_if_enough_labels() == "too-few-labels"
    assert not TrainingRun.objects.exists()

    report = make_routed_report(text=BIN, department="belysning")
    triage.correct(report, belysning_worker, "department", "avfall")
    triage.correct(report, belysning_worker, "department", "gata_trafik")  # same report
    assert services.labels_since_last_training() == 2
    with django_capture_on_commit_callbacks():  # the task itself is not sent in this test
        assert services.retrain_if_enough_labels() == "started"
        assert services.retrain_if_enough_labels() == "busy"
    run = TrainingRun.objects.get()
    assert (run.kind, run.requested_by) == ("baseline", None)
    assert "started by the schedule: 2 newly labelled reports" in run.log
    # Labels older than the newest version's data do not count again.
    ModelVersion.objects.filter(pk=active_model.pk).update(data_until=timezone.now())
    assert services.labels_since_last_training() == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RETRAIN_SCHEDULE", "0 2 *", "RETRAIN_SCHEDULE must be a crontab of five fields"),
        ("AUTO_ACTIVATE_MARGIN", "nan", "AUTO_ACTIVATE_MARGIN must be at least 0"),
        ("AUTO_ACTIVATE_MARGIN", "-0.1", "AUTO_ACTIVATE_MARGIN must be at least 0"),
        ("AUTO_ACTIVATE_MARGIN", "a bit", "AUTO_ACTIVATE_MARGIN must be a number"),
        ("RETRAIN_KIND", "gpt", "RETRAIN_KIND must be baseline, transformer or both"),
    ],
)
def test_bad_feedback_settings_fail_loudly(variable, value, message):
    import os
    import subprocess
    import sys

    code = "import django; django.setup()"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", variable: value}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_schedule_is_a_beat_entry():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["retrain-on-new-labels"]
    assert entry["task"] == "routing.learning.tasks.retrain_if_enough_labels"
    assert entry["schedule"].hour == {2}
    assert entry["schedule"].day_of_week == {0}


# The loaded models ----------------------------------------------------------------------


@pytest.fixture
def empty_cache():
    loaded._loaded.clear()
    yield
    loaded._loaded.clear()


def test_workers_keep_the_three_most_recent_models_and_checks_keep_none(
    db, active_model, tmp_path, empty_cache
):
    versions = [active_model] + [second_baseline(active_model, tmp_path, f"v{i}") for i in range(3)]
    for version in versions:
        loaded.load(version)
    assert list(loaded._loaded) == [v.version for v in versions[1:]]
    first = loaded.load(versions[1])
    assert loaded.load(versions[1]) is first  # cached, and now the most recent
    assert list(loaded._loaded)[-1] == versions[1].version
    loaded._loaded.clear()
    loaded.check(active_model)  # what activation runs in a web process
    assert not loaded._loaded


# Shadow mode never disturbs routing ---------------------------------------------------------


def test_one_version_runs_in_shadow_mode_and_activation_ends_it(db, active_model, tmp_path):
    first = second_baseline(active_model, tmp_path, "first")
    second = second_baseline(active_model, tmp_path, "second")
    services.set_shadow(first, True)
    services.set_shadow(second, True)
    assert list(services.shadow_versions()) == [second]
    assert services.set_shadow(active_model, True).shadow is False  # the active one routes
    services.activate_model_version(second)
    second.refresh_from_db()
    assert second.is_active
    assert not second.shadow
    assert not services.shadow_versions().exists()


def test_a_broken_shadow_version_is_skipped_and_the_report_is_routed(
    db, active_model, tmp_path, empty_cache
):
    import shutil

    candidate = second_baseline(active_model, tmp_path)
    services.set_shadow(candidate, True)
    shutil.rmtree(candidate.directory)
    loaded._loaded.clear()
    report = intake.ingest_report(intake.NewReport(text=LAMP, channel="web"))
    assert services.route_report(report.pk) == services.RoutingOutcome.ROUTED
    assert services.shadow_predict(report.pk) == 0  # logged, not raised
    report.refresh_from_db()
    assert report.status == Report.Status.ROUTED
    assert report.prediction.model_version == active_model.version


# Comparisons that cannot run, and ones asked for twice ---------------------------------------


def test_a_comparison_of_a_removed_directory_fails_with_the_reason(
    db, active_model, tiny_training, tmp_path, empty_cache
):
    import shutil

    candidate = second_baseline(active_model, tmp_path)
    item = comparison.start_comparison(candidate)
    assert comparison.start_comparison(candidate) == item  # queued already: not twice
    shutil.rmtree(candidate.directory)
    assert comparison.run_comparison(item.pk) == "failed"
    item.refresh_from_db()
    assert item.status == Comparison.Status.FAILED
    assert "meta.json" in item.error or "candidate" in item.error
    assert comparison.start_comparison(candidate) != item  # a finished one can be redone
    assert ModelVersion.objects.get(is_active=True) == active_model


# The fixed test split stays fixed ------------------------------------------------------------


def test_labels_never_move_the_corpus_test_split_and_its_texts_are_never_trained_on(
    db, settings, corpus_slice, tmp_path, make_routed_report, belysning_worker
):
    from ml import data
    from routing.learning import dataset

    settings.TRAINING_DATA = corpus_slice
    settings.MODEL_DIR = tmp_path / "models"
    corpus = data.load_records(corpus_slice)
    test_ids = dataset.corpus_test_ids(corpus)
    test_record = next(r for r in corpus if r["id"] in test_ids)
    train_record = next(r for r in corpus if r["id"] not in test_ids)
    for index in range(40):  # enough new reports to move a split drawn from all the data
        report = make_routed_report(text=f"Lampan på Tallvägen {index} är trasig igen.")
        triage.confirm(report, belysning_worker)
    for record in (test_record, train_record):
        triage.confirm(make_routed_report(text=record["text"]), belysning_worker)

    records, stats = dataset.training_records()
    assert stats["labelled"] == 41
    assert stats["withheld"] == 1  # the test record's text, labelled again
    assert stats["replaced"] == 1  # the training record's text: the label wins
    texts = [r["text"] for r in records]
    assert texts.count(test_record["text"]) == 1  # the corpus's test record only

    version = services.train_model_version("baseline")
    assert version.meta["data"]["n_test"] == len(test_ids)
    assert version.meta["data"]["test_split"] == "given"
