"""Training runs from the "Modeller" page: one at a time, through a real worker, activation,
rollback and the audit log; only administrators may see or do any of it."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from routing.intake import services as intake
from routing.intake.models import Prediction
from routing.learning import services
from routing.learning.models import ActivationLog, ModelVersion, TrainingRun
from routing.triage import services as triage

PASSWORD = "lösenord-123"
LAMP = "Gatlampan vid busshållplatsen på Skolvägen 3 har varit släckt i två veckor nu."


@pytest.fixture
def tiny_training(settings, tmp_path, corpus_slice):
    """Train on the corpus slice (seconds for the baseline), into this test's directory."""
    settings.TRAINING_DATA = corpus_slice
    settings.MODEL_DIR = tmp_path / "models"
    return settings


def file_and_route(text="Gatlampan på Storgatan är släckt."):
    report = intake.ingest_report(intake.NewReport(text=text, channel="api"))
    services.route_report(report.pk)
    return Prediction.objects.get(report=report)


# Permissions -------------------------------------------------------------------------------


def actions(version):
    """Every view and action of the page: (method, url, data)."""
    return [
        ("get", reverse("learning:models"), {}),
        ("get", reverse("learning:run_progress"), {}),
        ("post", reverse("learning:train"), {"kind": "baseline"}),
        ("post", reverse("learning:activate", args=[version.pk]), {}),
        ("post", reverse("learning:rollback", args=[version.pk]), {}),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, active_model):
    for method, url, data in actions(active_model):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize("persona", ["belysning_worker", "coordinator", "outsider"])
def test_everyone_but_administrators_is_refused(client, active_model, persona, request):
    client.force_login(request.getfixturevalue(persona))
    for method, url, data in actions(active_model):
        assert getattr(client, method)(url, data).status_code == 403, url
    assert not TrainingRun.objects.exists()
    assert ActivationLog.objects.filter(user__isnull=False).count() == 0


def test_administrators_may_open_the_page_and_act(client, administrator, active_model):
    client.force_login(administrator)
    page = client.get(reverse("learning:models"))
    assert page.status_code == 200
    assert "Träna om baslinjen" in page.content.decode()
    assert client.get(reverse("learning:run_progress")).status_code == 200
    response = client.post(reverse("learning:train"), {"kind": "baseline"})
    assert response.status_code == 302
    assert TrainingRun.objects.get().requested_by == administrator


def test_only_administrators_see_the_nav_link(client, administrator, belysning_worker):
    client.force_login(belysning_worker)
    assert "/modeller/" not in client.get(reverse("triage:queue")).content.decode()
    client.force_login(administrator)
    assert "/modeller/" in client.get(reverse("triage:queue")).content.decode()


def test_the_actions_are_post_only(client, administrator, active_model):
    client.force_login(administrator)
    for _method, url, _data in actions(active_model)[2:]:
        assert client.get(url).status_code == 405, url


# One run at a time -------------------------------------------------------------------------


def test_a_second_run_is_refused_while_one_is_queued(db, administrator):
    first = services.start_training_run("baseline", administrator)
    with pytest.raises(services.TrainingRunRefused, match="En träning pågår redan"):
        services.start_training_run("transformer", administrator)
    assert list(TrainingRun.objects.all()) == [first]


def test_a_second_request_from_the_page_says_a_run_is_going(client, administrator):
    client.force_login(administrator)
    client.post(reverse("learning:train"), {"kind": "baseline"})
    response = client.post(reverse("learning:train"), {"kind": "transformer"}, follow=True)
    assert "En träning pågår redan" in response.content.decode()
    assert TrainingRun.objects.count() == 1


def test_a_new_run_may_start_once_the_last_one_ended(db, administrator):
    first = services.start_training_run("baseline", administrator)
    TrainingRun.objects.filter(pk=first.pk).update(status=TrainingRun.Status.FAILED)
    second = services.start_training_run("baseline", administrator)
    assert second.status == TrainingRun.Status.QUEUED


def test_an_unknown_kind_is_refused(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("learning:train"), {"kind": "gpt"}, follow=True)
    assert "Välj baslinjen, transformern eller båda" in response.content.decode()
    assert not TrainingRun.objects.exists()


# Progress ----------------------------------------------------------------------------------


def test_progress_is_written_at_most_every_two_seconds(db, administrator):
    run = services.start_training_run("transformer", administrator)
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.RUNNING)
    progress = services._ProgressWriter(run.pk)
    update = {"epoch": 1, "step": 1, "total_steps": 10, "loss": 2.5, "eta_s": 90.0}
    progress(update)
    progress({**update, "step": 2, "loss": 2.0})  # within two seconds: not written
    run.refresh_from_db()
    assert (run.epoch, run.step, run.total_steps, run.loss, run.eta_seconds) == (1, 1, 10, 2.5, 90)
    progress({**update, "epoch": 2, "step": 6, "loss": 1.0})  # a new epoch is always written
    progress({**update, "epoch": 2, "step": 10, "loss": 0.5, "eta_s": 0.0})  # so is the end
    run.refresh_from_db()
    assert (run.epoch, run.step, run.loss, run.eta_seconds) == (2, 10, 0.5, 0)
    assert "epoch 2 started" in run.log


# Through a real worker ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_trains_on_the_labels_and_activation_and_rollback_switch_the_model(
    training_worker,
    tiny_training,
    active_model,
    administrator,
    belysning_worker,
    make_routed_report,
    client,
    wait_finished,
):
    report = make_routed_report(text=LAMP, keywords=["Gatlampan", "Skolvägen 3"])
    triage.confirm(report, belysning_worker)

    run = services.start_training_run("baseline", administrator)
    finished = wait_finished(run, timeout=120)
    assert finished.status == TrainingRun.Status.SUCCEEDED, finished.log
    assert finished.data_stats["labelled"] == 1
    assert finished.data_stats["total"] == finished.data_stats["corpus"] + 1
    new = finished.versions.get()
    assert not new.is_active
    assert new.created_by == administrator
    assert new.metrics["department"]["macro_f1"] > 0.5
    assert new.meta["data"]["n_reports"] == finished.data_stats["total"]
    assert "registered" in finished.log
    # The task ran once; running it again is harmless.
    assert services.run_training(run.pk) == "not-queued"
    assert ModelVersion.objects.count() == 2

    client.force_login(administrator)
    page = client.get(reverse("learning:models")).content.decode()
    assert new.version in page
    assert "1 märkt ärende" in page

    assert file_and_route().model_version == active_model.version
    client.post(reverse("learning:activate", args=[new.pk]))
    assert file_and_route().model_version == new.version

    client.post(reverse("learning:rollback", args=[active_model.pk]))
    assert file_and_route().model_version == active_model.version

    activate, rollback = ActivationLog.objects.filter(user=administrator).order_by("created_at")
    assert (activate.action, activate.previous, activate.model_version) == (
        "activate",
        active_model,
        new,
    )
    assert (rollback.action, rollback.previous, rollback.model_version) == (
        "rollback",
        new,
        active_model,
    )
    page = client.get(reverse("learning:models")).content.decode()
    assert "Återställning" in page
    assert "Aktivering" in page


# Failures ----------------------------------------------------------------------------------


def bad_corpus(tmp_path, corpus_slice, how):
    lines = corpus_slice.read_text(encoding="utf-8").splitlines()
    if how == "bad line":
        lines.insert(5, "{not json")
    else:
        lines = [line for line in lines if json.loads(line)["department"] != "belysning"]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("how", "message"),
    [("bad line", "bad.jsonl:6: invalid JSON"), ("missing department", "belysning")],
)
def test_a_failing_run_ends_failed_with_the_error_on_the_page(
    db, tiny_training, tmp_path, corpus_slice, administrator, client, how, message
):
    tiny_training.TRAINING_DATA = bad_corpus(tmp_path, corpus_slice, how)
    run = services.start_training_run("baseline", administrator)
    assert services.run_training(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert run.finished_at is not None
    assert message in run.error
    assert "Traceback" in run.log
    assert not ModelVersion.objects.exists()

    client.force_login(administrator)
    page = client.get(reverse("learning:models")).content.decode()
    assert "Misslyckades" in page
    assert message in page
    # A failed run frees the slot.
    assert services.start_training_run("baseline", administrator).status == "queued"


def test_a_run_of_both_whose_transformer_fails_keeps_and_compares_its_baseline(
    db, tiny_training, administrator
):
    from routing.learning.models import Comparison

    tiny_training.TRANSFORMER_TRAINING_OPTIONS = {"epochs": 0}  # refused by the config
    run = services.start_training_run("both", administrator)
    assert services.run_training(run.pk) == "failed"
    run.refresh_from_db()
    assert "bad transformer option" in run.error
    baseline = run.versions.get()
    assert baseline.kind == "baseline"
    assert Comparison.objects.get().candidate == baseline


def test_rollback_to_a_version_never_active_is_refused(client, administrator, active_model):
    client.force_login(administrator)
    meta = dict(active_model.meta, version=active_model.version + "-x")
    never = services.register_model_version(active_model.directory, meta=meta)
    response = client.post(reverse("learning:rollback", args=[never.pk]), follow=True)
    assert "aldrig varit aktiv" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == active_model


# In the browser ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_admin_retrains_watches_progress_compares_and_activates_in_the_browser(
    page, live_server, training_worker, tiny_training, active_model, administrator, screenshots
):
    tiny_training.LEARNING_CURVE_SIZES = [150]
    page.goto(live_server.url + "/konto/login/")
    page.get_by_label("Användarnamn").fill("ada")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/arenden/**")

    page.get_by_role("link", name="Modeller").click()
    page.wait_for_url("**/modeller/")
    page.get_by_role("button", name="Träna om baslinjen").click()
    page.wait_for_url("**/modeller/")
    assert "köad" in page.get_by_role("status").first.inner_text()
    # htmx polls the progress and reloads the page when the run has ended.
    page.locator('#training-run [data-status="succeeded"]').wait_for(timeout=120_000)
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED
    new = run.versions.get()

    # The run queued a comparison with the active version; it fills in when it is done.
    row = page.locator(f"#version-{new.pk}")
    row.get_by_role("link", name="Senaste jämförelsen").click()
    page.wait_for_url("**/modeller/jamforelse/**")
    page.locator('#comparison-status [data-status="succeeded"]').wait_for(timeout=120_000)
    page.get_by_role("heading", name="Mått på den fasta testdelen").wait_for()
    table = page.get_by_role("table").first.inner_text()
    assert new.version in table
    assert active_model.version in table
    curve = page.get_by_role("img", name="Inlärningskurva")
    curve.scroll_into_view_if_needed()  # the charts load lazily
    page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=curve.element_handle()
    )
    page.screenshot(path=screenshots / "comparison.png", full_page=True)

    page.get_by_role("button", name="Aktivera kandidaten").click()
    page.wait_for_url("**/modeller/")
    assert f"{new.version} är nu aktiv" in page.get_by_role("status").first.inner_text()
    assert "Aktiv" in page.locator(f"#version-{new.pk}").inner_text()
    page.screenshot(path=screenshots / "models.png", full_page=True)
    assert ModelVersion.objects.get(is_active=True) == new
    assert ActivationLog.objects.filter(user=administrator, model_version=new).exists()
